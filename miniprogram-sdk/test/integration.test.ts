/**
 * The SDK against the real `mcert-server` (development mode, fresh SQLite data directory,
 * random port): enrolment, co-signing, PIN counting and locking, PIN change, with every
 * signature checked by npm `sm-crypto` and by OpenSSL.
 */

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
  ClientErrorCode,
  ErrorCode,
  McertApiError,
  McertClient,
  McertError,
  McertNetworkError,
  SignerError,
  base64Decode,
  base64Encode,
  fetchRequest,
  memoryStorage,
  utf8Encode,
  webCryptoEntropy,
} from '../src/index';
import { type TestPhone, lastExchange, testPhone } from './helpers/phone';
import { type RunningServer, createTicket, randomHolder, startServer } from './helpers/server';
import { opensslVerifies, smCryptoVerifies } from './helpers/verify';
import { TransportServer } from './helpers/transport';
import { toHex } from './helpers/wasm';

const PIN = '123456';
const WRONG_PIN = '654321';

let server: RunningServer;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

/** A phone with a freshly enrolled certificate. */
async function enrolledPhone(pin = PIN): Promise<TestPhone & { serial: string }> {
  const phone = await testPhone(server.baseUrl);
  const certificate = await phone.client.enrol(await createTicket(server.baseUrl), pin);
  return { ...phone, serial: certificate.serial };
}

function apiError(code: string, check?: (error: McertApiError) => void) {
  return (error: unknown): boolean => {
    assert.ok(
      error instanceof McertApiError,
      `expected McertApiError ${code}, got ${String(error)}`,
    );
    assert.equal(error.code, code, error.message);
    assert.match(error.message, /[\u4e00-\u9fff]/, 'a Chinese message');
    check?.(error);
    return true;
  };
}

test('enrolment stores exactly five fields and never P1; the certificate carries the key', async () => {
  const phone = await testPhone(server.baseUrl);
  const certificate = await phone.client.enrol(await createTicket(server.baseUrl), PIN);
  assert.match(certificate.serial, /^[0-9A-F]+$/, "the server's canonical upper-case hex");

  const enrolRequest = lastExchange(phone.traffic, '/api/v1/enrolments').request;
  const p1 = base64Decode((enrolRequest.body as { p1: string }).p1);
  assert.equal(p1.length, 65);

  const stored = phone.storage.snapshot();
  assert.deepEqual(Object.keys(stored).sort(), [
    `mcert:certificate:${certificate.serial}`,
    'mcert:certificates',
  ]);
  assert.deepEqual(JSON.parse(stored['mcert:certificates']), [certificate.serial]);
  const record = JSON.parse(stored[`mcert:certificate:${certificate.serial}`]);
  assert.deepEqual(Object.keys(record).sort(), [
    'certificatePem',
    'deviceToken',
    'publicKey',
    'serial',
    'share',
  ]);
  assert.equal(record.serial, certificate.serial);
  assert.equal(base64Decode(record.share).length, 54, 'the masked share and nothing else');
  assert.deepEqual(base64Decode(record.publicKey), certificate.publicKey);
  // P1 appears nowhere, in any encoding.
  const everything = JSON.stringify(stored);
  for (const form of [
    base64Encode(p1),
    toHex(p1),
    base64Encode(p1.subarray(1)),
    toHex(p1.subarray(1, 33)),
  ]) {
    assert.ok(!everything.includes(form), 'P1 is not stored');
  }

  const x509 = new X509Certificate(record.certificatePem);
  assert.equal(
    x509.serialNumber.toUpperCase().replace(/^0+/, ''),
    certificate.serial.replace(/^0+/, ''),
  );
  const spki = x509.publicKey.export({ format: 'der', type: 'spki' });
  assert.deepEqual(new Uint8Array(spki.subarray(spki.length - 65)), certificate.publicKey);
  assert.match(x509.subject, /张三/);

  // The enrolment signature itself verifies under the certificate's key.
  const enrolment = lastExchange(phone.traffic, '/api/v1/enrolments').response.body as {
    cosign: { message: string; session_id: string };
  };
  const message = base64Decode(enrolment.cosign.message);
  const signature = base64Decode(
    (lastExchange(phone.traffic, '/signature').request.body as { signature: string }).signature,
  );
  assert.ok(smCryptoVerifies(certificate.publicKey, message, signature), 'sm-crypto');
  assert.ok(opensslVerifies(record.certificatePem, message, signature), 'OpenSSL');

  assert.deepEqual(await phone.client.certificates(), [certificate]);
  assert.deepEqual(await phone.client.keyStatus(certificate.serial), {
    serial: certificate.serial,
    status: 'active',
    locked: false,
    remainingAttempts: 6,
  });
});

