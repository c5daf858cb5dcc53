/**
 * McertClient with the real module against an in-process stand-in server that misbehaves on
 * purpose: what the phone refuses to sign, how errors reach the caller, what is stored.
 */

import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { test } from 'node:test';

import {
  ClientErrorCode,
  ErrorCode,
  type HttpRequest,
  type HttpResponse,
  McertApiError,
  McertClient,
  type McertClientOptions,
  McertError,
  McertNetworkError,
  ServerErrorCode,
  SignerError,
  type Signer,
  base64Decode,
  base64Encode,
  memoryStorage,
  webCryptoEntropy,
} from '../src/index';
import { FakeMcert } from './helpers/fake-server';
import * as model from './helpers/sm2';
import { freshSigner } from './helpers/wasm';

const PIN = '123456';

async function setup(options: Partial<McertClientOptions> = {}) {
  const fake = new FakeMcert();
  const signer = await freshSigner();
  const storage = memoryStorage();
  const client = new McertClient({
    signer,
    request: fake.request,
    storage,
    entropy: webCryptoEntropy(webcrypto),
    baseUrl: 'https://mcert.test/',
    ...options,
  });
  return { fake, signer, storage, client };
}

function clientError(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof McertError, `expected McertError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, /[\u4e00-\u9fff]/);
    assert.equal(error.userMessage, error.message);
    return true;
  };
}

/** Rewrites the JSON body of answers to requests whose URL ends with `suffix`. */
function rewrite(suffix: string, change: (body: { [key: string]: unknown }) => unknown) {
  return (request: HttpRequest, response: HttpResponse): HttpResponse =>
    request.url.endsWith(suffix)
      ? { status: response.status, body: change({ ...(response.body as object) }) }
      : response;
}

function assertNothingPending(signer: Signer): void {
  assert.throws(
    () => signer.cosignFinish(new Uint8Array(112).fill(1), model.encodePoint(model.G)),
    (error: unknown) => error instanceof SignerError && error.code === ErrorCode.NoPendingSigning,
  );
}

test('the full flow over the stand-in: enrol, verify, change PIN, status, list', async () => {
  const { fake, client, storage } = await setup({ storagePrefix: 'app:' });
  const certificate = await client.enrol(fake.ticket(), PIN);
  assert.ok(
    fake.requests.every((r) => r.url.startsWith('https://mcert.test/api/v1/')),
    'base URL without a double slash',
  );
  assert.deepEqual(Object.keys(storage.snapshot()).sort(), [
    `app:certificate:${certificate.serial}`,
    'app:certificates',
  ]);
  await client.verifyPin(certificate.serial, PIN);
  await client.changePin(certificate.serial, PIN, '246810');
  await client.verifyPin(certificate.serial, '246810');
  assert.deepEqual(await client.keyStatus(certificate.serial), {
    serial: certificate.serial,
    status: 'active',
    locked: false,
    remainingAttempts: 6,
  });
  const second = await client.enrol(fake.ticket(), PIN);
  assert.deepEqual(
    (await client.certificates()).map((c) => c.serial),
    [certificate.serial, second.serial],
  );
  // Serials are found whatever their spelling.
  await client.verifyPin(certificate.serial.toLowerCase(), '246810');
  await client.verifyPin(`0x${certificate.serial.match(/../g)?.join(':')}`, '246810');
  // Key-check requests carry the device token; co-signing steps need none.
  assert.ok(
    fake
      .sent('/key-checks')
      .every((r) => /^Bearer [0-9a-f]{32}$/.test(r.headers.Authorization ?? '')),
  );
  assert.ok(fake.sent('/partials').every((r) => r.headers.Authorization === undefined));
});

test('one module instance runs one co-signing round at a time', async () => {
  const { fake, client } = await setup();
  const a = await client.enrol(fake.ticket(), PIN);
  const b = await client.enrol(fake.ticket(), '111111');
  fake.partialsDelay = 30;
  // Without queuing, the second begin would replace the first round while its partials are
  // on the way, and the first finish would fail.
  await Promise.all([
    client.verifyPin(a.serial, PIN),
    client.verifyPin(b.serial, '111111'),
    client.verifyPin(a.serial, PIN),
  ]);
  // A failed round does not block the queue.
  const results = await Promise.allSettled([
    client.verifyPin(a.serial, '000000'),
    client.verifyPin(b.serial, '111111'),
  ]);
  assert.equal(results[0].status, 'rejected');
  assert.equal(results[1].status, 'fulfilled');
});

test('the phone refuses to sign an enrolment that is not its own', async () => {
  const cases: [string, (body: { [key: string]: unknown }) => unknown, string][] = [
    [
      'another serial',
      (body) => {
        const cosign = body.cosign as { message: string };
        const message = model.keyEnrolmentMessage(
          '1234567890ABCDEF',
          base64Decode(body.public_key as string),
        );
        return { ...body, cosign: { ...cosign, message: base64Encode(message) } };
      },
      ClientErrorCode.UnexpectedMessage,
    ],
    [
      'another public key',
      (body) => ({ ...body, public_key: base64Encode(model.encodePoint(model.G)) }),
      ClientErrorCode.UnexpectedMessage,
    ],
    [
      'a key check instead',
      (body) => {
        const cosign = body.cosign as { message: string };
        return {
          ...body,
          cosign: {
            ...cosign,
            message: base64Encode(model.keyCheckMessage(body.serial as string, 'verify_pin')),
          },
        };
      },
      ClientErrorCode.UnexpectedMessage,
    ],
    [
      'no public key',
      (body) => ({ ...body, public_key: undefined }),
      ClientErrorCode.InvalidResponse,
    ],
    [
      'a short public key',
      (body) => ({ ...body, public_key: base64Encode(new Uint8Array(64)) }),
      ClientErrorCode.InvalidResponse,
    ],
    ['no session', (body) => ({ ...body, cosign: null }), ClientErrorCode.InvalidResponse],
    [
      'a serial that is not hex',
      (body) => ({ ...body, serial: 'ZZ' }),
      ClientErrorCode.SerialInvalid,
    ],
  ];
  for (const [what, change, code] of cases) {
    const { fake, client, storage, signer } = await setup();
    fake.tamper = rewrite('/api/v1/enrolments', change);
    await assert.rejects(client.enrol(fake.ticket(), PIN), clientError(code), what);
    assert.equal(fake.sent('/partials').length, 0, `${what}: no PIN proof sent`);
    assert.deepEqual(storage.snapshot(), {}, `${what}: nothing stored`);
    assertNothingPending(signer);
  }
  const message = (await setup()).signer.describeMessage(model.keyCheckMessage('AB', 'verify_pin'));
  assert.equal(message.kind, 'key_check');
});

test('a junk message from the server is refused by the module before any PIN proof', async () => {
  const { fake, client } = await setup();
  fake.tamper = rewrite('/api/v1/enrolments', (body) => ({
    ...body,
    cosign: { ...(body.cosign as object), message: base64Encode(new Uint8Array([1, 2, 3])) },
  }));
  await assert.rejects(client.enrol(fake.ticket(), PIN), (error: unknown) => {
    assert.ok(error instanceof SignerError);
    assert.equal(error.code, ErrorCode.InvalidMessage);
    return true;
  });
  assert.equal(fake.sent('/partials').length, 0);
});

test('a certificate without the enrolled key is not stored', async () => {
  const { fake, client, storage } = await setup();
  fake.tamper = rewrite('/signature', (body) => ({
    ...body,
    certificate: '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n',
  }));
  await assert.rejects(
    client.enrol(fake.ticket(), PIN),
    clientError(ClientErrorCode.InvalidResponse),
  );
  assert.deepEqual(storage.snapshot(), {});
});

test('key checks must be key_check messages for this certificate and purpose', async () => {
  for (const [what, message] of [
    ['another purpose', (serial: string) => model.keyCheckMessage(serial, 'change_pin')],
    ['another serial', () => model.keyCheckMessage('0FEDCBA987654321', 'verify_pin')],
    [
      'an enrolment',
      (serial: string) => model.keyEnrolmentMessage(serial, model.encodePoint(model.G)),
    ],
  ] as const) {
    const { fake, client } = await setup();
    const { serial } = await client.enrol(fake.ticket(), PIN);
    fake.tamper = rewrite('/key-checks', (body) => ({
      ...body,
      message: base64Encode(message(serial)),
    }));
    await assert.rejects(
      client.verifyPin(serial, PIN),
      clientError(ClientErrorCode.UnexpectedMessage),
      what,
    );
    assert.equal(fake.sent('/partials').length, 1, `${what}: only the enrolment's proof was sent`);
  }
});

