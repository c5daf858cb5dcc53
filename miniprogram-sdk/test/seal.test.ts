/**
 * Electronic seals on the phone (DESIGN.md §8) with the real module against the in-process
 * stand-in server: what a seal request's scan shows, that the phone signs only the DER(`TBS_Sign`)
 * of what it showed and, for a PDF, only the signed attributes of that seal's document (before
 * any PIN is used), declining, and the employer's seal list.
 */

import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { test } from 'node:test';

import {
  ClientErrorCode,
  McertApiError,
  McertClient,
  McertError,
  memoryStorage,
  webCryptoEntropy,
} from '../src/index';
import { challengeFields } from './helpers/fake-logins';
import { FakeSeals, type FakeSealRequest, certificateDer } from './helpers/fake-seals';
import { FakeMcert } from './helpers/fake-server';
import * as ses from './helpers/ses';
import * as model from './helpers/sm2';
import { freshSigner, toHex } from './helpers/wasm';

const PIN = '123456';

/** A signed-in phone with `certificates` enrolled, and a portal's seal request waiting. */
async function setup(kind: 'pdf' | 'hash', certificates = 1) {
  const fake = new FakeMcert();
  const seals = new FakeSeals(fake, 'https://mcert.test');
  const signer = await freshSigner();
  const client = new McertClient({
    signer,
    request: seals.request,
    storage: memoryStorage(),
    entropy: webCryptoEntropy(webcrypto),
    baseUrl: 'https://mcert.test',
  });
  const serials: string[] = [];
  for (let i = 0; i < certificates; i++) {
    serials.push((await client.enrol(fake.ticket(), PIN)).serial);
  }
  await client.login('dev:openid-1:1');
  const request = seals.create(kind);
  return { fake, seals, signer, client, serials, request };
}

