/**
 * QR login end to end against the real `mcert-server` (development mode): an approved
 * application's agent downloads the certificate with the mini-program flow, a portal registered
 * with `mcert-server admin add-portal` creates embedded login sessions (HTTP Basic), the phone
 * scans and confirms with the PIN — the SDK and the `mcert-phone scan` command — and the portal
 * collects an ID token naming the employer and the certificate. Replays, declining and wrong
 * PINs too. Binding the agent's phone moves the server's clock past the SMS minute.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  type CertificateInfo,
  McertApiError,
  McertError,
  base64Decode,
  initiatorText,
} from '../src/index';
import { type Application, approvedApplication } from './helpers/applications';
import { type Run, runCliAs } from './helpers/cli';
import { apiError, boundAgent, readyEmployer } from './helpers/mp-account';
import { type TestPhone, lastExchange } from './helpers/phone';
import {
  type Portal,
  addPortal,
  createLoginSession,
  loginState,
  portalCall,
  verifiedIdToken,
} from './helpers/portal';
import { type RunningServer, startServer } from './helpers/server';
import { opensslVerifies, smCryptoVerifies } from './helpers/verify';

const PIN = '246810';

interface Agent {
  application: Application;
  phone: TestPhone;
  certificate: CertificateInfo;
  /** The development WeChat user the phone signed in as. */
  openid: string;
}

let server: RunningServer;
let portal: Portal;
let agent: Promise<Agent>;
let workDir: string;

before(async () => {
  server = await startServer({
    env: { MCERT_SYNC_INTERVAL_SECS: '1', MCERT_AGREEMENT_COUNTDOWN_SECS: '1' },
  });
  portal = addPortal(server);
  workDir = mkdtempSync(join(tmpdir(), 'mcert-login-test-'));
  agent = downloadedCertificate();
  await agent;
});

