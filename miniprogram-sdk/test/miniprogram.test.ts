/**
 * The mini-program account flow through the SDK against the real `mcert-server` (development
 * mode, sync worker every second, agreement countdown 1 s): an application built and approved
 * through the HTTP API, then login, real-name verification, phone binding with the code from
 * the development SMS outbox, the employer list once the sync worker pushed the application,
 * and the download — the split-key enrolment — with its signature and certificate checked by
 * OpenSSL and npm `sm-crypto`, and a PIN check on the downloaded certificate.
 */

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
  McertApiError,
  McertError,
  ServerErrorCode,
  base64Decode,
} from '../src/index';
import {
  type Application,
  approvedApplication,
  latestSmsCode,
  randomPhone,
  resendIntervalPassed,
} from './helpers/applications';
import { apiError, boundAgent as sharedBoundAgent, readyEmployer } from './helpers/mp-account';
import { type TestPhone, lastExchange, testPhone } from './helpers/phone';
import { type RunningServer, advanceClock, startServer } from './helpers/server';
import { opensslVerifies, smCryptoVerifies } from './helpers/verify';

const PIN = '246810';

let server: RunningServer;
/** Two approved applications, made at once. */
let applications: Promise<Application[]>;

before(async () => {
  server = await startServer({
    env: { MCERT_SYNC_INTERVAL_SECS: '1', MCERT_AGREEMENT_COUNTDOWN_SECS: '1' },
  });
  applications = Promise.all([approvedApplication(server), approvedApplication(server)]);
  await applications;
});

after(async () => {
  await server?.stop();
});

function nonce(): string {
  return Math.random().toString(36).slice(2);
}

/** A phone signed in as `openid`, verified as the application's agent, with its phone bound. */
function boundAgent(application: Application, openid: string): Promise<TestPhone> {
  return sharedBoundAgent(server, application, openid);
}