function clientError(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof McertError, `expected McertError ${code}, got ${String(error)}`);
    assert.ok(!(error instanceof McertApiError), `a client error, not the server's: ${code}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, /[\u4e00-\u9fff]/);
    return true;
  };
}

async function scanSeal(client: McertClient, seals: FakeSeals, request: FakeSealRequest) {
  const scan = await client.scanLogin(seals.qr(request));
  assert.equal(scan.purpose, 'seal');
  if (scan.purpose !== 'seal') throw new Error('unreachable');
  return scan;
}

test('a hash seal: the scan shows document, seal and employer; the PIN signs its TBS_Sign', async () => {
  const { fake, seals, client, serials, request } = await setup('hash');
  const scan = await scanSeal(client, seals, request);
  assert.deepEqual(scan.document, {
    title: '劳动合同 (2025) 第 1 号.pdf',
    sm3: toHex(request.documentSm3),
    kind: 'hash',
    size: null,
  });
  assert.deepEqual(scan.seal, {
    id: '53010000000001',
    name: '云南测试科技有限公司',
    kind: 'generated',
    picturePng: request.picture,
    widthMm: 40,
    heightMm: 40,
  });
  assert.deepEqual(scan.employer, { uscc: '91530100MA6K0000X1', name: '云南测试科技有限公司' });
  assert.deepEqual(scan.scopes, []);
  assert.equal(scan.portal.name, '就业彩云南');

  const outcome = await client.confirmSeal(scan, serials[0], PIN, request.login.matchCode);
  assert.deepEqual(outcome.result, { purpose: 'seal', serial: serials[0] });
  assert.equal(outcome.pdf, null);
  assert.deepEqual(fake.sent(`/logins/${request.login.id}/confirm`)[0].body, {
    serial: serials[0],
    match_code: request.login.matchCode,
  });
  const session = fake.sessions.get(request.login.cosignSessionId as string);
  assert.equal(session?.stage, 'done');
  const key = fake.keys.get(serials[0]);
  assert.ok(model.verifySignature(key!.server.publicKey, session!.message, outcome.signature));
  assert.deepEqual(session!.message, seals.tbs(request, serials[0]));
  // Confirmed: forgotten.
  await assert.rejects(
    client.confirmSeal(scan.id, serials[0], PIN, request.login.matchCode),
    clientError(ClientErrorCode.LoginNotScanned),
  );
});

test('a PDF seal: two rounds with one PIN, the second over the stamped revision\'s digest', async () => {
  const { fake, seals, client, serials, request } = await setup('pdf');
  const scan = await scanSeal(client, seals, request);
  assert.equal(scan.document.kind, 'pdf');
  assert.equal(scan.document.size, 12345);
  const proofs = fake.sent('/partials').length;
  const outcome = await client.confirmSeal(scan.id, serials[0], PIN, request.login.matchCode);
  assert.equal(outcome.result.purpose, 'seal');
  assert.ok(outcome.pdf !== null);
  assert.deepEqual(outcome.pdf.result, { purpose: 'seal_pdf', serial: serials[0] });
  assert.equal(fake.sent('/partials').length, proofs + 2);
  const key = fake.keys.get(serials[0])!;
  const [pdfSession] = [...seals.pdfSessions].map((id) => fake.sessions.get(id)!);
  assert.equal(pdfSession.stage, 'done');
  assert.deepEqual(pdfSession.message, ses.pdfSignedAttributes(request.stampedSm3));
  assert.ok(model.verifySignature(key.server.publicKey, pdfSession.message, outcome.pdf.signature));
});

test('a seal that is not what the scan showed is refused before any PIN is used', async () => {
  type Case = [string, 'pdf' | 'hash', (seals: FakeSeals, r: FakeSealRequest, serial: string, others: string[]) => Uint8Array];
  const changed =
    (change: (fields: ses.TbsSign) => void) =>
    (seals: FakeSeals, request: FakeSealRequest, serial: string) => {
      const fields = seals.tbsFields(request, serial);
      change(fields);
      return ses.tbsSign(fields);
    };
  const cases: Case[] = [
    ['another seal request', 'hash', changed((f) => (f.sessionId = 'BBECAwQFBgcICQoLDA0ODw'))],
    ['another title', 'hash', changed((f) => (f.title = '借款合同.pdf'))],
    ['another document hash', 'hash', changed((f) => (f.dataHash = new Uint8Array(32).fill(1)))],
    ['another seal id', 'pdf', changed((f) => (f.sealId = '53010000000002'))],
    ['another seal name', 'pdf', changed((f) => (f.sealName = '其他公司'))],
    ['another picture', 'pdf', changed((f) => (f.picture = new Uint8Array([1, 2, 3])))],
    ['this certificate not listed', 'pdf', (seals, request, serial, others) => {
      const fields = seals.tbsFields(request, serial);
      fields.certificates = [certificateDer((seals as unknown as { fake: FakeMcert }).fake, others[0])];
      return ses.tbsSign(fields);
    }],
    ['a login challenge instead', 'hash', (_seals, request, serial) =>
      model.encodeMessage('login_challenge', challengeFields(request.login, serial))],
    ['PDF attributes first', 'pdf', (_seals, request) => ses.pdfSignedAttributes(request.stampedSm3)],
  ];
  for (const [name, kind, tbs] of cases) {
    const { fake, seals, client, serials, request, signer } = await setup(kind, 2);
    seals.tbs = (r, serial) => tbs(seals, r, serial, serials.filter((s) => s !== serial));
    const scan = await scanSeal(client, seals, request);
    const proofs = fake.sent('/partials').length;
    await assert.rejects(
      client.confirmSeal(scan, serials[0], PIN, request.login.matchCode),
      clientError(ClientErrorCode.SealMessageMismatch),
      name,
    );
    assert.equal(fake.sent('/partials').length, proofs, `${name}: no PIN proof sent`);
    for (const serial of serials) assert.equal(fake.keys.get(serial)?.failures, 0, name);
    assert.throws(() => signer.cosignFinish(new Uint8Array(112), model.encodePoint(model.G)), name);
  }
});

test('a PDF seal signs any stamped digest, but its second round only that digest', async () => {
  for (const [name, attributes] of [
    ['another digest', (r: FakeSealRequest) => ses.pdfSignedAttributes(r.documentSm3)],
    ['a seal again', (r: FakeSealRequest) =>
      ses.tbsSign({ sealId: r.sealId, sealName: r.sealName, certificates: [], picture: r.picture, widthMm: 40, heightMm: 40, dataHash: r.stampedSm3, sessionId: r.login.id, title: r.title })],
  ] as const) {
    const { fake, seals, client, serials, request } = await setup('pdf');
    seals.pdfAttributes = attributes;
    const scan = await scanSeal(client, seals, request);
    const proofs = fake.sent('/partials').length;
    await assert.rejects(
      client.confirmSeal(scan, serials[0], PIN, request.login.matchCode),
      clientError(ClientErrorCode.SealMessageMismatch),
      name,
    );
    assert.equal(fake.sent('/partials').length, proofs + 1, `${name}: only the seal was signed`);
  }
});

test('a wrong PIN is counted; the retry reuses the session; a wrong tap ends the seal', async () => {
  const { fake, seals, client, serials, request } = await setup('hash');
  const scan = await scanSeal(client, seals, request);
  await assert.rejects(
    client.confirmSeal(scan, serials[0], '000000', request.login.matchCode),
    (error: unknown) => error instanceof McertApiError && error.code === 'pin_incorrect',
  );
  const { result } = await client.confirmSeal(scan.id, serials[0], PIN, request.login.matchCode);
  assert.equal(result.purpose, 'seal');
  assert.equal(fake.sent(`/logins/${request.login.id}/confirm`).length, 1);

  const other = seals.create('hash');
  const otherScan = await scanSeal(client, seals, other);
  await assert.rejects(
    client.confirmSeal(otherScan, serials[0], PIN, '1'),
    clientError(ClientErrorCode.LoginMatchInvalid),
  );
  await assert.rejects(client.confirmSeal(otherScan, serials[0], '12345', other.login.matchCode), clientError('pin_format'));
  const wrong = otherScan.matchChoices.find((c) => c !== other.login.matchCode)!;
  await assert.rejects(
    client.confirmSeal(otherScan, serials[0], PIN, wrong),
    (error: unknown) => error instanceof McertApiError && error.code === 'login_match_wrong',
  );
  assert.equal(other.login.state, 'mismatched');
});

test('deny declines a seal; a seal is not confirmed as a login, nor a login as a seal', async () => {
  const { fake, seals, client, serials, request } = await setup('pdf');
  const scan = await scanSeal(client, seals, request);
  await assert.rejects(
    client.confirmLogin(scan, serials[0], request.login.matchCode, PIN),
    clientError(ClientErrorCode.ScanPurposeMismatch),
  );
  const login = seals.logins.create();
  const loginScan = await client.scanLogin(seals.logins.qr(login));
  assert.equal(loginScan.purpose, 'login');
  await assert.rejects(
    client.confirmSeal(loginScan.id, serials[0], PIN, login.matchCode),
    clientError(ClientErrorCode.ScanPurposeMismatch),
  );
  await client.denyLogin(scan);
  assert.equal(request.login.state, 'denied');
  assert.equal(fake.sent(`/logins/${request.login.id}/deny`).length, 1);
  assert.equal(fake.sent('/confirm').length, 0);
});

test('a seal scan without its document or seal is refused', async () => {
  const { fake, seals, client, request } = await setup('hash');
  fake.tamper = (r, response) => {
    if (!r.url.endsWith('/api/v1/mp/logins')) return response;
    const body = { ...(response.body as { [key: string]: unknown }) };
    delete body.document;
    return { ...response, body };
  };
  await assert.rejects(client.scanLogin(seals.qr(request)), clientError(ClientErrorCode.InvalidResponse));
});

test('seals() lists the employer\'s seals', async () => {
  const { seals, client } = await setup('hash');
  seals.seals = [
    {
      id: 1,
      es_id: '91530100MA6K0000X1000000010002',
      uscc: '91530100MA6K0000X1',
      employer_name: '云南测试科技有限公司',
      kind: 'generated',
      status: 'made',
      status_label: '已制作',
      failure_reason: null,
      width_mm: 40,
      height_mm: 40,
      version: 2,
      certificates: ['0a1b'],
      valid_start: '2025-01-01T00:00:00Z',
      valid_end: '2026-01-01T00:00:00Z',
      picture_png: 'iVBORw==',
    },
    {
      id: 2,
      es_id: null,
      uscc: '91530100MA6K0000X2',
      employer_name: '另一公司',
      kind: 'traditional',
      status: 'failed',
      status_label: '制作失败',
      failure_reason: '申请表上没有找到红色印章',
      width_mm: 42,
      height_mm: 42,
      version: 0,
      certificates: [],
      valid_start: null,
      valid_end: null,
      picture_png: null,
    },
  ];
  const list = await client.seals();
  assert.equal(list.length, 2);
  assert.deepEqual(list[0].picturePng, new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
  assert.deepEqual(list[0].certificates, ['0A1B']);
  assert.equal(list[0].statusLabel, '已制作');
  assert.equal(list[0].esId, '91530100MA6K0000X1000000010002');
  assert.equal(list[1].esId, null);
  assert.equal(list[1].status, 'failed');
  assert.equal(list[1].failureReason, '申请表上没有找到红色印章');
  assert.equal(list[1].picturePng, null);
  seals.seals = [{ ...(seals.seals[0] as object), status: 'lost' }];
  await assert.rejects(client.seals(), clientError(ClientErrorCode.InvalidResponse));
});
