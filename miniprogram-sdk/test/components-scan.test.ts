/**
 * The 扫一扫 component with the real module and client against the in-process stand-in login
 * and seal servers: what a login and a seal request show before anything is signed (portal,
 * origin, where and when it was started, the document's title and SM3, the seal's picture),
 * number matching, the PIN (wrong, then right), declining, a wrong number, a foreign QR code.
 */

import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { afterEach, test } from 'node:test';

import { McertClient, base64Encode, memoryStorage, webCryptoEntropy } from '../src/index';
import {
  type ComponentWrapper,
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
  wxFake,
} from './helpers/components';
import { FakeLogins } from './helpers/fake-logins';
import { FakeSeals } from './helpers/fake-seals';
import { FakeMcert } from './helpers/fake-server';
import { freshSigner, toHex } from './helpers/wasm';

afterEach(unmountAll);

const PIN = '123456';
const BASE = 'https://mcert.test';

/**
 * A signed-in phone with one certificate, given to the components, talking to the stand-in
 * login server (`logins`) or, for seal requests, to the stand-in seal server (`seals`).
 */
async function phone<K extends 'login' | 'seal'>(kind: K) {
  const fake = new FakeMcert();
  const logins = new FakeLogins(fake, BASE);
  const seals = new FakeSeals(fake, BASE);
  const client = new McertClient({
    signer: await freshSigner(),
    request: kind === 'seal' ? seals.request : logins.request,
    storage: memoryStorage(),
    entropy: webCryptoEntropy(webcrypto),
    baseUrl: BASE,
  });
  const { serial } = await client.enrol(fake.ticket(), PIN);
  await client.login('dev:openid-1:1');
  setClient(client);
  return { fake, logins, seals, client, serial };
}

/** Taps the choice `code`. */
async function tapNumber(scan: ComponentWrapper, code: string): Promise<void> {
  const choice = scan.querySelectorAll('.choice').find((c) => c.dom.getAttribute('data-code') === code);
  assert.ok(choice, `no choice ${code} in ${text(scan)}`);
  await press(choice);
}

test('a login: portal, origin, where it started; the page\'s number, then the PIN (wrong, then right)', async () => {
  const { fake, logins, serial } = await phone('login');
  const login = logins.create({ regionWarning: '您的手机与发起登录的电脑不在同一省份，请确认是您本人操作' });
  wxFake.qr = logins.qr(login);
  const scan = mount('scan');
  assert.match(text(scan), /扫一扫/);
  await tap(scan, '.scan-button');

  await shows(scan, '登录确认');
  const shown = text(scan);
  for (const expected of [
    '就业彩云南',
    'https://portal.example.cn',
    '请求来自 云南昆明 · 222.172.200.* · Chrome',
    '您的手机与发起登录的电脑不在同一省份',
    '请求获取：证书身份标识、单位名称和统一社会信用代码',
    '使用证书：云南测试科技有限公司 · 主证书',
    '请点选电脑网页上显示的数字',
    '不是我发起的，拒绝登录',
  ]) {
    assert.ok(shown.includes(expected), `shows ${expected}: ${shown}`);
  }
  assert.deepEqual(
    scan.querySelectorAll('.choice').map((c) => c.dom.getAttribute('data-code')),
    login.matchChoices,
  );
  assert.equal(fake.sent(`/logins/${login.id}/confirm`).length, 0, 'nothing confirmed before a tap');

  await tapNumber(scan, login.matchCode);
  await shows(scan, '输入 PIN 码确认登录');
  assert.match(text(scan), new RegExp(`已点选数字 ${login.matchCode}`));
  const pad = find(scan, '#pin');
  await enterPin(pad, '000000');
  await shows(scan, 'PIN 码错误，还可尝试 5 次');
  const confirmed = nextEvent<{ purpose: string; serial: string }>(scan, 'confirmed');
  await enterPin(pad, PIN);
  assert.deepEqual(await confirmed, { purpose: 'login', serial });
  await shows(scan, '登录成功，请在电脑上继续办理');
  assert.equal(fake.sessions.get(login.cosignSessionId as string)?.stage, 'done');
  assert.equal(fake.sent(`/logins/${login.id}/confirm`).length, 1, 'the retry reused the session');
});