test('login, real name, phone, employers, download, then the PIN works on the certificate', async () => {
  const application = (await applications)[0];
  const openid = `openid-${nonce()}`;
  const phone = await testPhone(server.baseUrl);

  // Nothing works before login, and nothing was sent.
  await assert.rejects(phone.client.me(), (error: unknown) => {
    assert.ok(error instanceof McertError && !(error instanceof McertApiError));
    assert.equal(error.code, ServerErrorCode.MpNotSignedIn);
    return true;
  });
  assert.equal(phone.traffic.length, 0);

  const session = await phone.client.login(`dev:${openid}:${nonce()}`);
  assert.equal(session.verified, false);
  assert.ok(
    !JSON.stringify(phone.storage.snapshot()).includes(session.token),
    'the session token is not in storage',
  );
  await assert.rejects(phone.client.me(), apiError('person_not_verified', 404));
  await assert.rejects(phone.client.serverCertificates(), apiError('person_not_verified', 404));

  // Someone else's face result is refused.
  await assert.rejects(
    phone.client.verifyRealName({
      name: application.agentName,
      idNumber: application.agentId,
      verifyResult: `dev-pass:${application.agentName}:${application.agentId}:openid-other`,
    }),
    (error: unknown) => error instanceof McertApiError && error.status === 403,
  );
  const person = await phone.client.verifyRealName({
    name: application.agentName,
    idNumber: application.agentId,
    verifyResult: `dev-pass:${application.agentName}:${application.agentId}:${openid}`,
  });
  assert.equal(person.name, '张三');
  assert.equal(person.idNumber, `${application.agentId.slice(0, 6)}********${application.agentId.slice(14)}`);
  assert.deepEqual(person.phones, []);

  // No bound phone yet: 未获取到绑定信息.
  await assert.rejects(phone.client.employers(), apiError('no_binding_info', 404));

  // Two more phones of the person (the dev carrier passes any other than 1990000/1990001),
  // bound now; unlocking asks one of them for a code again once the server's clock has moved
  // past its SMS minute.
  const spare = [randomPhone(), randomPhone()];
  for (const number of spare) {
    await phone.client.sendPhoneCode(number);
    await phone.client.bindPhone(number, await latestSmsCode(server.baseUrl, number));
  }

  await resendIntervalPassed(application);
  const sent = await phone.client.sendPhoneCode(application.phone);
  assert.ok(sent.resendAfterSecs > 0);
  const code = await latestSmsCode(server.baseUrl, application.phone);
  assert.deepEqual(await phone.client.bindPhone(application.phone, code), {
    phone: application.phone,
    outcome: 'bound',
  });
  assert.equal((await phone.client.me()).phones.length, 3);

  const employer = await readyEmployer(phone, application.id);
  assert.equal(employer.unitName, application.unitName);
  assert.equal(employer.uscc, application.uscc);

  const certificate = await phone.client.download(application.id, PIN);
  assert.match(certificate.serial, /^[0-9A-F]+$/);

  // Stored exactly as enrol stores it, and no session beside it.
  const stored = phone.storage.snapshot();
  assert.deepEqual(Object.keys(stored).sort(), [
    `mcert:certificate:${certificate.serial}`,
    'mcert:certificates',
  ]);
  const record = JSON.parse(stored[`mcert:certificate:${certificate.serial}`]);
  assert.deepEqual(Object.keys(record).sort(), [
    'certificatePem',
    'deviceToken',
    'publicKey',
    'serial',
    'share',
  ]);
  const p1 = (lastExchange(phone.traffic, '/api/v1/mp/downloads').request.body as { p1: string })
    .p1;
  assert.ok(!JSON.stringify(stored).includes(p1), 'P1 is not stored');

  // The certificate names the agent and carries the phone's key.
  const x509 = new X509Certificate(certificate.certificatePem);
  assert.match(x509.subject, /张三/);
  const spki = x509.publicKey.export({ format: 'der', type: 'spki' });
  assert.deepEqual(new Uint8Array(spki.subarray(spki.length - 65)), certificate.publicKey);

  // The download's co-signature verifies under the certificate's key, independently.
  const started = lastExchange(phone.traffic, '/api/v1/mp/downloads').response.body as {
    cosign: { message: string };
  };
  const message = base64Decode(started.cosign.message);
  assert.equal(phone.signer.describeMessage(message).kind, 'key_enrolment');
  const signature = base64Decode(
    (lastExchange(phone.traffic, '/signature').request.body as { signature: string }).signature,
  );
  assert.ok(smCryptoVerifies(certificate.publicKey, message, signature), 'sm-crypto');
  assert.ok(opensslVerifies(certificate.certificatePem, message, signature), 'OpenSSL');

  // The downloaded certificate works like an enrolled one.
  assert.deepEqual(await phone.client.certificates(), [certificate]);
  await phone.client.verifyPin(certificate.serial, PIN);
  await assert.rejects(
    phone.client.verifyPin(certificate.serial, '000000'),
    apiError('pin_incorrect', 403),
  );
  assert.deepEqual(await phone.client.keyStatus(certificate.serial), {
    serial: certificate.serial,
    status: 'active',
    locked: false,
    remainingAttempts: 5,
  });

  // The server's list: the downloaded certificate, active, the employer's primary one.
  const [held] = await phone.client.serverCertificates();
  assert.deepEqual(
    { ...held, notAfter: undefined },
    {
      serial: certificate.serial,
      unitName: application.unitName,
      uscc: application.uscc,
      role: 'primary',
      status: 'active',
      statusLabel: '已激活',
      notAfter: undefined,
      default: held.default,
    },
  );
  assert.ok(!Number.isNaN(Date.parse(held.notAfter)), held.notAfter);
  await phone.client.setDefault(certificate.serial.toLowerCase());
  assert.deepEqual(
    (await phone.client.serverCertificates()).map((c) => [c.serial, c.default]),
    [[certificate.serial, true]],
  );
  await assert.rejects(phone.client.setDefault('0ABCDEF012'), apiError('certificate_not_held', 404));

  // Six wrong PINs (one above) lock the key; the right PIN no longer helps.
  for (let i = 4; i >= 0; i--) {
    await assert.rejects(phone.client.verifyPin(certificate.serial, '000000'), (error: unknown) => {
      assert.ok(error instanceof McertApiError, String(error));
      assert.ok(['pin_incorrect', 'key_locked'].includes(error.code), error.code);
      if (error.code === 'pin_incorrect') assert.equal(error.remainingAttempts, i);
      return true;
    });
  }
  const locked = await phone.client.keyStatus(certificate.serial);
  assert.equal(locked.locked, true);
  assert.equal(locked.remainingAttempts, 0);
  await assert.rejects(phone.client.verifyPin(certificate.serial, PIN), apiError('key_locked', 423));

  // Unlocking repeats real-name verification: a fresh face result and a code to a bound phone.
  const face = `dev-pass:${application.agentName}:${application.agentId}:${openid}`;
  await assert.rejects(
    phone.client.unlock({
      serial: certificate.serial,
      verifyResult: `dev-pass:${application.agentName}:${application.agentId}:openid-other`,
      phone: spare[0],
      code: '000000',
    }),
    apiError('face_other_person', 403),
  );
  await assert.rejects(
    phone.client.unlock({ serial: certificate.serial, verifyResult: face, phone: randomPhone(), code: '000000' }),
    apiError('phone_not_bound', 404),
  );
  await assert.rejects(
    phone.client.unlock({ serial: '0ABCDEF012', verifyResult: face, phone: spare[0], code: '000000' }),
    apiError('certificate_not_held', 404),
  );
  await advanceClock(server.baseUrl, 61); // one SMS code per phone a minute
  await phone.client.sendPhoneCode(spare[0]);
  await phone.client.unlock({
    serial: certificate.serial,
    verifyResult: face,
    phone: spare[0],
    code: await latestSmsCode(server.baseUrl, spare[0]),
  });
  await phone.client.verifyPin(certificate.serial, PIN);
  const unlocked = await phone.client.keyStatus(certificate.serial);
  assert.equal(unlocked.locked, false);
  assert.equal(unlocked.remainingAttempts, 6);
  await phone.client.sendPhoneCode(spare[1]);
  await assert.rejects(
    phone.client.unlock({
      serial: certificate.serial,
      verifyResult: face,
      phone: spare[1],
      code: await latestSmsCode(server.baseUrl, spare[1]),
    }),
    apiError('key_not_locked', 409),
  );

  // Logout ends the session on the server and on the phone.
  await phone.client.logout();
  await assert.rejects(phone.client.me(), (error: unknown) => {
    assert.ok(error instanceof McertError);
    assert.equal(error.code, ServerErrorCode.MpNotSignedIn);
    return true;
  });
  const revoked = await fetch(`${server.baseUrl}/api/v1/mp/me`, {
    headers: { Authorization: `Bearer ${session.token}` },
  });
  assert.equal(revoked.status, 401);
  assert.equal(((await revoked.json()) as { code: string }).code, 'mp_not_signed_in');
});