test('cosign() signs only messages that name its certificate', async () => {
  const { fake, client } = await setup();
  const { serial } = await client.enrol(fake.ticket(), PIN);
  const foreign = model.keyCheckMessage('0FEDCBA987654321', 'verify_pin');
  await assert.rejects(
    client.cosign({ sessionId: 'abc', message: foreign }, serial, PIN),
    clientError(ClientErrorCode.UnexpectedMessage),
  );
  assert.equal(fake.requests.filter((r) => r.url.includes('/abc/')).length, 0);
});

test('server refusals arrive as McertApiError; a refused round leaves nothing pending', async () => {
  const { fake, client, signer } = await setup();
  const { serial } = await client.enrol(fake.ticket(), PIN);
  await assert.rejects(client.verifyPin(serial, '999999'), (error: unknown) => {
    assert.ok(error instanceof McertApiError);
    assert.equal(error.status, 403);
    assert.equal(error.code, 'pin_incorrect');
    assert.equal(error.message, 'PIN 码错误');
    assert.equal(error.remainingAttempts, 5);
    return true;
  });
  assertNothingPending(signer);
  fake.tamper = (request, response) =>
    request.url.endsWith('/key') ? { status: 502, body: '<html>Bad Gateway</html>' } : response;
  await assert.rejects(client.keyStatus(serial), (error: unknown) => {
    assert.ok(error instanceof McertApiError);
    assert.equal(error.code, 'http_502');
    assert.equal(error.status, 502);
    assert.equal(error.remainingAttempts, undefined);
    assert.match(error.message, /HTTP 502/);
    return true;
  });
  fake.tamper = rewrite('/partials', () => ({
    sealed_partials: base64Encode(new Uint8Array(111)),
  }));
  await assert.rejects(client.verifyPin(serial, PIN), clientError(ClientErrorCode.InvalidResponse));
  assertNothingPending(signer);
});