after(async () => {
  await server?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

function nonce(): string {
  return Math.random().toString(36).slice(2);
}

/**
 * The agent of a fresh approved application, signed in on a phone, verified, the phone bound,
 * and the employer's certificate downloaded under `PIN` and made the default.
 */
async function downloadedCertificate(): Promise<Agent> {
  const application = await approvedApplication(server);
  const openid = `openid-${nonce()}`;
  const phone = await boundAgent(server, application, openid);
  await readyEmployer(phone, application.id);
  const certificate = await phone.client.download(application.id, PIN);
  await phone.client.setDefault(certificate.serial);
  return { application, phone, certificate, openid };
}

/** The portal's result call. */
function collect(id: string) {
  return portalCall(server, portal, 'POST', `/api/v1/login-sessions/${id}/result`);
}

test('scan, confirm with the PIN, and the portal gets an ID token naming employer and certificate', async () => {
  const { application, phone, certificate } = await agent;
  const session = await createLoginSession(server, portal, 'openid profile employer', {
    browser_address: '222.172.200.68',
    browser_user_agent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  });
  assert.equal(session.qr_text, `${server.baseUrl}/q/${session.id}`);
  assert.match(session.match_code, /^[0-9]{2}$/);
  assert.equal(await loginState(server, portal, session.id), 'pending');

  const scan = await phone.client.scanLogin(session.qr_text);
  assert.equal(scan.id, session.id);
  assert.deepEqual(scan.portal, { clientId: portal.clientId, name: portal.name, origin: portal.origin });
  assert.equal(scan.purpose, 'login');
  assert.deepEqual([...scan.scopes].sort(), ['employer', 'openid', 'profile']);
  // Number matching: the page's code is one of the three the phone offers.
  assert.equal(scan.matchChoices.length, 3);
  assert.ok(scan.matchChoices.includes(session.match_code), JSON.stringify(scan.matchChoices));
  // The portal reported its user's browser: the phone shows where the login was started.
  assert.equal(scan.initiator.address, '222.172.200.*');
  assert.equal(scan.initiator.browser, 'Chrome');
  assert.match(initiatorText(scan.initiator), /^请求来自 (.+ · )?222\.172\.200\.\* · Chrome · \d+ 秒前$/);
  assert.deepEqual(scan.certificates, [
    {
      serial: certificate.serial,
      unitName: application.unitName,
      uscc: application.uscc,
      role: 'primary',
      default: true,
    },
  ]);
  assert.equal(await loginState(server, portal, session.id), 'scanned');

  // The portal cannot collect before the phone confirmed.
  const early = await collect(session.id);
  assert.equal(early.status, 409, JSON.stringify(early.body));
  assert.equal(early.body.code, 'login_state');

  const { signature, result } = await phone.client.confirmLogin(scan, certificate.serial, session.match_code, PIN);
  assert.equal(result.purpose, 'login');
  assert.equal(result.serial.toUpperCase(), certificate.serial);
  assert.equal(await loginState(server, portal, session.id), 'confirmed');

  // What was signed is the login challenge of what the phone showed; it verifies independently.
  const started = lastExchange(phone.traffic, `/logins/${session.id}/confirm`).response.body as {
    message: string;
  };
  const message = base64Decode(started.message);
  const described = phone.signer.describeMessage(message);
  assert.equal(described.kind, 'login_challenge');
  if (described.kind === 'login_challenge') {
    assert.equal(described.fields.client_id, portal.clientId);
    assert.equal(described.fields.origin, portal.origin);
    assert.equal(described.fields.match_code, session.match_code);
    assert.equal(described.fields.initiator, scan.initiator.summary);
  }
  assert.ok(smCryptoVerifies(certificate.publicKey, message, signature), 'sm-crypto');
  assert.ok(opensslVerifies(certificate.certificatePem, message, signature), 'OpenSSL');

  // The portal's backend collects the ID token once.
  const collected = await collect(session.id);
  assert.equal(collected.status, 200, JSON.stringify(collected.body));
  const claims = await verifiedIdToken(server, collected.body.id_token as string);
  assert.equal(claims.iss, server.baseUrl);
  assert.equal(claims.aud, portal.clientId);
  assert.equal(claims.sid, session.id);
  assert.equal(claims.employer_name, application.unitName);
  assert.equal(claims.uscc, application.uscc);
  assert.equal(String(claims.certificate_serial).toUpperCase(), certificate.serial);
  assert.equal(claims.certificate_role, 'primary');
  assert.equal(claims.name, application.agentName);
  assert.deepEqual(claims.amr, ['swk', 'pin']);
  assert.equal(claims.acr, 'urn:mcert:loa:cosign');
  assert.equal(typeof claims.sub, 'string');
  const answered = collected.body.claims as { [key: string]: unknown };
  for (const name of ['sub', 'employer_name', 'uscc', 'certificate_serial', 'certificate_role']) {
    assert.deepEqual(answered[name], claims[name], name);
  }
  assert.equal(await loginState(server, portal, session.id), 'consumed');
  const again = await collect(session.id);
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal(again.body.code, 'login_state');

  // The same QR code is used: scanning it again is refused, and nothing more can be confirmed.
  await assert.rejects(
    phone.client.scanLogin(session.qr_text),
    apiError('login_already_scanned', 409),
  );
  await assert.rejects(
    phone.client.confirmLogin(scan, certificate.serial, session.match_code, PIN),
    apiError('login_state', 409),
  );
});

test('a QR code of another host is refused by the phone; the server refuses unknown ids', async () => {
  const { phone } = await agent;
  const session = await createLoginSession(server, portal);
  const foreign = session.qr_text.replace('127.0.0.1', 'localhost');
  const sent = phone.traffic.length;
  await assert.rejects(phone.client.scanLogin(foreign), (error: unknown) => {
    assert.ok(error instanceof McertError && !(error instanceof McertApiError));
    assert.equal(error.code, 'login_qr_foreign');
    return true;
  });
  assert.equal(phone.traffic.length, sent, 'nothing sent');
  assert.equal(await loginState(server, portal, session.id), 'pending');
  await assert.rejects(
    phone.client.scanLogin(`${server.baseUrl}/q/AAAAAAAAAAAAAAAAAAAAAA`),
    apiError('login_not_found', 404),
  );
});

test('declining: the portal sees denied and gets no token', async () => {
  const { phone, certificate } = await agent;
  const session = await createLoginSession(server, portal);
  const scan = await phone.client.scanLogin(session.qr_text);
  await phone.client.denyLogin(scan);
  assert.equal(await loginState(server, portal, session.id), 'denied');
  const collected = await collect(session.id);
  assert.equal(collected.status, 409, JSON.stringify(collected.body));
  assert.equal(collected.body.code, 'login_state');
  await assert.rejects(
    phone.client.confirmLogin(scan, certificate.serial, session.match_code, PIN),
    apiError('login_state', 409),
  );
  await assert.rejects(phone.client.denyLogin(scan), apiError('login_state', 409));
});

test('a wrong PIN is counted and can be retried within the same login', async () => {
  const { phone, certificate } = await agent;
  const session = await createLoginSession(server, portal);
  const scan = await phone.client.scanLogin(session.qr_text);
  const left = (await phone.client.keyStatus(certificate.serial)).remainingAttempts;
  await assert.rejects(phone.client.confirmLogin(scan, certificate.serial, session.match_code, '000000'), (error: unknown) => {
    assert.ok(error instanceof McertApiError, String(error));
    assert.equal(error.code, 'pin_incorrect');
    assert.equal(error.status, 403);
    assert.equal(error.remainingAttempts, left - 1);
    return true;
  });
  assert.equal((await phone.client.keyStatus(certificate.serial)).remainingAttempts, left - 1);
  assert.equal(await loginState(server, portal, session.id), 'scanned');
  const { result } = await phone.client.confirmLogin(scan.id, certificate.serial, session.match_code, PIN);
  assert.equal(result.purpose, 'login');
  const confirmations = phone.traffic.filter((e) =>
    e.request.url.endsWith(`/logins/${session.id}/confirm`),
  );
  assert.equal(confirmations.length, 1, 'the retry used the same co-signing session');
  assert.equal((await phone.client.keyStatus(certificate.serial)).remainingAttempts, 6);
  assert.equal((await collect(session.id)).status, 200);
});

/** `mcert-phone` as the agent's phone. */
async function mcertPhone(args: string[], env: { [name: string]: string } = {}): Promise<Run> {
  const { phone, openid } = await agent;
  return runCliAs(phone, openid, server, workDir, args, env);
}

test('mcert-phone scan shows the login, declines, or confirms with the PIN', async () => {
  const { application, certificate, phone } = await agent;
  const declined = await createLoginSession(server, portal);
  const deny = await mcertPhone(['scan', declined.qr_text, '--deny']);
  assert.equal(deny.status, 0, `stdout: ${deny.stdout}\nstderr: ${deny.stderr}`);
  assert.match(deny.stdout, /已拒绝登录 \/ login denied/);
  assert.equal(await loginState(server, portal, declined.id), 'denied');

  const foreign = await mcertPhone([
    'scan',
    'https://evil.example.cn/q/AAAAAAAAAAAAAAAAAAAAAA',
    '--pin',
    PIN,
  ]);
  assert.equal(foreign.status, 1);
  assert.match(foreign.stderr, /login_qr_foreign/);

  const session = await createLoginSession(server, portal);
  const run = await mcertPhone(['scan', session.qr_text, '--code', session.match_code], {
    MCERT_PIN: PIN,
  });
  for (const shown of [
    portal.name,
    portal.origin,
    '请点选网页上显示的数字 / tap the number the page shows: ',
    session.match_code,
    '请求来自 未知 · ',
    application.unitName,
    application.uscc,
    certificate.serial,
    '主证书 / primary',
  ]) {
    assert.ok(run.stdout.includes(shown), `shows ${shown}:\n${run.stdout}`);
  }
  assert.equal(run.status, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.match(run.stdout, /已确认登录 \/ login confirmed/);
  assert.equal((await collect(session.id)).status, 200);

  // A number the page does not show ends the login.
  const mismatched = await createLoginSession(server, portal);
  const notShown = mismatched.match_code === '00' ? '01' : '00';
  const tapped = await mcertPhone(['scan', mismatched.qr_text, '--code', notShown, '--pin', PIN]);
  assert.equal(tapped.status, 1, tapped.stderr);
  assert.match(tapped.stderr, /login_match_(wrong|invalid)/);

  const wrong = await createLoginSession(server, portal);
  const refused = await mcertPhone(['scan', wrong.qr_text, '--code', wrong.match_code, '--pin', '000000']);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /pin_incorrect/);
  assert.match(refused.stderr, /剩余 PIN 次数 \/ PIN attempts left: \d/);
  await phone.client.verifyPin(certificate.serial, PIN); // the count starts again
});