test('a new phone downloads again; the bound phone cannot be bound by another agent', async () => {
  const application = (await applications)[1];
  const openid = `openid-${nonce()}`;
  const first = await boundAgent(application, openid);
  await readyEmployer(first, application.id);
  const old = await first.client.download(application.id, PIN);

  // The same person on a new phone: signs in again (already verified). Downloading again while
  // the first phone's certificate is active takes the real-name steps again: a stolen session
  // alone is refused.
  const second = await testPhone(server.baseUrl);
  const session = await second.client.login(`dev:${openid}:${nonce()}`);
  assert.equal(session.verified, true);
  await assert.rejects(
    second.client.download(application.id, '135790'),
    apiError('download_reverification_required', 403),
  );
  assert.equal((await first.client.keyStatus(old.serial)).status, 'active');
  await advanceClock(server.baseUrl, 61); // one SMS code per phone a minute
  await second.client.sendPhoneCode(application.phone);
  const fresh = await second.client.download(application.id, '135790', {
    verifyResult: `dev-pass:${application.agentName}:${application.agentId}:${openid}`,
    phone: application.phone,
    code: await latestSmsCode(server.baseUrl, application.phone),
  });
  assert.notEqual(fresh.serial, old.serial);
  await second.client.verifyPin(fresh.serial, '135790');
  assert.equal((await first.client.keyStatus(old.serial)).status, 'revoked');

  // Another verified person cannot take the phone.
  const stranger = await testPhone(server.baseUrl);
  const strangerOpenid = `openid-${nonce()}`;
  const other = { ...application, agentId: '110105198001010032', agentName: '王五' };
  await stranger.client.login(`dev:${strangerOpenid}:${nonce()}`);
  await stranger.client.verifyRealName({
    name: other.agentName,
    idNumber: other.agentId,
    verifyResult: `dev-pass:${other.agentName}:${other.agentId}:${strangerOpenid}`,
  });
  await assert.rejects(
    stranger.client.sendPhoneCode(application.phone),
    apiError('phone_bound', 409),
  );
  await assert.rejects(stranger.client.download(application.id, PIN), apiError('no_binding_info', 404));

  // A phone that is not the person's own by the carrier check (dev prefix 1990000).
  const foreign = `1990000${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
  await stranger.client.sendPhoneCode(foreign);
  await assert.rejects(
    stranger.client.bindPhone(foreign, await latestSmsCode(server.baseUrl, foreign)),
    apiError('phone_not_owned', 409),
  );

  // Unbinding frees the phone.
  await second.client.unbindPhone(application.phone);
  assert.deepEqual((await second.client.me()).phones, []);
  await assert.rejects(second.client.unbindPhone(application.phone), apiError('phone_not_bound', 404));
});