test('no answer at all is a McertNetworkError carrying the cause', async () => {
  const cause = new TypeError('fetch failed');
  const { client } = await setup({
    request: async () => {
      throw cause;
    },
  });
  await assert.rejects(client.enrol('t', PIN), (error: unknown) => {
    assert.ok(error instanceof McertNetworkError);
    assert.ok(error instanceof McertError);
    assert.equal(error.code, ClientErrorCode.Network);
    assert.equal((error as { cause?: unknown }).cause, cause);
    assert.match(error.message, /网络/);
    return true;
  });
});

test('local checks come first: PIN format, unchanged PIN, unknown or malformed serial', async () => {
  const { fake, client } = await setup();
  const { serial } = await client.enrol(fake.ticket(), PIN);
  const before = fake.requests.length;
  await assert.rejects(client.verifyPin(serial, '12345'), clientError(ClientErrorCode.PinFormat));
  await assert.rejects(
    client.cosign({ sessionId: 's', message: new Uint8Array(0) }, serial, 'abcdef'),
    clientError(ClientErrorCode.PinFormat),
  );
  await assert.rejects(
    client.changePin(serial, PIN, '12 345'),
    clientError(ClientErrorCode.PinFormat),
  );
  await assert.rejects(
    client.changePin(serial, PIN, PIN),
    clientError(ClientErrorCode.PinUnchanged),
  );
  await assert.rejects(
    client.verifyPin('0123456789ABCDEF', PIN),
    clientError(ClientErrorCode.CertificateNotOnDevice),
  );
  await assert.rejects(
    client.keyStatus('not-a-serial'),
    clientError(ClientErrorCode.SerialInvalid),
  );
  await assert.rejects(client.enrol('  ', PIN), clientError(ClientErrorCode.TicketMissing));
  assert.equal(fake.requests.length, before, 'none of these reached the server');
});