test('declining is offered as prominently as the numbers and tells the portal', async () => {
  const { logins } = await phone('login');
  const login = logins.create();
  const scan = mount('scan', { qr: logins.qr(login) });
  await shows(scan, '登录确认');
  const declined = nextEvent<{ purpose: string }>(scan, 'declined');
  await tap(scan, '.decline');
  assert.deepEqual(await declined, { purpose: 'login' });
  await shows(scan, '已拒绝登录');
  assert.equal(login.state, 'denied');
  assert.ok(find(scan, '.again'));
});

test('a number the page does not show ends the login, with the server\'s words', async () => {
  const { logins } = await phone('login');
  const login = logins.create();
  const scan = mount('scan', { qr: logins.qr(login) });
  await shows(scan, '登录确认');
  await tapNumber(scan, login.matchChoices.find((c) => c !== login.matchCode) as string);
  await shows(scan, '输入 PIN 码确认登录');
  await enterPin(find(scan, '#pin'), PIN);
  await shows(scan, '您选择的数字与网页上显示的不一致，本次登录已终止');
  assert.equal(login.state, 'mismatched');
  await tap(scan, '.again');
  await shows(scan, '扫一扫');
});

test('a QR code of another site is refused on the phone, with nothing sent', async () => {
  const { fake } = await phone('login');
  const before = fake.requests.length;
  const scan = mount('scan', { qr: 'https://evil.example.cn/q/AAAAAAAAAAAAAAAAAAAAAA' });
  await shows(scan, '该二维码来自其他网站（https://evil.example.cn）');
  assert.equal(fake.requests.length, before);

  wxFake.qr = null;
  await tap(scan, '.again');
  await shows(scan, '扫一扫');
  await tap(scan, '.scan-button');
  await shows(scan, '未扫描到二维码');
});

test('a seal: title, SM3, seal picture and employer before the PIN; confirmed with the page\'s number', async () => {
  const { fake, seals, serial } = await phone('seal');
  const request = seals.create('pdf');
  const scan = mount('scan', { qr: seals.qr(request) });
  await shows(scan, '电子印章签署确认');
  const shown = text(scan);
  const sm3 = toHex(request.documentSm3);
  for (const expected of [
    '劳动合同 (2025) 第 1 号.pdf',
    'PDF 文件 · 12.1 KB',
    sm3.match(/.{8}/g)!.join(' '),
    '云南测试科技有限公司（91530100MA6K0000X1）',
    '不是我发起的，拒绝盖章',
  ]) {
    assert.ok(shown.includes(expected), `shows ${expected}: ${shown}`);
  }
  // The picture the server sent is the one on screen (the image node's source).
  find(scan, '.seal-picture');
  assert.deepEqual(scan.data.seal, {
    name: '云南测试科技有限公司',
    picture: `data:image/png;base64,${base64Encode(request.picture)}`,
    widthMm: 40,
    heightMm: 40,
  });

  await tapNumber(scan, request.login.matchCode);
  await shows(scan, '输入 PIN 码确认盖章');
  const confirmed = nextEvent<{ purpose: string; serial: string }>(scan, 'confirmed');
  await enterPin(find(scan, '#pin'), PIN);
  assert.deepEqual(await confirmed, { purpose: 'seal', serial });
  await shows(scan, '盖章成功');
  // Both rounds of a PDF seal were signed with the one PIN.
  const [pdfSession] = [...seals.pdfSessions].map((id) => fake.sessions.get(id));
  assert.equal(pdfSession?.stage, 'done');
});
