/**
 * The mini-program account flow through the SDK against the real `mcert-server` running its real
 * WeChat and carrier clients, pointed at fake WeChat and Alibaba Cloud services on loopback
 * (`test/helpers/fake-providers.ts`) instead of the development stand-ins. Development mode
 * stays on for what is not under test here: the SMS outbox (`/dev/sms`) and the employment
 * platform stand-in. Sign-in with a code WeChat maps to an openid, and refusals of codes WeChat
 * rejects; real-name verification with face results WeChat reads for this person and WeChat
 * user, or for another; phone binding with the carrier's verdict; then the employer list, the
 * download and the certificate active on the server. The fakes' records show what reached them.
 */

import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import { ServerErrorCode } from '../src/index';
import {
  type Application,
  approvedApplication,
  latestSmsCode,
  randomPhone,
  resendIntervalPassed,
} from './helpers/applications';
import {
  type FakeProviders,
  aliyunSignature,
  startFakeProviders,
} from './helpers/fake-providers';
import { apiError, readyEmployer } from './helpers/mp-account';
import { testPhone } from './helpers/phone';
import { type RunningServer, randomResidentId, startServer } from './helpers/server';

const PIN = '975310';

let fakes: FakeProviders;
let server: RunningServer;
/** Approved at the start. */
let application: Promise<Application>;

before(async () => {
  fakes = await startFakeProviders();
  server = await startServer({
    env: {
      MCERT_SYNC_INTERVAL_SECS: '1',
      MCERT_AGREEMENT_COUNTDOWN_SECS: '1',
      ...fakes.env,
    },
  });
  application = approvedApplication(server);
  await application;
});

after(async () => {
  await server?.stop();
  await fakes?.close();
});

function freshOpenid(): string {
  return `openid-${randomBytes(6).toString('hex')}`;
}

test("the fake carrier signs as Alibaba Cloud's documented SendSms example does", () => {
  // The worked example of Alibaba Cloud's SMS documentation ("签名机制" / "HTTP 协议及签名"):
  // AccessKeySecret `testSecret`, signed as a GET, and its published signature (the server's
  // signing is checked on the same example in server/src/providers/aliyun.rs).
  const example = {
    AccessKeyId: 'testId',
    Action: 'SendSms',
    Format: 'XML',
    OutId: '123',
    PhoneNumbers: '15300000001',
    RegionId: 'cn-hangzhou',
    SignName: '阿里云短信测试专用',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: '45e25e9b-0a6f-4070-8c85-2956eda1b466',
    SignatureVersion: '1.0',
    TemplateCode: 'SMS_71390007',
    TemplateParam: '{"customer":"test"}',
    Timestamp: '2017-07-12T02:42:19Z',
    Version: '2017-05-25',
  };
  assert.equal(aliyunSignature('GET', example, 'testSecret'), 'zJDF+Lrzhj/ThnlvIToysFRq6t4=');
});

test('the server runs its real WeChat and carrier clients, not the development stand-ins', () => {
  const log = server.log();
  assert.ok(!log.includes('development WeChat'), 'no development WeChat');
  assert.ok(!log.includes('development carrier check'), 'no development carrier check');
});

test('sign-in exchanges the wx.login code with WeChat; codes it rejects are refused', async () => {
  const { wechat } = fakes;
  const phone = await testPhone(server.baseUrl);

  const madeUp = `wx-code-made-up-${randomBytes(4).toString('hex')}`;
  await assert.rejects(
    phone.client.login(madeUp),
    apiError(ServerErrorCode.WeChatCodeInvalid, 400),
  );
  assert.equal(phone.storage.snapshot()['mcert:mp-session'], undefined);

  const openid = freshOpenid();
  const code = wechat.code(openid);
  const session = await phone.client.login(code);
  assert.equal(session.verified, false);
  assert.ok(!JSON.stringify(phone.storage.snapshot()).includes(session.token));
  await assert.rejects(phone.client.me(), apiError(ServerErrorCode.PersonNotVerified, 404));

  // Both codes reached WeChat, each once, with the mini-program's AppID and AppSecret.
  for (const sent of [madeUp, code]) {
    const asked = wechat
      .requestsTo('/sns/jscode2session')
      .filter((r) => r.query.get('js_code') === sent);
    assert.equal(asked.length, 1, sent);
    assert.deepEqual(Object.fromEntries(asked[0].query), {
      appid: wechat.appid,
      secret: wechat.secret,
      js_code: sent,
      grant_type: 'authorization_code',
    });
  }
  // WeChat's session key stays with the server.
  assert.ok(!JSON.stringify(phone.traffic).includes(wechat.sessionKey), 'no session_key');

  // A code works once (WeChat's 40163).
  const again = await testPhone(server.baseUrl);
  await assert.rejects(again.client.login(code), apiError(ServerErrorCode.WeChatCodeUsed, 400));
});