test('corrupted storage and a failing random source are reported, not crashed on', async () => {
  const { fake, client, storage } = await setup();
  const { serial } = await client.enrol(fake.ticket(), PIN);
  await storage.set(`mcert:certificate:${serial}`, '{"serial": 1}');
  await assert.rejects(
    client.verifyPin(serial, PIN),
    clientError(ClientErrorCode.StorageCorrupted),
  );
  await storage.set('mcert:certificates', 'not json');
  await assert.rejects(client.certificates(), clientError(ClientErrorCode.StorageCorrupted));

  const broken = await setup({
    entropy: async () => {
      throw new Error('getRandomValues:fail');
    },
  });
  await assert.rejects(
    broken.client.enrol(broken.fake.ticket(), PIN),
    clientError(ClientErrorCode.EntropyUnavailable),
  );
  assert.equal(broken.fake.requests.length, 0);
});

test('mini-program errors: phone_bound and no_binding_info reach the caller typed', async () => {
  const { fake, client } = await setup();
  await client.login('dev:someone');
  fake.phonesBoundElsewhere.add('13900139000');
  await assert.rejects(client.sendPhoneCode('13900139000'), (error: unknown) => {
    assert.ok(error instanceof McertApiError);
    assert.equal(error.code, ServerErrorCode.PhoneBound);
    assert.equal(error.status, 409);
    assert.match(error.message, /^手机号已被绑定/);
    return true;
  });
  await assert.rejects(client.employers(), (error: unknown) => {
    assert.ok(error instanceof McertApiError);
    assert.equal(error.code, ServerErrorCode.NoBindingInfo);
    assert.equal(error.status, 404);
    assert.match(error.message, /^未获取到绑定信息/);
    return true;
  });
  await assert.rejects(client.download(7, PIN), clientError(ServerErrorCode.NoBindingInfo));
  // The bearer is the session token.
  const signIn = fake.sent('/api/v1/mp/session')[0];
  assert.equal(signIn.headers.Authorization, undefined, 'login itself carries no bearer');
  assert.match(fake.sent('/api/v1/mp/employers')[0].headers.Authorization ?? '', /^Bearer [0-9a-f]{32}$/);
});

