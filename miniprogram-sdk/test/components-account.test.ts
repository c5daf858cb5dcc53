/**
 * The mini-program's screens end to end against the real `mcert-server` (development mode), each
 * component calling the real client and module: 单位用户登录 and 实名认证 with the face step,
 * 下载新证书 (SMS code with its countdown, the employer list, a PIN set twice), 已下载证书 and
 * 默认证书, then 扫一扫 logging a portal in — the portal collects an ID token naming the
 * certificate; a download again on a new phone, which takes the real-name steps again. Also the
 * binding problems a person meets: 未获取到绑定信息 (no_binding_info, phone_not_owned) and
 * 手机号已被绑定 (phone_bound) with their steps, and the unbind path.
 */

import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import type { Person } from '../src/index';
import { type Application, approvedApplication, latestSmsCode, resendIntervalPassed } from './helpers/applications';
import {
  type ComponentWrapper,
  enterPin,
  find,
  hides,
  idle,
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
import { type TestPhone, testPhone } from './helpers/phone';
import { addPortal, createLoginSession, portalCall, verifiedIdToken } from './helpers/portal';
import { type RunningServer, advanceClock, startServer } from './helpers/server';

afterEach(unmountAll);

const PIN = '357913';

let server: RunningServer;
let applications: Promise<Application[]>;

before(async () => {
  server = await startServer({
    env: { MCERT_SYNC_INTERVAL_SECS: '1', MCERT_AGREEMENT_COUNTDOWN_SECS: '1' },
  });
  applications = Promise.all([
    approvedApplication(server),
    approvedApplication(server),
    approvedApplication(server),
  ]);
  await applications;
});

after(async () => {
  await server?.stop();
});

function nonce(): string {
  return Math.random().toString(36).slice(2);
}

/** The development server's face result for the person typed, in `openid`'s WeChat. */
function faceOf(openid: string) {
  return (name: string, idNumber: string) => `dev-pass:${name}:${idNumber}:${openid}`;
}

/** Types a phone into a screen's SMS code field and asks for a code. */
async function askCode(screen: ComponentWrapper, phone: string): Promise<void> {
  const sms = find(screen, '#sms');
  await type(sms, '.phone', phone);
  await tap(sms, '.send');
}

test('sign in, verify with the face step, download, make it the default, and log a portal in by scanning', async () => {
  const application = (await applications)[0];
  const openid = `openid-${nonce()}`;
  const phone = await testPhone(server.baseUrl);
  setClient(phone.client);

  // 单位用户登录: a new WeChat user is not verified yet.
  wxFake.loginCode = `dev:${openid}:${nonce()}`;
  const login = mount('login');
  assert.match(text(login), /您还未登录，请先登录/);
  await tap(login, '.primary');
  await shows(login, '未查询到人员信息，请先实名认证');
  await tap(login, '.primary');
  await shows(login, '实名认证');

  // 实名认证: a face result of another WeChat user is refused with the server's words.
  await type(login, '.name', application.agentName);
  await type(login, '.id-number', application.agentId.toLowerCase());
  wxFake.face = faceOf('openid-someone-else');
  await tap(login, '.verify');
  await shows(login, '人脸识别结果不是本人在本微信中刷脸所得');
  // Cancelling the face step says so.
  wxFake.face = () => null;
  await tap(login, '.verify');
  await shows(login, '刷脸认证未完成，请重试');
  wxFake.face = faceOf(openid);
  const signedIn = nextEvent<{ person: Person }>(login, 'login');
  await tap(login, '.verify');
  const { person } = await signedIn;
  await shows(login, '认证成功');
  assert.equal(person.name, application.agentName);
  assert.deepEqual(wxFake.faceCalls.at(-1), { name: application.agentName, idCardNumber: application.agentId });

  // 下载新证书: no phone bound yet — 未获取到绑定信息 and what to do.
  const download = mount('download');
  assert.match(text(download), /请输入用人单位移动端数字证书业务申请表中填写的证书使用人手机号/);
  await tap(download, '.bound');
  await shows(download, '未获取到绑定信息');
  assert.match(text(download), /没有以您本人为经办人、以已绑定手机号申请并已审核通过的单位/);
  assert.match(text(download), /后台数据没推送成功/);

  await resendIntervalPassed(application);
  await askCode(download, application.phone);
  await shows(download, /\d+ 秒后重新获取/);
  await shows(download, `验证码已发送至 ${application.phone}`);
  const countdown = find(download, '#sms').data.countdown as number;
  assert.ok(countdown > 50 && countdown <= 60, `the server's resend wait counts down: ${countdown}`);
  const code = await latestSmsCode(server.baseUrl, application.phone);
  await type(find(download, '#sms'), '.code', code === '000000' ? '111111' : '000000');
  await tap(download, '.bind');
  await shows(download, /验证码错误，还可输入 \d 次/);
  await type(find(download, '#sms'), '.code', code);
  await tap(download, '.bind');
  await shows(download, '点击单位名称下载该单位的证书');
  assert.match(text(download), new RegExp(application.unitName));
  // Once the sync worker pushed the application, 刷新 shows it ready.
  const employer = await readyEmployer(phone, application.id);
  await tap(download, '.refresh');
  await idle(download);
  await shows(download, `申请手机号 ${application.phone} · ${employer.syncStatusLabel}`);
  const card = withText(download, '.employer', application.unitName);
  await press(card);
  await shows(download, '设置证书 PIN 码');
  const pad = find(download, '#pin');
  await enterPin(pad, PIN);
  await shows(download, '请再次输入 PIN 码');
  const downloaded = nextEvent<{ serial: string; unitName: string }>(download, 'downloaded');
  await enterPin(pad, PIN);
  const { serial } = await downloaded;
  await shows(download, '证书下载成功');
  assert.match(text(download), new RegExp(serial));
  assert.deepEqual(
    (await phone.client.certificates()).map((c) => c.serial),
    [serial],
    'the certificate is stored on the phone',
  );

  // 已下载证书: a tap on the card makes it the default.
  const certificates = mount('certificates');
  await shows(certificates, application.unitName);
  for (const expected of ['主证书', '已激活', '证书在本机', serial, '证书管理', '下载新证书']) {
    assert.ok(text(certificates).includes(expected), `shows ${expected}: ${text(certificates)}`);
  }
  const wasDefault = (await phone.client.serverCertificates())[0].default;
  if (!wasDefault) {
    const made = nextEvent<{ serial: string }>(certificates, 'default');
    await tap(certificates, '.certificate');
    assert.deepEqual(await made, { serial });
  }
  await shows(certificates, '默认证书');
  assert.equal((await phone.client.serverCertificates())[0].default, true);
  const manage = nextEvent<{ serial: string }>(certificates, 'manage');
  await tap(certificates, '.manage');
  assert.deepEqual(await manage, { serial });

  // 扫一扫: a real portal's login QR code, confirmed with the number its page shows and the PIN.
  const portal = addPortal(server);
  const session = await createLoginSession(server, portal);
  wxFake.qr = session.qr_text;
  const scan = mount('scan');
  await tap(scan, '.scan-button');
  await shows(scan, '登录确认');
  for (const expected of [portal.name, portal.origin, '请求来自 ', '请点选电脑网页上显示的数字', '不是我发起的，拒绝登录']) {
    assert.ok(text(scan).includes(expected), `shows ${expected}: ${text(scan)}`);
  }
  const choice = scan.querySelectorAll('.choice').find((c) => c.dom.getAttribute('data-code') === session.match_code);
  assert.ok(choice, `the page's code ${session.match_code} is offered: ${text(scan)}`);
  await press(choice);
  await shows(scan, '输入 PIN 码确认登录');
  const confirmed = nextEvent<{ purpose: string; serial: string }>(scan, 'confirmed');
  await enterPin(find(scan, '#pin'), PIN);
  assert.deepEqual(await confirmed, { purpose: 'login', serial });
  await shows(scan, '登录成功，请在电脑上继续办理');
  const collected = await portalCall(server, portal, 'POST', `/api/v1/login-sessions/${session.id}/result`);
  assert.equal(collected.status, 200, JSON.stringify(collected.body));
  const claims = await verifiedIdToken(server, collected.body.id_token as string);
  assert.equal(String(claims.certificate_serial).toUpperCase(), serial);
  assert.equal(claims.employer_name, application.unitName);
});

test('手机号已被绑定 shows the unbind path; 未获取到绑定信息 for a phone not the person\'s; unbinding frees the phone', async () => {
  const application = (await applications)[1];
  const agentOpenid = `openid-${nonce()}`;
  const agent: TestPhone = await boundAgent(server, application, agentOpenid);

  // Another verified person tries the agent's phone.
  const stranger = await testPhone(server.baseUrl);
  const strangerOpenid = `openid-${nonce()}`;
  await stranger.client.login(`dev:${strangerOpenid}:${nonce()}`);
  await stranger.client.verifyRealName({
    name: '王五',
    idNumber: '110105198001010032',
    verifyResult: `dev-pass:王五:110105198001010032:${strangerOpenid}`,
  });
  setClient(stranger.client);
  const download = mount('download');
  await askCode(download, application.phone);
  await shows(download, '手机号已被绑定');
  const bound = text(download);
  assert.match(bound, /该手机号已与其他经办人绑定/);
  assert.match(bound, /可能的原因及处理办法/);
  assert.match(bound, /请前经办人用其手机微信进入就业彩云南小程序——个人用户登录——我的——账号管理——手机号解绑/);
  assert.doesNotMatch(bound, /手机号已被绑定：/, 'the headline is not repeated in the message');

  // A phone the carrier does not register to the person (development prefix 1990000).
  const foreign = `1990000${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
  const other = mount('download');
  await askCode(other, foreign);
  await shows(other, `验证码已发送至 ${foreign}`);
  await type(find(other, '#sms'), '.code', await latestSmsCode(server.baseUrl, foreign));
  await tap(other, '.bind');
  await shows(other, '未获取到绑定信息');
  assert.match(text(other), /该手机号未登记在您本人名下/);
  assert.match(text(other), /申请手机号和经办人不一致：请将人、号不一致的手机证书申请废除/);

  // 账号管理 — 手机号解绑 on the former agent's phone.
  setClient(agent.client);
  const phones = mount('phones');
  await shows(phones, application.phone);
  await tap(phones, '.ask');
  await shows(phones, `确认解绑 ${application.phone}？`);
  await tap(phones, '.cancel');
  await hides(phones, '确认解绑');
  await tap(phones, '.ask');
  await shows(phones, '确认解绑 ');
  const unbound = nextEvent<{ phone: string }>(phones, 'unbound');
  await tap(phones, '.confirm');
  assert.deepEqual(await unbound, { phone: application.phone });
  await shows(phones, `已解绑 ${application.phone}`);
  await shows(phones, '没有已绑定的手机号');
  assert.deepEqual((await agent.client.me()).phones, []);

  // Now the stranger may ask the phone for a code.
  setClient(stranger.client);
  const again = mount('download');
  await resendIntervalPassed(application);
  await askCode(again, application.phone);
  await shows(again, `验证码已发送至 ${application.phone}`);
  assert.doesNotMatch(text(again), /手机号已被绑定/);
});

test('下载新证书 again on a new phone while a certificate is active: the real-name steps again, then a new PIN', async () => {
  const application = (await applications)[2];
  const openid = `openid-${nonce()}`;
  const first = await boundAgent(server, application, openid);
  await readyEmployer(first, application.id);
  const old = await first.client.download(application.id, PIN);

  // The same person on a new phone: signed in, verified already, the phone bound already.
  const second = await testPhone(server.baseUrl);
  await second.client.login(`dev:${openid}:${nonce()}`);
  setClient(second.client);
  const download = mount('download');
  await tap(download, '.bound');
  await shows(download, '点击单位名称下载该单位的证书');
  await press(withText(download, '.employer', application.unitName));
  await shows(download, '设置证书 PIN 码');
  const newPin = '975311';
  await enterPin(find(download, '#pin'), newPin);
  await shows(download, '请再次输入 PIN 码');
  await enterPin(find(download, '#pin'), newPin);
  await shows(download, '您已下载过该单位的证书。为防止他人冒用，重新下载需再次进行人脸识别');

  const reverify = find(download, '#reverify');
  await type(reverify, '.name', application.agentName);
  await type(reverify, '.id-number', application.agentId);
  await advanceClock(server.baseUrl, 61); // one SMS code per phone a minute
  const sms = find(reverify, '#sms');
  await type(sms, '.phone', application.phone);
  await tap(sms, '.send');
  await shows(download, `验证码已发送至 ${application.phone}`);
  await type(sms, '.code', await latestSmsCode(server.baseUrl, application.phone));
  wxFake.face = faceOf(openid);
  await tap(reverify, '.submit');
  await shows(download, '设置证书 PIN 码');
  const downloaded = nextEvent<{ serial: string; unitName: string }>(download, 'downloaded');
  await enterPin(find(download, '#pin'), newPin);
  await shows(download, '请再次输入 PIN 码');
  await enterPin(find(download, '#pin'), newPin);
  const { serial, unitName } = await downloaded;
  assert.equal(unitName, application.unitName);
  assert.notEqual(serial, old.serial);
  await shows(download, '证书下载成功');
  await second.client.verifyPin(serial, newPin);
  assert.equal((await first.client.keyStatus(old.serial)).status, 'revoked', 'the old phone\'s certificate is replaced');
});
