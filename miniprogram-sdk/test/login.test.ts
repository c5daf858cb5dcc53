/**
 * QR login on the phone (docs/qr-login.md) with the real module against the in-process stand-in
 * server: which QR codes the client accepts, what it shows, that it signs only the challenge of
 * what it showed (before any PIN is used), wrong PINs and their retry, declining.
 */

import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { test } from 'node:test';

import {
  ClientErrorCode,
  ErrorCode,
  McertApiError,
  McertClient,
  McertError,
  SignerError,
  type Signer,
  initiatorText,
  memoryStorage,
  webCryptoEntropy,
} from '../src/index';
import { FakeLogins, type FakeLogin, challengeFields } from './helpers/fake-logins';
import { FakeMcert } from './helpers/fake-server';
import * as model from './helpers/sm2';
import { freshSigner } from './helpers/wasm';

const PIN = '123456';
const ID = 'AAECAwQFBgcICQoLDA0ODw';

function clientFor(baseUrl: string, signer: Signer, request = new FakeMcert().request) {
  return new McertClient({
    signer,
    request,
    storage: memoryStorage(),
    entropy: webCryptoEntropy(webcrypto),
    baseUrl,
  });
}

/** A signed-in phone with `certificates` enrolled, and a portal's login waiting to be scanned. */
async function setup(certificates = 1) {
  const fake = new FakeMcert();
  const logins = new FakeLogins(fake, 'https://mcert.test');
  const signer = await freshSigner();
  const client = clientFor('https://mcert.test/', signer, logins.request);
  const serials: string[] = [];
  for (let i = 0; i < certificates; i++) {
    serials.push((await client.enrol(fake.ticket(), PIN)).serial);
  }
  await client.login('dev:openid-1:1');
  const login = logins.create();
  return { fake, logins, signer, client, serials, login };
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

function assertNothingPending(signer: Signer): void {
  assert.throws(
    () => signer.cosignFinish(new Uint8Array(112).fill(1), model.encodePoint(model.G)),
    (error: unknown) => error instanceof SignerError && error.code === ErrorCode.NoPendingSigning,
  );
}

test('parseLoginQr accepts only {baseUrl}/q/{id} of its own server', async () => {
  const client = clientFor('https://mcert.test/', await freshSigner());
  const accepted = [
    `https://mcert.test/q/${ID}`,
    `  https://mcert.test/q/${ID}\n`,
    `HTTPS://MCERT.Test/q/${ID}`,
    `https://mcert.test:443/q/${ID}`,
    // WeChat's `q` launch option: the scanned text, URL-encoded.
    encodeURIComponent(`https://mcert.test/q/${ID}`),
  ];
  for (const text of accepted) {
    assert.deepEqual(client.parseLoginQr(text), { id: ID, text: `https://mcert.test/q/${ID}` }, text);
  }

  const foreign = [
    `https://evil.test/q/${ID}`,
    `http://mcert.test/q/${ID}`, // another scheme
    `https://mcert.test:8443/q/${ID}`, // another port
    `https://mcert.test.evil.test/q/${ID}`,
    `https://mcert.test@evil.test/q/${ID}`, // user info: the host is evil.test
    `https://evil.test#@mcert.test/q/${ID}`,
    `https://evil.test?@mcert.test/q/${ID}`,
    `wss://mcert.test/q/${ID}`,
    `weixin://mcert.test/q/${ID}`,
    encodeURIComponent(`https://evil.test/q/${ID}`),
  ];
  for (const text of foreign) {
    assert.throws(() => client.parseLoginQr(text), clientError(ClientErrorCode.LoginQrForeign), text);
  }

  const invalid = [
    '',
    'hello',
    ID,
    `/q/${ID}`,
    `mcert.test/q/${ID}`,
    `//mcert.test/q/${ID}`,
    `https://mcert.test/q/${ID.slice(1)}`, // 21 characters
    `https://mcert.test/q/${ID}A`, // 23
    `https://mcert.test/q/${ID.slice(2)}+/`, // not base64url
    `https://mcert.test/q/${ID.slice(3)}%41`,
    `https://mcert.test/q/${ID}/`,
    `https://mcert.test/q/../x`,
    `https://mcert.test/q/../q/${ID}`,
    `https://mcert.test/x/../q/${ID}`,
    `https://mcert.test/q/./${ID}`,
    `https://mcert.test/q/%2e%2e/${ID}`,
    `https://mcert.test//q/${ID}`,
    `https://mcert.test/Q/${ID}`,
    `https://mcert.test/q/${ID}?next=https://evil.test`,
    `https://mcert.test/q/${ID}#x`,
    `https://mcert.test/q/${ID}?`,
    `https://user:pw@mcert.test/q/${ID}`,
    `https://@mcert.test/q/${ID}`,
    `https://mcert.test\\q\\${ID}`,
    `https://mcert.test/q/\\${ID}`,
    `https://mcert.test/q/ ${ID}`,
    `https://mcert.test/q/${ID}\u0000`,
    `https://mcert.test:/q/${ID.slice(1)}`,
    `https:///q/${ID}`,
    `https://mcert.test:99999999/q/${ID}`,
    encodeURIComponent(`https://mcert.test/q/${ID}`) + '%',
    `https://mcert.test/q/${ID}`.repeat(60),
  ];
  for (const text of invalid) {
    assert.throws(() => client.parseLoginQr(text), clientError(ClientErrorCode.LoginQrInvalid), text);
  }
  assert.throws(
    () => client.parseLoginQr(undefined as unknown as string),
    clientError(ClientErrorCode.LoginQrInvalid),
  );
});

test('parseLoginQr with a base URL that has a port and a path', async () => {
  const client = clientFor('http://127.0.0.1:8080/mcert/', await freshSigner());
  assert.deepEqual(client.parseLoginQr(`http://127.0.0.1:8080/mcert/q/${ID}`), {
    id: ID,
    text: `http://127.0.0.1:8080/mcert/q/${ID}`,
  });
  for (const text of [`http://127.0.0.1/mcert/q/${ID}`, `http://localhost:8080/mcert/q/${ID}`]) {
    assert.throws(() => client.parseLoginQr(text), clientError(ClientErrorCode.LoginQrForeign), text);
  }
  for (const text of [
    `http://127.0.0.1:8080/q/${ID}`,
    `http://127.0.0.1:8080/other/q/${ID}`,
    `http://127.0.0.1:8080/mcert/../q/${ID}`,
  ]) {
    assert.throws(() => client.parseLoginQr(text), clientError(ClientErrorCode.LoginQrInvalid), text);
  }
});

test('a foreign or malformed QR code is refused without a request', async () => {
  const { fake, client, logins, login } = await setup();
  const before = fake.requests.length;
  const qr = logins.qr(login);
  await assert.rejects(
    client.scanLogin(qr.replace('mcert.test', 'mcert.test.evil.test')),
    clientError(ClientErrorCode.LoginQrForeign),
  );
  await assert.rejects(client.scanLogin(`${qr}/..`), clientError(ClientErrorCode.LoginQrInvalid));
  assert.equal(fake.requests.length, before);
  assert.equal(login.state, 'pending');
});

test('scan shows the portal, then the PIN confirms with the certificate on the phone', async () => {
  const { fake, client, logins, login, serials, signer } = await setup();
  const scan = await client.scanLogin(logins.qr(login));
  assert.deepEqual(scan, {
    id: login.id,
    portal: { clientId: 'portal-client-1', name: '就业彩云南', origin: 'https://portal.example.cn' },
    purpose: 'login',
    scopes: ['openid', 'employer'],
    matchChoices: login.matchChoices,
    initiator: {
      location: '云南昆明',
      address: '222.172.200.*',
      browser: 'Chrome',
      startedAt: new Date(login.initiatedAt * 1000).toISOString(),
      summary: '云南昆明 · 222.172.200.* · Chrome',
    },
    regionWarning: null,
    expiresAt: '2099-01-01T00:02:00Z',
    certificates: [
      {
        serial: serials[0],
        unitName: '云南测试科技有限公司',
        uscc: '91530100MA6K0000X1',
        role: 'primary',
        default: true,
      },
    ],
  });
  assert.deepEqual(fake.sent('/api/v1/mp/logins')[0].body, { qr: logins.qr(login) });
  assert.equal(login.state, 'scanned');

  assert.equal(
    initiatorText(scan.initiator, (login.initiatedAt + 10) * 1000),
    '请求来自 云南昆明 · 222.172.200.* · Chrome · 10 秒前',
  );
  assert.equal(
    initiatorText(scan.initiator, (login.initiatedAt + 125) * 1000),
    '请求来自 云南昆明 · 222.172.200.* · Chrome · 2 分钟前',
  );
  const { signature, result } = await client.confirmLogin(
    scan,
    serials[0].toLowerCase(),
    login.matchCode,
    PIN,
  );
  assert.deepEqual(result, { purpose: 'login', serial: serials[0] });
  assert.deepEqual(fake.sent(`/logins/${login.id}/confirm`)[0].body, {
    serial: serials[0],
    match_code: login.matchCode,
  });
  const session = fake.sessions.get(login.cosignSessionId as string);
  assert.equal(session?.stage, 'done');
  const key = fake.keys.get(serials[0]);
  assert.ok(model.verifySignature(key!.server.publicKey, session!.message, signature));
  const description = signer.describeMessage(session!.message);
  assert.equal(description.kind, 'login_challenge');

  // Confirmed: the id is forgotten, a second confirmation needs a new scan.
  await assert.rejects(client.confirmLogin(login.id, serials[0], login.matchCode, PIN), clientError('login_not_scanned'));
});

test('confirm by id after a scan; checks on the phone come before any request', async () => {
  const { fake, client, logins, login, serials } = await setup();
  const other = logins.create();
  const before = fake.requests.length;
  await assert.rejects(client.confirmLogin(other.id, serials[0], login.matchCode, PIN), clientError('login_not_scanned'));
  await assert.rejects(client.confirmLogin('not-an-id', serials[0], login.matchCode, PIN), clientError('login_qr_invalid'));
  await client.scanLogin(logins.qr(login));
  const afterScan = fake.requests.length;
  assert.equal(afterScan, before + 1);
  await assert.rejects(client.confirmLogin(login.id, serials[0], login.matchCode, '12345'), clientError('pin_format'));
  await assert.rejects(
    client.confirmLogin(login.id, '0ABCDEF012', login.matchCode, PIN),
    clientError('certificate_not_on_device'),
  );
  assert.equal(fake.requests.length, afterScan);
  const { result } = await client.confirmLogin(login.id, serials[0], login.matchCode, PIN);
  assert.equal(result.purpose, 'login');
});

test('a challenge that is not what the scan showed is refused before any PIN is used', async () => {
  type Case = [string, (login: FakeLogin, serial: string, others: string[]) => Uint8Array];
  const changed = (index: number, value: model.FieldValue) => (login: FakeLogin, serial: string) => {
    const fields = challengeFields(login, serial);
    fields[index] = value;
    return model.encodeMessage('login_challenge', fields);
  };
  const cases: Case[] = [
    ['another login session', changed(0, new Uint8Array(Buffer.from('BBECAwQFBgcICQoLDA0ODw')))],
    ['another client id', changed(1, 'other-portal')],
    ['another portal name', changed(2, '其他网站')],
    ['another origin', changed(3, 'https://evil.example.cn')],
    ['more scopes', changed(4, 'openid employer profile')],
    ['another serial (also on this phone)', (login, _serial, others) =>
      model.encodeMessage('login_challenge', challengeFields(login, others[0]))],
    ['another match code', changed(6, '00')],
    ['another place the login was started from', changed(7, '北京 · 1.2.3.* · Chrome')],
    ['another time the login was started', changed(8, { time: 1_700_000_000 })],
    ['a key check instead', (_login, serial) => model.keyCheckMessage(serial, 'verify_pin')],
    ['an enrolment instead', (_login, serial) =>
      model.keyEnrolmentMessage(serial, model.encodePoint(model.G))],
  ];
  for (const [name, challenge] of cases) {
    const { fake, client, logins, login, serials, signer } = await setup(2);
    logins.challenge = (l, serial) => challenge(l, serial, serials.filter((s) => s !== serial));
    const scan = await client.scanLogin(logins.qr(login));
    const proofs = fake.sent('/partials').length; // the enrolments'
    await assert.rejects(
      client.confirmLogin(scan, serials[0], login.matchCode, PIN),
      clientError(ClientErrorCode.UnexpectedMessage),
      name,
    );
    assert.equal(fake.sent(`/logins/${login.id}/confirm`).length, 1, name);
    assert.equal(fake.sent('/partials').length, proofs, `${name}: no PIN proof sent`);
    for (const serial of serials) assert.equal(fake.keys.get(serial)?.failures, 0, name);
    assertNothingPending(signer);
  }
});

test('number matching: a code not offered is refused on the phone, a wrong tap ends the login', async () => {
  const { fake, client, logins, login, serials } = await setup();
  const scan = await client.scanLogin(logins.qr(login));
  const proofs = fake.sent('/partials').length; // the enrolment's
  assert.equal(scan.matchChoices.length, 3);
  assert.ok(scan.matchChoices.includes(login.matchCode));
  const before = fake.requests.length;
  const notOffered = ['00', '01', '02', '03'].find((c) => !scan.matchChoices.includes(c))!;
  await assert.rejects(
    client.confirmLogin(scan, serials[0], notOffered, PIN),
    clientError(ClientErrorCode.LoginMatchInvalid),
  );
  assert.equal(fake.requests.length, before, 'refused without a request');
  const wrong = scan.matchChoices.find((c) => c !== login.matchCode)!;
  await assert.rejects(client.confirmLogin(scan, serials[0], wrong, PIN), (error: unknown) => {
    assert.ok(error instanceof McertApiError, String(error));
    assert.equal(error.code, 'login_match_wrong');
    assert.equal(error.status, 403);
    return true;
  });
  assert.equal(login.state, 'mismatched');
  assert.equal(fake.sent('/partials').length, proofs, 'no PIN proof after a wrong tap');
  // The login is over: the phone forgets it.
  await assert.rejects(
    client.confirmLogin(scan.id, serials[0], login.matchCode, PIN),
    clientError('login_not_scanned'),
  );
});

test('a wrong PIN is counted; the retry with the right one uses the same session', async () => {
  const { fake, client, logins, login, serials } = await setup();
  const scan = await client.scanLogin(logins.qr(login));
  const proofs = fake.sent('/partials').length; // the enrolment's
  await assert.rejects(client.confirmLogin(scan, serials[0], login.matchCode, '000000'), (error: unknown) => {
    assert.ok(error instanceof McertApiError, String(error));
    assert.equal(error.code, 'pin_incorrect');
    assert.equal(error.status, 403);
    assert.equal(error.remainingAttempts, 5);
    return true;
  });
  await assert.rejects(client.confirmLogin(scan.id, serials[0], login.matchCode, '000001'), (error: unknown) =>
    error instanceof McertApiError && error.remainingAttempts === 4,
  );
  const { result } = await client.confirmLogin(scan.id, serials[0], login.matchCode, PIN);
  assert.equal(result.purpose, 'login');
  assert.equal(fake.sent(`/logins/${login.id}/confirm`).length, 1);
  assert.equal(fake.sent('/partials').length, proofs + 3);
  assert.equal(fake.keys.get(serials[0])?.failures, 0);
});

test('deny declines the scanned login; a used or foreign-state login is the server\'s 409', async () => {
  const { fake, client, logins, login, serials } = await setup();
  const scan = await client.scanLogin(logins.qr(login));
  await client.denyLogin(scan);
  assert.equal(login.state, 'denied');
  assert.equal(fake.sent(`/logins/${login.id}/deny`).length, 1);
  await assert.rejects(client.confirmLogin(scan.id, serials[0], login.matchCode, PIN), clientError('login_not_scanned'));
  await assert.rejects(client.denyLogin(scan.id), (error: unknown) => {
    assert.ok(error instanceof McertApiError);
    assert.equal(error.code, 'login_state');
    assert.equal(error.status, 409);
    return true;
  });
  // Scanning the same QR again: used.
  await assert.rejects(client.scanLogin(logins.qr(login)), (error: unknown) =>
    error instanceof McertApiError && error.code === 'login_already_scanned',
  );
  const before = fake.requests.length;
  await assert.rejects(client.denyLogin('short'), clientError(ClientErrorCode.LoginQrInvalid));
  await assert.rejects(
    client.denyLogin(`${ID.slice(0, 21)}/`),
    clientError(ClientErrorCode.LoginQrInvalid),
  );
  assert.equal(fake.requests.length, before);
});

test('an answer to the scan that does not match the QR code is refused', async () => {
  const { fake, client, logins, login } = await setup();
  fake.tamper = (request, response) =>
    request.url.endsWith('/api/v1/mp/logins')
      ? { ...response, body: { ...(response.body as object), id: ID } }
      : response;
  await assert.rejects(client.scanLogin(logins.qr(login)), clientError(ClientErrorCode.InvalidResponse));
  fake.tamper = (request, response) =>
    request.url.endsWith('/api/v1/mp/logins')
      ? { ...response, body: { ...(response.body as object), purpose: 'seal' } }
      : response;
  await assert.rejects(
    client.scanLogin(logins.qr(logins.create())),
    clientError(ClientErrorCode.InvalidResponse),
  );
});

test('scanning needs a mini-program session', async () => {
  const fake = new FakeMcert();
  const logins = new FakeLogins(fake, 'https://mcert.test');
  const client = clientFor('https://mcert.test', await freshSigner(), logins.request);
  await assert.rejects(client.scanLogin(logins.qr(logins.create())), clientError('mp_not_signed_in'));
  assert.equal(fake.requests.length, 0);
});