test('the session: none before login (nothing sent), in memory only, forgotten on 401', async () => {
  const { fake, client, storage, signer } = await setup({ storagePrefix: 'app:' });
  await assert.rejects(client.me(), clientError(ServerErrorCode.MpNotSignedIn));
  await assert.rejects(client.download(1, PIN), clientError(ServerErrorCode.MpNotSignedIn));
  await assert.rejects(client.login('  '), clientError(ClientErrorCode.LoginCodeMissing));
  assert.equal(fake.requests.length, 0);

  const session = await client.login('dev:someone');
  fake.downloadable.add(42);
  assert.equal((await client.employers())[0].applicationId, 42);
  // The attack: a copy of the phone's storage is not a session. Nothing in storage names the
  // token, and a client on the copied storage is not signed in.
  assert.ok(!JSON.stringify(storage.snapshot()).includes(session.token));
  const copied = memoryStorage();
  for (const [key, value] of Object.entries(storage.snapshot())) await copied.set(key, value);
  const thief = new McertClient({
    signer,
    request: fake.request,
    storage: copied,
    entropy: webCryptoEntropy(webcrypto),
    baseUrl: 'https://mcert.test',
    storagePrefix: 'app:',
  });
  const sent = fake.requests.length;
  await assert.rejects(thief.employers(), clientError(ServerErrorCode.MpNotSignedIn));
  assert.equal(fake.requests.length, sent, 'nothing sent without a session');

  // A restarted mini-program signs in again with wx.login, silently.
  const codes: string[] = [];
  const restarted = new McertClient({
    signer,
    request: fake.request,
    storage,
    entropy: webCryptoEntropy(webcrypto),
    baseUrl: 'https://mcert.test',
    storagePrefix: 'app:',
    wxLogin: async () => {
      codes.push(`dev:someone:${codes.length}`);
      return codes[codes.length - 1];
    },
  });
  assert.equal((await restarted.employers())[0].applicationId, 42);
  assert.equal(codes.length, 1);
  // The server forgot the session (expired): the client signs in again and sends the call once
  // more; without wx.login the session is forgotten.
  fake.mpTokens.clear();
  assert.equal((await restarted.employers())[0].applicationId, 42);
  assert.equal(codes.length, 2);
  fake.mpTokens.clear();
  await assert.rejects(client.employers(), clientError(ServerErrorCode.MpNotSignedIn));
  await assert.rejects(client.employers(), clientError(ServerErrorCode.MpNotSignedIn));
  // Logout without a session does nothing; with one, ends it on both sides.
  const before = fake.requests.length;
  await client.logout();
  assert.equal(fake.requests.length, before);
  await client.login('dev:someone');
  await client.logout();
  assert.equal(fake.mpTokens.size, 0);
});

test('download shares the enrolment path: stored as enrol stores, foreign messages refused', async () => {
  const { fake, client, storage } = await setup();
  await client.login('dev:someone');
  fake.downloadable.add(5);
  await assert.rejects(client.download(5, '12345'), clientError(ClientErrorCode.PinFormat));
  await assert.rejects(client.download(0, PIN), clientError(ClientErrorCode.ApplicationIdInvalid));
  await assert.rejects(client.download(1.5, PIN), clientError(ClientErrorCode.ApplicationIdInvalid));
  assert.equal(fake.sent('/api/v1/mp/downloads').length, 0);

  const certificate = await client.download(5, PIN);
  assert.deepEqual(fake.sent('/api/v1/mp/downloads')[0].body, {
    application_id: 5,
    p1: (fake.sent('/api/v1/mp/downloads')[0].body as { p1: string }).p1,
  });
  // Downloading again sends the real-name steps again when given.
  await client.download(5, PIN, { verifyResult: 'face-2', phone: '13900139000', code: '123456' });
  assert.deepEqual(
    (fake.sent('/api/v1/mp/downloads')[1].body as { reverification: unknown }).reverification,
    { verify_result: 'face-2', phone: '13900139000', code: '123456' },
  );
  assert.equal((await client.certificates()).length, 2);
  const record = JSON.parse(storage.snapshot()[`mcert:certificate:${certificate.serial}`]);
  assert.deepEqual(Object.keys(record).sort(), [
    'certificatePem',
    'deviceToken',
    'publicKey',
    'serial',
    'share',
  ]);
  await client.verifyPin(certificate.serial, PIN);

  // The same checks as enrol: a message that is not this key's enrolment is not signed.
  fake.tamper = rewrite('/api/v1/mp/downloads', (body) => ({ ...body, serial: '0ABC' }));
  await assert.rejects(client.download(5, PIN), clientError(ClientErrorCode.UnexpectedMessage));
  assert.equal((await client.certificates()).length, 2);
});
