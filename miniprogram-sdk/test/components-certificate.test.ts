/**
 * The certificate screens against the real `mcert-server` (development mode), each component
 * calling the real client and module: 证书废除 through six wrong PINs, the lock and the unlock
 * path (face and SMS code again), 签名记录 before and after, 权限授权 by a primary holder for a
 * sub-certificate (locked default, search, the item saved with the primary's PIN), and 年审延期
 * once the server's clock is within 30 days of expiry.
 */

import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { type Application, approvedApplication, latestSmsCode } from './helpers/applications';
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
  type,
  unmountAll,
  withText,
  wxFake,
} from './helpers/components';
import { boundAgent, readyEmployer } from './helpers/mp-account';
import type { TestPhone } from './helpers/phone';
import { addPortal } from './helpers/portal';
import { type RunningServer, advanceClock, startServer } from './helpers/server';

afterEach(unmountAll);

const PIN = '802468';
const SUB_PIN = '468024';

let server: RunningServer;

before(async () => {
  server = await startServer({
    env: { MCERT_SYNC_INTERVAL_SECS: '1', MCERT_AGREEMENT_COUNTDOWN_SECS: '1' },
  });
});

after(async () => {
  await server?.stop();
});

function openid(): string {
  return `openid-${Math.random().toString(36).slice(2)}`;
}

/** An agent's phone with the certificate of `application` downloaded under `pin`. */
async function holder(application: Application, pin: string) {
  const id = openid();
  const phone: TestPhone = await boundAgent(server, application, id);
  await readyEmployer(phone, application.id);
  const { serial } = await phone.client.download(application.id, pin);
  return { phone, openid: id, serial };
}

test('证书废除 through a lock: six wrong PINs, unlocking with face and SMS code, then the right PIN; 签名记录 shows it', async () => {
  const application = await approvedApplication(server);
  const { phone, openid: id, serial } = await holder(application, PIN);
  setClient(phone.client);

  const history = mount('history', { serial });
  await shows(history, '下载证书');
  assert.match(text(history), /已签名/);
  assert.doesNotMatch(text(history), /PIN 码错误/);

  const revoke = mount('revoke', { serial });
  assert.match(text(revoke), /证书废除后立即失效，不能再登录系统或加盖电子印章/);
  await tap(revoke, '.proceed');
  assert.equal(revoke.data.step, 'form', 'no cause chosen: nothing happens');
  await press(withText(revoke, '.cause', '证书使用人手机号变更'));
  assert.equal(revoke.data.cause, 'phone_changed');
  await tap(revoke, '.proceed');
  await shows(revoke, '输入 PIN 码确认废除');
  const pad = find(revoke, '#pin');
  for (let left = 5; left >= 1; left--) {
    await enterPin(pad, '000000');
    await shows(revoke, `PIN 码错误，还可尝试 ${left} 次`);
  }
  await enterPin(pad, '000000');
  await shows(revoke, '证书已锁定');
  assert.match(text(revoke), /解锁需重新刷脸认证，并输入发送到您绑定手机的短信验证码/);
  assert.equal((await phone.client.keyStatus(serial)).locked, true);

  // The unlock path: face verification and an SMS code to the bound phone, again.
  await tap(pad, '.unlock');
  await shows(revoke, '为保护您的证书，请重新刷脸认证');
  const reverify = find(pad, '#reverify');
  await type(reverify, '.name', application.agentName);
  await type(reverify, '.id-number', application.agentId);
  await advanceClock(server.baseUrl, 61); // one SMS code per phone a minute
  const sms = find(reverify, '#sms');
  await type(sms, '.phone', application.phone);
  await tap(sms, '.send');
  await shows(revoke, `验证码已发送至 ${application.phone}`);
  await type(sms, '.code', await latestSmsCode(server.baseUrl, application.phone));
  wxFake.face = (name, idNumber) => `dev-pass:${name}:${idNumber}:${id}`;
  const unlocked = nextEvent<{ serial: string }>(pad, 'unlocked');
  await tap(reverify, '.submit');
  assert.deepEqual(await unlocked, { serial });
  await shows(revoke, '证书已解锁，请重新输入 PIN 码');
  assert.equal((await phone.client.keyStatus(serial)).locked, false);

  const revoked = nextEvent<{ serial: string; cause: string }>(revoke, 'revoked');
  await enterPin(pad, PIN);
  assert.deepEqual(await revoked, { serial, cause: 'phone_changed' });
  await shows(revoke, '证书已废除');
  assert.match(text(revoke), /废除原因：证书使用人手机号变更/);
  assert.equal((await phone.client.serverCertificates())[0].statusLabel, '已废除');

  const after = mount('history', { serial });
  await shows(after, '证书废除');
  assert.equal(after.querySelectorAll('.failed').length, 6, text(after));
});