test('real name: WeChat reads the face result; one access token serves every question', async () => {
  const { wechat } = fakes;
  const person = { name: '李四', idNumber: randomResidentId() };
  const openid = freshOpenid();
  const phone = await testPhone(server.baseUrl);
  await phone.client.login(wechat.code(openid));

  // WeChat says the result is another person's, or this person's taken by another WeChat user,
  // or failed, or does not know it: whatever the phone claims, each is refused.
  const refused: [string, string, number][] = [
    [
      wechat.faceResult({ openid, name: '王五', idNumber: '110105198001010032' }),
      ServerErrorCode.FaceOtherPerson,
      403,
    ],
    [wechat.faceResult({ openid: freshOpenid(), ...person }), ServerErrorCode.FaceOtherPerson, 403],
    [wechat.faceResult({ openid, ...person, identifyRet: 10003 }), ServerErrorCode.FaceFailed, 403],
    [`verify-result-made-up-${randomBytes(4).toString('hex')}`, 'wechat_face_result_invalid', 400],
  ];
  for (const [verifyResult, code, status] of refused) {
    await assert.rejects(
      phone.client.verifyRealName({ ...person, verifyResult }),
      apiError(code, status),
    );
  }
  await assert.rejects(phone.client.me(), apiError(ServerErrorCode.PersonNotVerified, 404));

  const passed = wechat.faceResult({ openid, ...person });
  const verified = await phone.client.verifyRealName({ ...person, verifyResult: passed });
  assert.equal(verified.name, person.name);
  const masked = `${person.idNumber.slice(0, 6)}********${person.idNumber.slice(14)}`;
  assert.equal(verified.idNumber, masked);
  assert.equal((await phone.client.me()).name, person.name);

  // Every result was asked about as the JSON body of getinfo, with the one access token,
  // fetched once with the AppID and AppSecret.
  const asked = wechat.requestsTo('/cityservice/face/identify/getinfo');
  const results = asked.map((r) => (JSON.parse(r.body) as { verify_result: string }).verify_result);
  for (const [verifyResult] of [...refused, [passed]]) {
    assert.equal(results.filter((r) => r === verifyResult).length, 1, verifyResult);
  }
  const tokenRequests = wechat.requestsTo('/cgi-bin/token');
  assert.equal(tokenRequests.length, 1, 'the access token is fetched once');
  assert.deepEqual(Object.fromEntries(tokenRequests[0].query), {
    grant_type: 'client_credential',
    appid: wechat.appid,
    secret: wechat.secret,
  });
  assert.deepEqual(
    asked.map((r) => r.query.get('access_token')),
    asked.map(() => wechat.tokensIssued[0]),
  );
});

test("binding asks the carrier; a phone not the agent's is refused; then the download", async () => {
  const { wechat, carrier } = fakes;
  const agent = await application;
  const openid = freshOpenid();
  const phone = await testPhone(server.baseUrl);
  await phone.client.login(wechat.code(openid));
  const person = { name: agent.agentName, idNumber: agent.agentId };
  const face = wechat.faceResult({ openid, ...person });
  await phone.client.verifyRealName({ ...person, verifyResult: face });

  // The carrier has the application's phone registered to the agent, another phone to somebody
  // else, and no record of a third.
  carrier.register(agent.phone, agent.agentName, agent.agentId);
  const someoneElses = randomPhone();
  carrier.register(someoneElses, '李四', randomResidentId());
  const unknown = randomPhone();
  for (const number of [someoneElses, unknown]) {
    await phone.client.sendPhoneCode(number);
    await assert.rejects(
      phone.client.bindPhone(number, await latestSmsCode(server.baseUrl, number)),
      apiError(ServerErrorCode.PhoneNotOwned, 409),
    );
  }
  assert.deepEqual((await phone.client.me()).phones, []);

  await resendIntervalPassed(agent);
  await phone.client.sendPhoneCode(agent.phone);
  assert.deepEqual(
    await phone.client.bindPhone(agent.phone, await latestSmsCode(server.baseUrl, agent.phone)),
    { phone: agent.phone, outcome: 'bound' },
  );

  // Each phone was checked once, signed with the account's key, for the verified person.
  for (const number of [someoneElses, unknown, agent.phone]) {
    const checks = carrier.checksOf(number);
    assert.equal(checks.length, 1, number);
    const { form, signatureValid } = checks[0];
    assert.ok(signatureValid, `signature of the check of ${number}`);
    assert.deepEqual(
      {
        AccessKeyId: form.AccessKeyId,
        Action: form.Action,
        AuthCode: form.AuthCode,
        Name: form.Name,
        CertCode: form.CertCode,
        InputNumber: form.InputNumber,
      },
      {
        AccessKeyId: carrier.accessKeyId,
        Action: 'ThreeElementsVerification',
        AuthCode: carrier.authCode,
        Name: agent.agentName,
        CertCode: agent.agentId,
        InputNumber: number,
      },
    );
  }
  assert.ok(
    carrier.received.every((r) => r.method === 'POST' && r.path === '/' && r.query.size === 0),
    'nothing personal in a URL',
  );

  const employer = await readyEmployer(phone, agent.id);
  assert.equal(employer.unitName, agent.unitName);
  assert.equal(employer.uscc, agent.uscc);

  const certificate = await phone.client.download(agent.id, PIN);
  const subject = new X509Certificate(certificate.certificatePem).subject;
  assert.match(subject, new RegExp(agent.agentName));
  await phone.client.verifyPin(certificate.serial, PIN);
  const [held, ...others] = await phone.client.serverCertificates();
  assert.deepEqual(others, []);
  assert.deepEqual(
    {
      serial: held.serial,
      unitName: held.unitName,
      uscc: held.uscc,
      role: held.role,
      status: held.status,
      statusLabel: held.statusLabel,
    },
    {
      serial: certificate.serial,
      unitName: agent.unitName,
      uscc: agent.uscc,
      role: 'primary',
      status: 'active',
      statusLabel: '已激活',
    },
  );
});
