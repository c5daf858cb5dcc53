/**
 * The PIN pad component with the real module and client against the in-process stand-in
 * server: a new PIN typed twice, a mismatch, deleting, and the outcomes a page hands back —
 * the tries left after a wrong PIN (from `pin_incorrect`'s remaining attempts) and the locked
 * state with its unlock path after the sixth.
 */

import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { afterEach, test } from 'node:test';

import { McertClient, memoryStorage, webCryptoEntropy } from '../src/index';
import {
  enterPin,
  find,
  mount,
  nextEvent,
  press,
  setClient,
  shows,
  tap,
  text,
  unmountAll,
} from './helpers/components';
import { FakeMcert } from './helpers/fake-server';
import { freshSigner } from './helpers/wasm';

afterEach(unmountAll);

const PIN = '246810';

/** What a page calls on the pad (through `selectComponent`). */
interface Pad {
  done(): void;
  fail(error: unknown): void;
}

async function enrolled(): Promise<{ client: McertClient; serial: string }> {
  const fake = new FakeMcert();
  const client = new McertClient({
    signer: await freshSigner(),
    request: fake.request,
    storage: memoryStorage(),
    entropy: webCryptoEntropy(webcrypto),
    baseUrl: 'https://mcert.test',
  });
  const { serial } = await client.enrol(fake.ticket(), PIN);
  setClient(client);
  return { client, serial };
}

test('a new PIN is typed twice; a different second entry starts again', async () => {
  const pad = mount('pin-pad', { mode: 'set', title: '设置证书 PIN 码' });
  assert.match(text(pad), /设置证书 PIN 码/);
  assert.match(text(pad), /PIN 码为 6 位数字/);

  await enterPin(pad, '123456');
  await shows(pad, '请再次输入 PIN 码');
  await enterPin(pad, '654321');
  await shows(pad, '两次输入的 PIN 码不一致，请重新设置');
  assert.match(text(pad), /设置证书 PIN 码/);

  const typed = nextEvent<{ pin: string }>(pad, 'pin');
  await enterPin(pad, '13579');
  const del = pad.querySelectorAll('.key').find((key) => key.dom.getAttribute('data-key') === 'del');
  assert.ok(del);
  await press(del);
  await enterPin(pad, '24');
  // 1357 and 24: six digits after the deletion complete the first entry.
  await shows(pad, '请再次输入 PIN 码');
  await enterPin(pad, '135724');
  assert.deepEqual(await typed, { pin: '135724' });
  assert.equal(pad.data.busy, true, 'the pad waits for the page to hand back the outcome');
  await enterPin(pad, '1');
  assert.equal(pad.data.count, 6, 'no key counts while the PIN is being checked');
});

test('wrong PINs show the tries left; the sixth locks, with the unlock path', async () => {
  const { client, serial } = await enrolled();
  const pad = mount('pin-pad', { serial });
  const page = pad.instance as unknown as Pad;

  for (let left = 5; left >= 1; left--) {
    const typed = nextEvent<{ pin: string }>(pad, 'pin');
    await enterPin(pad, '000000');
    const error = await client.verifyPin(serial, (await typed).pin).then(
      () => assert.fail('a wrong PIN passed'),
      (e: unknown) => e,
    );
    page.fail(error);
    await shows(pad, `PIN 码错误，还可尝试 ${left} 次`);
    assert.equal(pad.data.count, 0);
  }

  const typed = nextEvent<{ pin: string }>(pad, 'pin');
  await enterPin(pad, '999999');
  page.fail(await client.verifyPin(serial, (await typed).pin).catch((e: unknown) => e));
  await shows(pad, '证书已锁定');
  assert.match(text(pad), /PIN 码连续输错 6 次，证书已锁定。解锁需重新刷脸认证，并输入发送到您绑定手机的短信验证码/);
  assert.equal(pad.querySelectorAll('.key').length, 0, 'no keypad while locked');
  await tap(pad, '.unlock');
  await shows(pad, '为保护您的证书，请重新刷脸认证');
  assert.ok(find(pad, '#reverify'));

  // The right PIN no longer helps: the server counts.
  await assert.rejects(client.verifyPin(serial, PIN), { code: 'key_locked' });
});

test('the right PIN: the page hands back done and the pad is clear again', async () => {
  const { client, serial } = await enrolled();
  const pad = mount('pin-pad', { serial, title: '输入 PIN 码确认登录' });
  assert.match(text(pad), /输入 PIN 码确认登录/);
  const typed = nextEvent<{ pin: string }>(pad, 'pin');
  await enterPin(pad, PIN);
  await client.verifyPin(serial, (await typed).pin);
  (pad.instance as unknown as Pad).done();
  assert.equal(pad.data.count, 0);
  assert.equal(pad.data.busy, false);
  assert.doesNotMatch(text(pad), /PIN 码错误/);
});
