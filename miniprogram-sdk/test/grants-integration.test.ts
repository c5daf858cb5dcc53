/**
 * 事项授权 on the phone against the real `mcert-server` (development mode): one agent downloads
 * an employer's primary certificate and a second agent, from a second approved application of
 * the same employer, a sub-certificate; the primary holder grants the sub items with the SDK and with
 * `mcert-phone grants`, each change co-signed with the primary's key (the signature verifies
 * with OpenSSL under the primary's certificate), and the sub's next login carries exactly
 * those items.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { CertificateInfo } from '../src/index';
import { type Application, approvedApplication } from './helpers/applications';
import { type Run, runCliAs } from './helpers/cli';
import { apiError, boundAgent, readyEmployer } from './helpers/mp-account';
import type { TestPhone } from './helpers/phone';
import {
  type Portal,
  addPortal,
  createLoginSession,
  portalCall,
  verifiedIdToken,
} from './helpers/portal';
import { type RunningServer, advanceClock, startServer } from './helpers/server';
import { opensslVerifies, smCryptoVerifies } from './helpers/verify';

const PIN = '135790';
const SUB_PIN = '246802';

interface Holder {
  /** The primary holder's phone. */
  phone: TestPhone;
  openid: string;
  primary: CertificateInfo;
  /** The second agent's phone, with the sub-certificate. */
  subPhone: TestPhone;
  subOpenid: string;
  sub: CertificateInfo;
  application: Application;
}

let server: RunningServer;
let portal: Portal;
let holder: Promise<Holder>;
let workDir: string;

before(async () => {
  server = await startServer({
    env: { MCERT_SYNC_INTERVAL_SECS: '1', MCERT_AGREEMENT_COUNTDOWN_SECS: '1' },
  });
  portal = addPortal(
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
      'unemployment_insurance=physical',
    ],
  );
  workDir = mkdtempSync(join(tmpdir(), 'mcert-grants-test-'));
  holder = primaryAndSub();
  await holder;
});