test('a PIN check co-signs a key_check message that sm-crypto and OpenSSL verify', async () => {
  const phone = await enrolledPhone();
  await phone.client.verifyPin(phone.serial, PIN);
  const session = lastExchange(phone.traffic, '/key-checks').response.body as { message: string };
  const message = base64Decode(session.message);
  const description = phone.signer.describeMessage(message);
  assert.equal(description.kind, 'key_check');
  assert.equal(description.fields.serial, phone.serial);
  const signature = base64Decode(
    (lastExchange(phone.traffic, '/signature').request.body as { signature: string }).signature,
  );
  const [info] = await phone.client.certificates();
  assert.ok(smCryptoVerifies(info.publicKey, message, signature), 'sm-crypto');
  assert.ok(opensslVerifies(info.certificatePem, message, signature), 'OpenSSL');
  // And both refuse it for another message.
  const other = message.slice();
  other[other.length - 1] ^= 1;
  assert.ok(!smCryptoVerifies(info.publicKey, other, signature));
  assert.ok(!opensslVerifies(info.certificatePem, other, signature));
});

test('cosign() signs a server session and returns the signature and the server result', async () => {
  const phone = await enrolledPhone();
  const record = JSON.parse(phone.storage.snapshot()[`mcert:certificate:${phone.serial}`]);
  const response = await fetch(`${server.baseUrl}/api/v1/certificates/${phone.serial}/key-checks`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${record.deviceToken}` },
    body: JSON.stringify({ purpose: 'verify_pin' }),
  });
  assert.equal(response.status, 201);
  const body = (await response.json()) as { session_id: string; message: string };
  const session = { sessionId: body.session_id, message: base64Decode(body.message) };
  const outcome = await phone.client.cosign(session, phone.serial, PIN);
  assert.equal(outcome.result.purpose, 'verify_pin');
  assert.equal(outcome.result.serial, phone.serial);
  assert.ok(
    phone.signer.verify(base64Decode(record.publicKey), session.message, outcome.signature),
  );
  // Sessions are single use.
  await assert.rejects(phone.client.cosign(session, phone.serial, PIN), (error: unknown) => {
    assert.ok(error instanceof McertApiError);
    assert.ok(['cosign_out_of_order', 'cosign_session_not_found'].includes(error.code), error.code);
    return true;
  });
});

test('wrong PINs count down 5..1, the sixth locks, and then the right PIN is refused', async () => {
  const phone = await enrolledPhone();
  // A right PIN resets the count.
  await assert.rejects(phone.client.verifyPin(phone.serial, WRONG_PIN), apiError('pin_incorrect'));
  await phone.client.verifyPin(phone.serial, PIN);
  assert.equal((await phone.client.keyStatus(phone.serial)).remainingAttempts, 6);

  for (const remaining of [5, 4, 3, 2, 1]) {
    await assert.rejects(
      phone.client.verifyPin(phone.serial, WRONG_PIN),
      apiError('pin_incorrect', (error) => {
        assert.equal(error.status, 403);
        assert.equal(error.remainingAttempts, remaining);
      }),
    );
    assert.equal((await phone.client.keyStatus(phone.serial)).remainingAttempts, remaining);
  }
  await assert.rejects(
    phone.client.verifyPin(phone.serial, WRONG_PIN),
    apiError('key_locked', (error) => assert.equal(error.status, 423)),
  );
  await assert.rejects(phone.client.verifyPin(phone.serial, PIN), apiError('key_locked'));
  assert.deepEqual(await phone.client.keyStatus(phone.serial), {
    serial: phone.serial,
    status: 'active',
    locked: true,
    remainingAttempts: 0,
  });
  // After a refused round the module holds nothing pending.
  const [info] = await phone.client.certificates();
  assert.throws(
    () => phone.signer.cosignFinish(new Uint8Array(112).fill(1), info.publicKey),
    (error: unknown) => error instanceof SignerError && error.code === ErrorCode.NoPendingSigning,
  );
});

test('copies of the phone guessing at once cannot get more than six guesses in total', async () => {
  const original = await enrolledPhone();
  const copies = await Promise.all(
    [0, 1, 2, 3].map(() => testPhone(server.baseUrl, original.storage.snapshot())),
  );
  const phones = [original, ...copies];
  // 5 phones × 4 wrong PINs each, all at once: 20 guesses.
  const outcomes = await Promise.allSettled(
    phones.flatMap((phone, p) =>
      [0, 1, 2, 3].map((g) => phone.client.verifyPin(original.serial, String(100000 + p * 10 + g))),
    ),
  );
  const codes = outcomes.map((o) => {
    assert.equal(o.status, 'rejected', 'no wrong PIN is accepted');
    const reason = (o as PromiseRejectedResult).reason;
    assert.ok(reason instanceof McertApiError, String(reason));
    return reason;
  });
  const incorrect = codes.filter((e) => e.code === 'pin_incorrect');
  const locked = codes.filter((e) => e.code === 'key_locked');
  assert.equal(incorrect.length + locked.length, 20, codes.map((e) => e.code).join(','));
  assert.equal(incorrect.length, 5, 'five counted failures, then the sixth locks');
  // No lost update: every answer reported a different count.
  assert.deepEqual(incorrect.map((e) => e.remainingAttempts).sort(), [1, 2, 3, 4, 5]);
  await assert.rejects(original.client.verifyPin(original.serial, PIN), apiError('key_locked'));
  assert.equal((await original.client.keyStatus(original.serial)).locked, true);
});

test('the stored share unmasks under every PIN: the copied state is no offline oracle', async () => {
  const phone = await enrolledPhone();
  const stored = phone.storage.snapshot();
  const record = JSON.parse(stored[`mcert:certificate:${phone.serial}`]);
  const share = base64Decode(record.share);
  const pins = new Set<string>([PIN]);
  for (let i = 0; pins.size < 200; i++)
    pins.add(String((i * 104729 + 7) % 1_000_000).padStart(6, '0'));
  const proofs = new Set<string>();
  const message = base64Decode(
    (
      lastExchange(phone.traffic, '/api/v1/enrolments').response.body as {
        cosign: { message: string };
      }
    ).cosign.message,
  );
  const entropy = new Uint8Array(64).fill(9);
  entropy[0] = 1;
  // Sealed to a transport key of the test's own, so the proofs can be looked at.
  const transport = new TransportServer(0x7e57n);
  const session = utf8Encode('offline-guess');
  for (const pin of pins) {
    const round = phone.signer.cosignBegin(
      share,
      pin,
      session,
      message,
      transport.publicKey,
      entropy,
    );
    const opened = transport.openRound(session, round.sealedRound);
    assert.ok(opened !== null);
    proofs.add(toHex(opened.proof));
    // Seconds of key derivation in a row: let the event loop notice the server closing the idle
    // keep-alive connection, or the next request may be written to a socket that is gone.
    if (proofs.size % 20 === 0) await new Promise((resolveTick) => setImmediate(resolveTick));
  }
  phone.signer.cancelCosign();
  assert.equal(proofs.size, 200, 'each PIN gives some scalar, none is an error');
  // Nothing else stored could tell them apart: exactly these fields, no P1, no check value.
  assert.deepEqual(Object.keys(record).sort(), [
    'certificatePem',
    'deviceToken',
    'publicKey',
    'serial',
    'share',
  ]);
  assert.equal(share.length, 54);
  // The server still answers for the right PIN (nothing above reached it).
  await phone.client.verifyPin(phone.serial, PIN);
});

test('changing the PIN: a wrong old PIN is counted and re-masks nothing', async () => {
  const phone = await enrolledPhone();
  const before = phone.storage.snapshot();
  await assert.rejects(
    phone.client.changePin(phone.serial, WRONG_PIN, '112233'),
    apiError('pin_incorrect', (error) => assert.equal(error.remainingAttempts, 5)),
  );
  assert.deepEqual(phone.storage.snapshot(), before, 'storage untouched');
  await phone.client.changePin(phone.serial, PIN, '112233');
  const after = JSON.parse(phone.storage.snapshot()[`mcert:certificate:${phone.serial}`]);
  const previous = JSON.parse(before[`mcert:certificate:${phone.serial}`]);
  assert.notEqual(after.share, previous.share);
  assert.deepEqual({ ...after, share: '' }, { ...previous, share: '' }, 'only the share changes');
  await phone.client.verifyPin(phone.serial, '112233');
  await assert.rejects(phone.client.verifyPin(phone.serial, PIN), apiError('pin_incorrect'));
  assert.equal((await phone.client.keyStatus(phone.serial)).remainingAttempts, 5);
});

test('enrolment errors: bad PIN before any request, used ticket, unreachable server', async () => {
  const phone = await testPhone(server.baseUrl);
  for (const pin of ['12345', '1234567', '12345a', '１２３４５６', ' 123456', '']) {
    await assert.rejects(phone.client.enrol('any', pin), (error: unknown) => {
      assert.ok(error instanceof McertError);
      assert.equal(error.code, ClientErrorCode.PinFormat);
      assert.equal(error.message, 'PIN 码必须是 6 位数字');
      return true;
    });
  }
  assert.equal(phone.traffic.length, 0, 'nothing was sent');

  const ticket = await createTicket(server.baseUrl, randomHolder());
  await phone.client.enrol(ticket, PIN);
  await assert.rejects(
    phone.client.enrol(ticket, PIN),
    apiError('enrolment_ticket_invalid', (error) => assert.equal(error.status, 404)),
  );
  assert.equal((await phone.client.certificates()).length, 1);

  const offline = new McertClient({
    signer: phone.signer,
    request: fetchRequest(fetch),
    storage: memoryStorage(),
    entropy: webCryptoEntropy(globalThis.crypto),
    baseUrl: 'http://127.0.0.1:9',
  });
  await assert.rejects(offline.enrol('ticket', PIN), (error: unknown) => {
    assert.ok(error instanceof McertNetworkError);
    assert.equal(error.code, 'network_error');
    assert.ok((error as { cause?: unknown }).cause instanceof Error);
    return true;
  });
});

test('a device token from another certificate opens nothing', async () => {
  const a = await enrolledPhone();
  const b = await enrolledPhone();
  const recordA = JSON.parse(a.storage.snapshot()[`mcert:certificate:${a.serial}`]);
  const recordB = JSON.parse(b.storage.snapshot()[`mcert:certificate:${b.serial}`]);
  const forged = await testPhone(server.baseUrl, {
    'mcert:certificates': JSON.stringify([a.serial]),
    [`mcert:certificate:${a.serial}`]: JSON.stringify({
      ...recordA,
      deviceToken: recordB.deviceToken,
    }),
  });
  await assert.rejects(
    forged.client.keyStatus(a.serial),
    apiError('device_token_invalid', (error) => assert.equal(error.status, 401)),
  );
  await assert.rejects(forged.client.verifyPin(a.serial, PIN), apiError('device_token_invalid'));
});