test('权限授权: the primary grants its sub an item with its PIN; the locked default stays on; a sub cannot grant', async () => {
  const portal = addPortal(
    server,
    ['openid', 'profile', 'employer'],
    [
      '--item',
      'unit_info=单位基础信息维护',
      '--item',
      'unemployment_insurance=失业保险',
      '--item',
      'training=技能培训和创业培训服务',
      '--locked-item',
      'unemployment_insurance=mobile',
    ],
  );
  const application = await approvedApplication(server);
  const primary = await holder(application, PIN);
  const second = await approvedApplication(server, application);
  const sub = await holder(second, SUB_PIN);
  setClient(primary.phone.client);

  const grants = mount('grants', { serial: primary.serial });
  await shows(grants, '绑定人身份证号');
  const [listed] = (await primary.phone.client.grants(primary.serial)).subCertificates;
  for (const expected of ['权限授权', application.unitName, '手机CA', listed.holderIdMasked, '王五', '事项授权']) {
    assert.ok(text(grants).includes(expected), `shows ${expected}: ${text(grants)}`);
  }
  await tap(grants, '.open');
  await shows(grants, '事项授权（失业保险默认手机CA已授权并且不能修改）');
  const tab = grants.querySelectorAll('.portal').find((p) => (p.dom.textContent ?? '').includes(portal.name));
  if (tab !== undefined) await press(tab);
  await shows(grants, '技能培训和创业培训服务');

  // The locked default is on and stays on.
  const locked = withText(grants, '.item', '失业保险');
  assert.match(locked.dom.textContent ?? '', /✓/);
  await press(locked);
  assert.match(withText(grants, '.item', '失业保险').dom.textContent ?? '', /✓/);

  // 请输入事项名称 narrows the list.
  await type(grants, '.search', '培训');
  assert.doesNotMatch(text(grants), /单位基础信息维护/);
  await type(grants, '.search', '');
  await press(withText(grants, '.item', '单位基础信息维护'));
  assert.match(withText(grants, '.item', '单位基础信息维护').dom.textContent ?? '', /✓/);

  await tap(grants, '.save');
  await shows(grants, '输入主证书 PIN 码保存授权');
  const pad = find(grants, '#pin');
  await enterPin(pad, '000000');
  await shows(grants, 'PIN 码错误，还可尝试 5 次');
  const saved = nextEvent<{ grantee: string; clientId: string; items: string[] }>(grants, 'saved');
  await enterPin(pad, PIN);
  const detail = await saved;
  assert.equal(detail.grantee, sub.serial);
  assert.equal(detail.clientId, portal.clientId);
  assert.deepEqual([...detail.items].sort(), ['unemployment_insurance', 'unit_info']);
  await shows(grants, '授权已保存');
  assert.match(text(grants), /已授权事项：单位基础信息维护、失业保险/);
  const now = (await primary.phone.client.grants(primary.serial)).subCertificates[0].grants.find(
    (g) => g.clientId === portal.clientId,
  );
  assert.deepEqual([...(now?.items ?? [])].sort(), ['unemployment_insurance', 'unit_info']);

  // The sub-certificate's holder sees no grant screen.
  setClient(sub.phone.client);
  const refused = mount('grants', { serial: sub.serial });
  await shows(refused, '只有主证书可以进行事项授权，子证书看不到这个功能');
});

test('年审延期: refused before the 30-day window, then renewed with the PIN; the new certificate replaces the old', async () => {
  const application = await approvedApplication(server);
  const { phone, openid: id, serial } = await holder(application, PIN);
  setClient(phone.client);

  const early = mount('renew', { serial });
  assert.match(text(early), /到期前 30 天起可申请年审延期/);
  await tap(early, '.proceed');
  await enterPin(find(early, '#pin'), PIN);
  await shows(early, /到期前 30 天起才可年审延期，请于.*起再办理/);

  await advanceClock(server.baseUrl, 340 * 24 * 3600);
  await phone.client.login(`dev:${id}:${Math.random().toString(36).slice(2)}`);
  const renew = mount('renew', { serial });
  await tap(renew, '.proceed');
  const renewed = nextEvent<{ serial: string; previousSerial: string }>(renew, 'renewed');
  await enterPin(find(renew, '#pin'), PIN);
  const detail = await renewed;
  assert.equal(detail.previousSerial, serial);
  assert.notEqual(detail.serial, serial);
  await shows(renew, '年审延期成功');
  assert.match(text(renew), /费用：免费/);
  assert.match(text(renew), new RegExp(`新证书序列号 ${detail.serial}`));
  assert.deepEqual((await phone.client.certificates()).map((c) => c.serial), [detail.serial]);
});