after(async () => {
  await server?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

function openid(): string {
  return `openid-${Math.random().toString(36).slice(2)}`;
}

/**
 * The agent downloads the employer's first certificate (the primary); a second agent, of a
 * second application of the same employer, downloads theirs (a sub-certificate).
 */
async function primaryAndSub(): Promise<Holder> {
  const application = await approvedApplication(server);
  const primaryOpenid = openid();
  const phone = await boundAgent(server, application, primaryOpenid);
  await readyEmployer(phone, application.id);
  const primary = await phone.client.download(application.id, PIN);
  const second = await approvedApplication(server, application);
  const subOpenid = openid();
  const subPhone = await boundAgent(server, second, subOpenid);
  await readyEmployer(subPhone, second.id);
  const sub = await subPhone.client.download(second.id, SUB_PIN);
  return { phone, openid: primaryOpenid, primary, subPhone, subOpenid, sub, application };
}

/** Logs in to the portal with the primary or the sub; the ID token's verified claims. */
async function loginClaims(which: 'primary' | 'sub'): Promise<{ [claim: string]: unknown }> {
  const held = await holder;
  const [phone, serial, pin] =
    which === 'primary'
      ? [held.phone, held.primary.serial, PIN]
      : [held.subPhone, held.sub.serial, SUB_PIN];
  const session = await createLoginSession(server, portal);
  const scan = await phone.client.scanLogin(session.qr_text);
  await phone.client.confirmLogin(scan, serial, session.match_code, pin);
  const collected = await portalCall(server, portal, 'POST', `/api/v1/login-sessions/${session.id}/result`);
  assert.equal(collected.status, 200, JSON.stringify(collected.body));
  return verifiedIdToken(server, collected.body.id_token as string);
}

test('the primary grants a sub items on the phone, signed with its key, and the sub logs in with exactly those', async () => {
  const { phone, primary, sub, application } = await holder;
  const overview = await phone.client.grants(primary.serial);
  assert.equal(overview.serial, primary.serial);
  assert.equal(overview.employerName, application.unitName);
  const catalogue = overview.portals.find((p) => p.clientId === portal.clientId);
  assert.ok(catalogue, 'the portal is on the grant screen');
  assert.deepEqual(
    catalogue.items.map((item) => [item.code, item.name, item.lockedFor]),
    [
      ['unit_info', '单位基础信息维护', null],
      ['unemployment_insurance', '失业保险', 'physical'],
      ['training', '技能培训和创业培训服务', null],
    ],
  );
  assert.equal(overview.subCertificates.length, 1);
  const [listed] = overview.subCertificates;
  assert.equal(listed.serial, sub.serial);
  assert.equal(listed.mediaTypeZh, '手机CA');
  assert.match(listed.holderIdMasked, /^\d{4}\*{5}[0-9X]{4}$/);
  const before = listed.grants.find((g) => g.clientId === portal.clientId);
  assert.deepEqual(before, { clientId: portal.clientId, items: [], grants: [], grantId: 'v0' });

  const saved = await phone.client.changeGrants(
    primary.serial,
    { grantee: sub.serial, clientId: portal.clientId, grantId: 'v0', items: ['training', 'unit_info'] },
    PIN,
  );
  assert.deepEqual(saved.items, ['unit_info', 'training'], 'in catalogue order');
  assert.equal(saved.grantId, 'v1');
  // What the primary's key signed names the employer, the grantee, the portal and the set.
  const described = phone.signer.describeMessage(saved.message);
  assert.equal(described.kind, 'grant_change');
  if (described.kind === 'grant_change') {
    assert.equal(described.fields.serial, primary.serial);
    assert.equal(described.fields.uscc, application.uscc);
    assert.equal(described.fields.employer_name, application.unitName);
    assert.equal(described.fields.grantee_serial, sub.serial);
    assert.equal(described.fields.client_id, portal.clientId);
    assert.equal(described.fields.grant_id, 'v0');
    assert.deepEqual(
      described.fields.items.map((item) => [item.code, item.name, item.starts_at, item.ends_at]),
      [
        ['unit_info', '单位基础信息维护', null, null],
        ['training', '技能培训和创业培训服务', null, null],
      ],
    );
  }
  assert.ok(opensslVerifies(primary.certificatePem, saved.message, saved.signature), 'OpenSSL');
  assert.ok(smCryptoVerifies(primary.publicKey, saved.message, saved.signature), 'sm-crypto');
  assert.ok(!opensslVerifies(sub.certificatePem, saved.message, saved.signature), 'not the sub');

  const claims = await loginClaims('sub');
  assert.equal(claims.certificate_role, 'sub');
  assert.deepEqual(claims.items, ['unit_info', 'training']);
  assert.equal(claims.grant_id, 'v1');
  const primaryClaims = await loginClaims('primary');
  assert.deepEqual(primaryClaims.items, ['unit_info', 'unemployment_insurance', 'training']);
});

test('a stale screen, a sub-certificate and a wrong PIN change nothing', async () => {
  const { phone, primary, sub, subPhone } = await holder;
  const current = async () =>
    (await phone.client.grants(primary.serial)).subCertificates[0].grants.find(
      (g) => g.clientId === portal.clientId,
    );
  const before = await current();
  assert.ok(before);
  const attemptsBefore = (await phone.client.keyStatus(primary.serial)).remainingAttempts;
  const change = { grantee: sub.serial, clientId: portal.clientId, items: ['unit_info'] };

  // A screen from before the last change: refused before anything is signed.
  await assert.rejects(
    phone.client.changeGrants(primary.serial, { ...change, grantId: 'v0' }, PIN),
    apiError('grant_stale', 409),
  );
  // A sub-certificate sees no grant screen and grants nothing; nor does anyone for a
  // certificate that is not theirs.
  await assert.rejects(subPhone.client.grants(sub.serial), apiError('grant_not_primary', 403));
  await assert.rejects(
    subPhone.client.changeGrants(sub.serial, { ...change, grantId: before.grantId }, SUB_PIN),
    apiError('grant_not_primary', 403),
  );
  await assert.rejects(subPhone.client.grants(primary.serial), apiError('certificate_not_held', 403));
  await assert.rejects(
    phone.client.changeGrants(
      primary.serial,
      { ...change, grantId: before.grantId, items: ['no_such_item'] },
      PIN,
    ),
    apiError('grant_item_unknown', 400),
  );
  assert.equal((await phone.client.keyStatus(primary.serial)).remainingAttempts, attemptsBefore);

  // A wrong PIN is counted and saves nothing; the right one afterwards does.
  await assert.rejects(
    phone.client.changeGrants(primary.serial, { ...change, grantId: before.grantId }, '000000'),
    apiError('pin_incorrect', 403),
  );
  assert.deepEqual(await current(), before);
  const saved = await phone.client.changeGrants(
    primary.serial,
    { ...change, grantId: before.grantId },
    PIN,
  );
  assert.deepEqual(saved.items, ['unit_info']);
  assert.equal((await phone.client.keyStatus(primary.serial)).remainingAttempts, 6);
});

/** `mcert-phone` as the primary's (or the sub's) phone. */
async function mcertPhone(args: string[], which: 'primary' | 'sub' = 'primary'): Promise<Run> {
  const held = await holder;
  return which === 'primary'
    ? runCliAs(held.phone, held.openid, server, workDir, args)
    : runCliAs(held.subPhone, held.subOpenid, server, workDir, args);
}

test('mcert-phone grants list, show and set: the sub gets what was set, withdrawn items go', async () => {
  const { primary, sub } = await holder;
  const listed = await mcertPhone(['grants', 'list']);
  assert.equal(listed.status, 0, `stdout: ${listed.stdout}\nstderr: ${listed.stderr}`);
  assert.ok(listed.stdout.includes(`主证书 / primary ${primary.serial}`), listed.stdout);
  assert.ok(listed.stdout.includes(`1. ${sub.serial}  手机CA`), listed.stdout);
  assert.ok(listed.stdout.includes('单位基础信息维护 (unit_info)'), listed.stdout);

  const set = await mcertPhone([
    'grants',
    'set',
    sub.serial,
    '--portal',
    portal.clientId,
    '--item',
    'training@2099-01-01T00:00:00+08:00',
    '--item',
    'unit_info',
    '--pin',
    PIN,
  ]);
  assert.equal(set.status, 0, `stdout: ${set.stdout}\nstderr: ${set.stderr}`);
  assert.ok(set.stdout.includes('原事项 / before: 单位基础信息维护 (unit_info)'), set.stdout);
  assert.match(set.stdout, /已保存授权 \/ grants saved \(v\d+\): 单位基础信息维护 \(unit_info\)、技能培训和创业培训服务 \(training\)/);
  assert.match(set.stdout, /主证书签名 \/ signed by the primary: [A-Za-z0-9+/=]{40,}/);

  const shown = await mcertPhone(['grants', 'show', sub.serial]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.ok(shown.stdout.includes('[x] 单位基础信息维护 (unit_info)'), shown.stdout);
  assert.ok(shown.stdout.includes('[ ] 失业保险 (unemployment_insurance)'), shown.stdout);
  assert.ok(
    shown.stdout.includes('[x] 技能培训和创业培训服务 (training)  至 / until 2098-12-31T16:00:00Z'),
    shown.stdout,
  );
  assert.deepEqual((await loginClaims('sub')).items, ['unit_info', 'training']);

  // No --item withdraws everything (a mobile sub has no locked default here).
  const withdrawn = await mcertPhone(['grants', 'set', sub.serial, '--portal', portal.clientId, '--pin', PIN]);
  assert.equal(withdrawn.status, 0, withdrawn.stderr);
  assert.match(withdrawn.stdout, /已保存授权 \/ grants saved \(v\d+\): （无 \/ none）/);
  assert.deepEqual((await loginClaims('sub')).items, []);

  // The sub-certificate's holder cannot grant.
  const refused = await mcertPhone(['grants', 'list', '--primary', sub.serial], 'sub');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /grant_not_primary/);
  assert.match(refused.stderr, /子证书看不到这个功能/);
});

test('the signature log: the primary key signed its download, logins and grants; a wrong PIN shows', async () => {
  const { phone, primary } = await holder;
  const history = await phone.client.signatureHistory(primary.serial);
  const seen = history.map((entry) => `${entry.outcome}:${entry.purpose}`);
  assert.equal(seen.at(-1), 'signed:key_enrolment', 'the download came first');
  for (const expected of ['signed:login', 'signed:grant_change', 'pin_failed:grant_change']) {
    assert.ok(seen.includes(expected), `${expected} in ${seen.join(', ')}`);
  }
  const grant = history.find((entry) => entry.purpose === 'grant_change' && entry.outcome === 'signed');
  assert.equal(grant?.portal, portal.clientId);
  assert.match(grant?.messageSm3 ?? '', /^[0-9a-f]{64}$/);

  const run = await mcertPhone(['history', '--serial', primary.serial]);
  assert.equal(run.status, 0, run.stderr);
  for (const shown of ['已签名 / signed  下载证书', '已签名 / signed  扫码登录', '已签名 / signed  事项授权', 'PIN 错误 / wrong PIN  事项授权']) {
    assert.ok(run.stdout.includes(shown), `shows ${shown}:\n${run.stdout}`);
  }
});

test('the holder revokes in the mini-program: mcert-phone revoke; the sub logs in and is granted no more', async () => {
  const { phone, primary, subPhone, sub } = await holder;
  const bad = await mcertPhone(['revoke', '--cause', 'bored', '--pin', SUB_PIN], 'sub');
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stderr, /revocation_cause_unknown/);
  const run = await mcertPhone(['revoke', '--cause', 'no_longer_needed', '--pin', SUB_PIN], 'sub');
  assert.equal(run.status, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.ok(
    run.stdout.includes(`证书已废除 / certificate revoked: ${sub.serial}（不再使用, cessationOfOperation）`),
    run.stdout,
  );
  await assert.rejects(loginClaims('sub'), apiError('no_certificate', 404));
  assert.deepEqual((await phone.client.grants(primary.serial)).subCertificates, []);
  await assert.rejects(
    subPhone.client.revokeCertificate(sub.serial, 'no_longer_needed', SUB_PIN),
    apiError('certificate_already_revoked', 409),
  );
  const history = await subPhone.client.signatureHistory(sub.serial);
  assert.equal(`${history[0].outcome}:${history[0].purpose}`, 'signed:revocation_request');
});

test('the primary holder renews in the month before expiry: mcert-phone renew, the same key under a new serial', async () => {
  const { phone, primary, openid: holderOpenid } = await holder;
  await assert.rejects(phone.client.renewCertificate(primary.serial, PIN), apiError('renewal_too_early', 409));

  // The last test of the file: the server's clock moves to 20 days before expiry.
  await advanceClock(server.baseUrl, 345 * 86_400);
  const run = await mcertPhone(['renew', '--serial', primary.serial, '--pin', PIN, '--json']);
  assert.equal(run.status, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
  const renewal = JSON.parse(run.stdout);
  assert.equal(renewal.previousSerial, primary.serial);
  assert.notEqual(renewal.serial, primary.serial);
  assert.equal(renewal.feeYuan, null, 'the first certificate renews free');
  assert.ok(new Date(renewal.notAfter).getTime() > Date.now() + 365 * 86_400_000, renewal.notAfter);
  assert.equal(publicKeyOf(renewal.certificatePem), publicKeyOf(primary.certificatePem), 'the same key');

  // The old certificate signs nothing more; the key's history shows the renewal. (The phone's
  // session ended with the clock: it signs in again, as the mini-program does.)
  await phone.client.login(`dev:${holderOpenid}:renewed`);
  await assert.rejects(phone.client.renewCertificate(primary.serial, PIN), apiError('renewal_not_in_force', 409));
  const history = await phone.client.signatureHistory(primary.serial);
  assert.equal(`${history[0].outcome}:${history[0].purpose}`, 'signed:renewal_request');
});

/** The certificate's public key as OpenSSL prints it. */
function publicKeyOf(certificatePem: string): string {
  return execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: certificatePem }).toString();
}
