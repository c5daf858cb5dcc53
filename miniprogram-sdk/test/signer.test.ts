import assert from 'node:assert/strict';
import { createHash, getHashes } from 'node:crypto';
import { test } from 'node:test';

import { sm2 } from 'sm-crypto';

import {
  ABI_VERSION,
  AbiVersionMismatchError,
  ErrorCode,
  SignerError,
  describeErrorCode,
  describeErrorCodeZh,
  loadSigner,
  utf8Encode,
} from '../src/index';
import * as ses from './helpers/ses';
import * as model from './helpers/sm2';
import { TransportServer, clientChannel } from './helpers/transport';
import {
  fixedEntropy,
  freshSigner,
  hex,
  rawExports,
  signer,
  toHex,
  wasmBytes,
} from './helpers/wasm';

// GM/T 0003.5-2012 Annex A signature example on the recommended curve (also GB/T 32918.5;
// reproduced in OpenSSL test/sm2_internal_test.c), ID "1234567812345678". The same vector is a
// known-answer test in wasm-signer/src/verify.rs.
const ANNEX_A = {
  publicKey: hex(
    '04' +
      '09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020' +
      'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13',
  ),
  message: utf8Encode('message digest'),
  signatureDer: hex(
    '3046' +
      '022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3' +
      '022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa',
  ),
};

// Self-generated regression vector (not a standard vector): produced by the ignored Rust test
// `verify::tests::print_sdk_vector` in wasm-signer/src/verify.rs (sm2 0.13.3 SigningKey, RFC 6979
// nonce, private key = ASCII "mcert sdk test vector, not a key"), checked with OpenSSL 3.0
// `openssl dgst -sm3 -verify … -sigopt distid:1234567812345678`. Asserted on the Rust side by
// `verify::tests::sdk_vector_verifies`.
const SDK_VECTOR = {
  publicKey: hex('025d2fee00a60a368ccaf181429b5eaf8fe29ca80c5be1535a1e18aca7291196db'),
  message: 'mcert 扫码登录 ✓',
  signatureDer: hex(
    '3044' +
      '02206b2b20a9df26b32db51f6792ebe6dd8753f86a69e82b4aada6fae25d5edc4088' +
      '02207d31641b7dce476c5a47046c80e11ce4310061b1e876347e094f6cb3028960e8',
  ),
};

const PIN = '123456';

// The server's co-signing transport key in these tests (the spec model of ./helpers/transport).
const TRANSPORT = new TransportServer(0x5eed_7a5e_5eed_7a5en);
const TK = TRANSPORT.publicKey;

/** Opens a sealed round as the server would, for session `session`. */
function opened(round: { sealedRound: Uint8Array }, session: string | Uint8Array = SESSION) {
  const sessionBytes = typeof session === 'string' ? utf8Encode(session) : session;
  const result = TRANSPORT.openRound(sessionBytes, round.sealedRound);
  assert.ok(result !== null, 'the sealed round opens with the transport key');
  return result;
}
const SESSION = 'q5Lw0m1bR3yYw8l2s9T0aQ';

function assertSignerError(code: number): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof SignerError, `expected a SignerError, got ${String(error)}`);
    assert.equal(error.code, code, `${error.message} (expected code ${code})`);
    return true;
  };
}

test('module speaks the ABI version this SDK expects', async () => {
  const s = await signer();
  assert.equal(s.abiVersion(), 3);
  assert.equal(ABI_VERSION, 3);
});

test('every module error code has an English and a Chinese description', () => {
  for (let code = 1; code <= 16; code++) {
    assert.doesNotMatch(describeErrorCode(code), /unknown/);
    assert.match(describeErrorCodeZh(code), /[\u4e00-\u9fff]/);
    const error = new SignerError(code);
    assert.equal(error.userMessage, describeErrorCodeZh(code));
  }
  assert.equal(ErrorCode.InvalidScalar, 8);
  assert.equal(ErrorCode.ProofRejected, 14);
  assert.equal(ErrorCode.TransportRejected, 15);
  assert.equal(ErrorCode.UnsupportedRoundVersion, 16);
});

// GB/T 32905-2016 Annex A, examples 1 and 2.
test('sm3 known answers from GB/T 32905-2016', async () => {
  const s = await signer();
  assert.equal(
    toHex(s.sm3(utf8Encode('abc'))),
    '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
  );
  assert.equal(
    toHex(s.sm3(utf8Encode('abcd'.repeat(16)))),
    'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
  );
});

test(
  'sm3 agrees with node:crypto, including empty and multi-megabyte inputs',
  {
    skip: !getHashes().includes('sm3') && 'this Node build has no SM3 in node:crypto',
  },
  async () => {
    const s = await signer();
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    for (const input of [new Uint8Array(0), utf8Encode(SDK_VECTOR.message), big]) {
      assert.equal(toHex(s.sm3(input)), createHash('sm3').update(input).digest('hex'));
    }
  },
);

test('verify accepts the GM/T 0003.5-2012 Annex A signature and the SDK vector', async () => {
  const s = await signer();
  assert.equal(s.verify(ANNEX_A.publicKey, ANNEX_A.message, ANNEX_A.signatureDer), true);
  assert.equal(
    s.verify(SDK_VECTOR.publicKey, utf8Encode(SDK_VECTOR.message), SDK_VECTOR.signatureDer),
    true,
  );
});

test('verify returns false for a wrong message or a tampered signature', async () => {
  const s = await signer();
  assert.equal(
    s.verify(ANNEX_A.publicKey, utf8Encode('message digesT'), ANNEX_A.signatureDer),
    false,
  );
  const tampered = ANNEX_A.signatureDer.slice();
  tampered[tampered.length - 1] ^= 1;
  assert.equal(s.verify(ANNEX_A.publicKey, ANNEX_A.message, tampered), false);
  assert.equal(s.verify(ANNEX_A.publicKey, new Uint8Array(0), ANNEX_A.signatureDer), false);
});

test('verify throws typed errors for malformed keys and signatures', async () => {
  const s = await signer();
  const offCurve = ANNEX_A.publicKey.slice();
  offCurve[64] ^= 1;
  assert.throws(
    () => s.verify(offCurve, ANNEX_A.message, ANNEX_A.signatureDer),
    assertSignerError(ErrorCode.InvalidPoint),
  );
  assert.throws(
    () => s.verify(ANNEX_A.publicKey.subarray(0, 64), ANNEX_A.message, ANNEX_A.signatureDer),
    assertSignerError(ErrorCode.InvalidLength),
  );
  const trailing = new Uint8Array([...ANNEX_A.signatureDer, 0]);
  assert.throws(
    () => s.verify(ANNEX_A.publicKey, ANNEX_A.message, trailing),
    assertSignerError(ErrorCode.InvalidSignatureEncoding),
  );
  assert.throws(() => s.sm3('abc' as unknown as Uint8Array), TypeError);
});

// Known answers from the JavaScript model of docs/split-key.md (test/helpers/sm2.ts), which is
// written from the spec alone: equal bytes mean the module implements the spec as written.

test('share_generate matches the spec byte for byte', async () => {
  const s = await signer();
  for (const [seed, pin] of [
    [1, PIN],
    [2, '000000'],
    [3, 'a longer passphrase, 云南'],
  ] as const) {
    const entropy = fixedEntropy(seed);
    const { p1, share } = s.generateShare(entropy, pin);
    assert.equal(p1.length, 65);
    assert.equal(share.length, 54);
    const parsed = model.parseShare(share);
    assert.equal(parsed.version, 1);
    assert.equal(parsed.kdf, 1, 'PBKDF2-HMAC-SM3');
    assert.ok(parsed.iterations >= 1000, `iterations ${parsed.iterations}`);
    const expected = model.expectedGeneration(entropy, pin, parsed.iterations);
    assert.equal(toHex(share), toHex(expected.share));
    assert.equal(toHex(p1), toHex(expected.p1));
  }
  // The same entropy with another PIN: same salt and d1, another mask.
  const a = s.generateShare(fixedEntropy(9), '111111');
  const b = s.generateShare(fixedEntropy(9), '222222');
  assert.equal(toHex(a.p1), toHex(b.p1));
  assert.notEqual(toHex(a.share), toHex(b.share));
  assert.equal(toHex(a.share.subarray(0, 22)), toHex(b.share.subarray(0, 22)));
});

test('share_remask keeps d1, takes a fresh salt, and matches the spec', async () => {
  const s = await signer();
  const { share } = s.generateShare(fixedEntropy(4), PIN);
  const entropy = fixedEntropy(5);
  const remasked = s.remaskShare(share, PIN, '654321', entropy);
  const parsed = model.parseShare(remasked);
  const d1 = model.unmask(share, PIN);
  assert.equal(model.unmask(remasked, '654321'), d1);
  const salt = model.block('mcert/salt', 0, entropy).slice(0, 16);
  assert.equal(toHex(parsed.salt), toHex(salt));
  const expected = model.encodeShare(
    parsed.iterations,
    salt,
    model.mod(d1 + model.pinScalar('654321', salt, parsed.iterations), model.N),
  );
  assert.equal(toHex(remasked), toHex(expected));
  // A wrong old PIN is not detected here (no check value): it re-masks a useless scalar.
  const wrong = s.remaskShare(share, '999999', '654321', entropy);
  assert.notEqual(model.unmask(wrong, '654321'), d1);
});

/** A phone key with a model server half: d2 fixed, P computed as the spec says. */
async function enrolledKey(seed: number) {
  const s = await signer();
  const { p1, share } = s.generateShare(fixedEntropy(seed), PIN);
  const server = new model.ServerHalf(p1, 0x1234567890abcdefn * BigInt(seed) + 77n);
  return { s, p1, share, server };
}

test('cosign_begin matches the spec; only the right PIN passes the server proof check', async () => {
  const { s, share, server } = await enrolledKey(6);
  const message = model.keyCheckMessage('5f3a9c', 'verify_pin');
  const entropy = fixedEntropy(7);
  const sessionBytes = utf8Encode(SESSION);
  const round = s.cosignBegin(share, PIN, SESSION, message, TK, entropy);
  const expected = model.expectedBegin(share, PIN, sessionBytes, message, entropy);
  // The sealed bytes are exactly the spec's: version, A, SM4-GCM(Q1 ‖ proof), tag.
  const sealed = clientChannel(TK, sessionBytes, entropy).sealRound(expected.q1, expected.proof);
  assert.equal(round.sealedRound.length, 244);
  assert.equal(toHex(round.sealedRound), toHex(sealed));
  const { q1, proof } = opened(round);
  assert.equal(toHex(q1), toHex(expected.q1));
  assert.equal(toHex(proof), toHex(expected.proof));
  assert.ok(server.checkProof(q1, proof, sessionBytes, message));
  // The round opens only for its own session and transport key.
  assert.equal(TRANSPORT.openRound(utf8Encode('another-session'), round.sealedRound), null);
  assert.equal(new TransportServer(12345n).openRound(sessionBytes, round.sealedRound), null);
  // The proof is bound to the session id and the message.
  assert.ok(!server.checkProof(q1, proof, utf8Encode('another-session'), message));
  assert.ok(
    !server.checkProof(q1, proof, sessionBytes, model.keyCheckMessage('5f3a9c', 'change_pin')),
  );
  // Session ids as bytes and as text are the same thing.
  const again = s.cosignBegin(share, PIN, sessionBytes, message, TK, entropy);
  assert.equal(toHex(again.sealedRound), toHex(round.sealedRound));
  const wrong = opened(s.cosignBegin(share, '123457', SESSION, message, TK, entropy));
  assert.ok(!server.checkProof(wrong.q1, wrong.proof, sessionBytes, message));
  s.cancelCosign();
});

test('cosign_finish completes a signature that OpenSSL-compatible verifiers accept', async () => {
  const { s, share, server } = await enrolledKey(8);
  const message = model.keyEnrolmentMessage('0a1b2c3d', server.publicKeyBytes);
  const entropy = fixedEntropy(10);
  const { q1, channel } = opened(s.cosignBegin(share, PIN, SESSION, message, TK, entropy));
  const { d1, k1 } = model.expectedBegin(share, PIN, utf8Encode(SESSION), message, entropy);
  const partials = server.partials(q1, message, 0xabcdefn, 0x123457n);
  const sealedPartials = channel.sealPartials(partials);
  assert.equal(sealedPartials.length, 112);
  const signature = s.cosignFinish(sealedPartials, server.publicKeyBytes);
  // s = d1·k1·s2 + d1·s3 − r, exactly.
  const r = model.toBig(partials.subarray(0, 32));
  const s2 = model.toBig(partials.subarray(32, 64));
  const s3 = model.toBig(partials.subarray(64));
  const expectedS = model.mod(d1 * k1 * s2 + d1 * s3 - r, model.N);
  assert.equal(toHex(signature), toHex(model.derSignature(r, expectedS)));
  assert.ok(model.verifySignature(server.publicKey, message, signature), 'spec model verifies');
  assert.ok(s.verify(server.publicKeyBytes, message, signature), 'module verifies');
  assert.ok(
    sm2.doVerifySignature(Array.from(message), toHex(signature), toHex(server.publicKeyBytes), {
      der: true,
      hash: true,
    }),
    'npm sm-crypto verifies',
  );
  // The round is gone: no second signature from the same nonce.
  assert.throws(
    () => s.cosignFinish(sealedPartials, server.publicKeyBytes),
    assertSignerError(ErrorCode.NoPendingSigning),
  );
});

test('a begin replaces the pending round; cancel and failed finishes wipe it', async () => {
  const { s, share, server } = await enrolledKey(11);
  const message = model.keyCheckMessage('77', 'verify_pin');
  const first = opened(s.cosignBegin(share, PIN, SESSION, message, TK, fixedEntropy(12)));
  s.cosignBegin(share, PIN, SESSION, message, TK, fixedEntropy(13));
  // Partials for the first round are sealed under the first round's key: they do not open.
  const forFirst = first.channel.sealPartials(server.partials(first.q1, message, 5n, 6n));
  assert.throws(
    () => s.cosignFinish(forFirst, server.publicKeyBytes),
    assertSignerError(ErrorCode.TransportRejected),
  );
  assert.throws(
    () => s.cosignFinish(new Uint8Array(112).fill(1), server.publicKeyBytes),
    assertSignerError(ErrorCode.NoPendingSigning),
  );
  s.cosignBegin(share, PIN, SESSION, message, TK, fixedEntropy(14));
  s.cancelCosign();
  assert.throws(
    () => s.cosignFinish(new Uint8Array(112).fill(1), server.publicKeyBytes),
    assertSignerError(ErrorCode.NoPendingSigning),
  );
  // A wrong-length finish wipes too.
  s.cosignBegin(share, PIN, SESSION, message, TK, fixedEntropy(15));
  assert.throws(() => s.cosignFinish(new Uint8Array(96), server.publicKeyBytes), SignerError);
  assert.throws(
    () => s.cosignFinish(new Uint8Array(112).fill(1), server.publicKeyBytes),
    assertSignerError(ErrorCode.NoPendingSigning),
  );
  // Altered partials do not open, and wipe the round.
  const altered = opened(s.cosignBegin(share, PIN, SESSION, message, TK, fixedEntropy(16)));
  const tampered = altered.channel.sealPartials(server.partials(altered.q1, message, 8n, 9n));
  tampered[5] ^= 1;
  assert.throws(
    () => s.cosignFinish(tampered, server.publicKeyBytes),
    assertSignerError(ErrorCode.TransportRejected),
  );
  assert.throws(
    () => s.cosignFinish(new Uint8Array(112).fill(1), server.publicKeyBytes),
    assertSignerError(ErrorCode.NoPendingSigning),
  );
  // Two module instances keep their own rounds.
  const other = await freshSigner();
  const mine = opened(s.cosignBegin(share, PIN, SESSION, message, TK, fixedEntropy(16)));
  other.cosignBegin(share, PIN, SESSION, message, TK, fixedEntropy(17));
  const signature = s.cosignFinish(
    mine.channel.sealPartials(server.partials(mine.q1, message, 8n, 9n)),
    server.publicKeyBytes,
  );
  assert.ok(model.verifySignature(server.publicKey, message, signature));
  other.cancelCosign();
});

test('cosign_finish reports RetryNeeded for s = 0 and r + s = n', async () => {
  const { s, share, server } = await enrolledKey(18);
  const message = model.keyCheckMessage('88', 'verify_pin');
  const n = model.N;
  for (const target of ['zero', 'r+s=n'] as const) {
    const entropy = fixedEntropy(19);
    const { channel } = opened(s.cosignBegin(share, PIN, SESSION, message, TK, entropy));
    const { d1, k1 } = model.expectedBegin(share, PIN, utf8Encode(SESSION), message, entropy);
    const r = 0x1111n;
    const s2 = 0x2222n;
    // s = d1·k1·s2 + d1·s3 − r; solve for s3.
    const wanted = target === 'zero' ? 0n : n - r;
    const s3 = model.mod((wanted + r - d1 * k1 * s2) * model.inverse(d1, n), n);
    const partials = model.concat(model.toBytes(r), model.toBytes(s2), model.toBytes(s3));
    assert.throws(
      () => s.cosignFinish(channel.sealPartials(partials), server.publicKeyBytes),
      assertSignerError(ErrorCode.RetryNeeded),
      target,
    );
  }
});

test('every PIN unmasks the stored share: no offline oracle in what the phone keeps', async () => {
  const { s, share, server } = await enrolledKey(20);
  const message = model.keyCheckMessage('99', 'verify_pin');
  const sessionBytes = utf8Encode(SESSION);
  const pins = new Set<string>([PIN]);
  for (let i = 0; pins.size < 200; i++)
    pins.add(String((i * 7919 + 13) % 1_000_000).padStart(6, '0'));
  const q1s = new Set<string>();
  let accepted = 0;
  for (const pin of pins) {
    // Never an error, whatever the PIN: the module cannot tell either.
    const round = opened(s.cosignBegin(share, pin, SESSION, message, TK, fixedEntropy(21)));
    q1s.add(toHex(round.proof.subarray(0, 65)));
    // Only the server, holding P1, can tell; and it counts.
    if (server.checkProof(round.q1, round.proof, sessionBytes, message)) accepted++;
  }
  s.cancelCosign();
  assert.equal(accepted, 1, 'exactly the right PIN passes the server check');
  assert.equal(q1s.size, 1, 'T depends on the entropy only, not on the PIN');
});

test('wrong-length and malformed inputs give typed errors, never a trap', async () => {
  const s = await signer();
  const { share, p1 } = s.generateShare(fixedEntropy(22), PIN);
  const message = model.keyCheckMessage('aa', 'verify_pin');
  const entropy = fixedEntropy(23);
  const code = (f: () => unknown, expected: number, what: string): void => {
    assert.throws(f, assertSignerError(expected), what);
  };
  // Entropy: 32 to 256 bytes.
  code(
    () => s.generateShare(new Uint8Array(31).fill(1), PIN),
    ErrorCode.InvalidLength,
    'entropy 31',
  );
  code(
    () => s.generateShare(new Uint8Array(257).fill(1), PIN),
    ErrorCode.InvalidLength,
    'entropy 257',
  );
  code(() => s.generateShare(new Uint8Array(0), PIN), ErrorCode.InvalidLength, 'entropy 0');
  assert.equal(s.generateShare(fixedEntropy(1, 32), PIN).share.length, 54, 'entropy 32');
  assert.equal(s.generateShare(fixedEntropy(1, 256), PIN).share.length, 54, 'entropy 256');
  // PIN: 1 to 64 bytes.
  code(() => s.generateShare(entropy, ''), ErrorCode.InvalidPin, 'empty PIN');
  code(() => s.generateShare(entropy, 'x'.repeat(65)), ErrorCode.InvalidPin, 'PIN 65');
  code(() => s.remaskShare(share, PIN, '', entropy), ErrorCode.InvalidPin, 'empty new PIN');
  code(
    () => s.cosignBegin(share, '', SESSION, message, TK, entropy),
    ErrorCode.InvalidPin,
    'begin PIN',
  );
  // Share: 54 bytes, version 1, KDF 1, iterations in range, masked in [1, n-1].
  code(
    () => s.remaskShare(share.subarray(0, 53), PIN, '1', entropy),
    ErrorCode.InvalidLength,
    'share 53',
  );
  code(
    () => s.cosignBegin(new Uint8Array(55), PIN, SESSION, message, TK, entropy),
    ErrorCode.InvalidLength,
    'share 55',
  );
  const mutate = (index: number, value: number): Uint8Array => {
    const copy = share.slice();
    copy[index] = value;
    return copy;
  };
  code(
    () => s.cosignBegin(mutate(0, 2), PIN, SESSION, message, TK, entropy),
    ErrorCode.InvalidShare,
    'version',
  );
  code(
    () => s.cosignBegin(mutate(1, 2), PIN, SESSION, message, TK, entropy),
    ErrorCode.InvalidShare,
    'kdf',
  );
  const noIterations = share.slice();
  noIterations.fill(0, 2, 6);
  code(
    () => s.cosignBegin(noIterations, PIN, SESSION, message, TK, entropy),
    ErrorCode.InvalidShare,
    'iterations 0',
  );
  const zeroMask = share.slice();
  zeroMask.fill(0, 22);
  code(
    () => s.cosignBegin(zeroMask, PIN, SESSION, message, TK, entropy),
    ErrorCode.InvalidShare,
    'masked 0',
  );
  const bigMask = share.slice();
  bigMask.fill(0xff, 22);
  code(
    () => s.cosignBegin(bigMask, PIN, SESSION, message, TK, entropy),
    ErrorCode.InvalidShare,
    'masked ≥ n',
  );
  // Session id: 1 to 64 bytes.
  code(() => s.cosignBegin(share, PIN, '', message, TK, entropy), ErrorCode.InvalidLength, 'session 0');
  code(
    () => s.cosignBegin(share, PIN, 's'.repeat(65), message, TK, entropy),
    ErrorCode.InvalidLength,
    'session 65',
  );
  // The message is only hashed here (the server computes e from its own copy); the client
  // checks it with describeMessage before it asks for the PIN.
  // Transport key: a curve point.
  const offCurve = p1.slice();
  offCurve[64] ^= 1;
  code(
    () => s.cosignBegin(share, PIN, SESSION, message, offCurve, entropy),
    ErrorCode.InvalidPoint,
    'transport key off curve',
  );
  code(
    () => s.cosignBegin(share, PIN, SESSION, message, TK.subarray(0, 64), entropy),
    ErrorCode.InvalidLength,
    'transport key 64',
  );
  // Sealed partials: 112 bytes that open, holding scalars below n; public key a curve point.
  const begin = () => opened(s.cosignBegin(share, PIN, SESSION, message, TK, entropy)).channel;
  begin();
  code(() => s.cosignFinish(new Uint8Array(113), p1), ErrorCode.InvalidLength, 'partials 113');
  begin();
  code(
    () => s.cosignFinish(new Uint8Array(112), p1),
    ErrorCode.TransportRejected,
    'partials that do not open',
  );
  let channel = begin();
  code(
    () => s.cosignFinish(channel.sealPartials(new Uint8Array(96).fill(0xff)), p1),
    ErrorCode.InvalidScalar,
    'partials ≥ n',
  );
  channel = begin();
  code(
    () => s.cosignFinish(channel.sealPartials(new Uint8Array(96)), p1),
    ErrorCode.InvalidScalar,
    'partials 0',
  );
  channel = begin();
  const ones = new Uint8Array(96).fill(1);
  code(
    () => s.cosignFinish(channel.sealPartials(ones), offCurve),
    ErrorCode.InvalidPoint,
    'key off curve',
  );
  channel = begin();
  code(
    () => s.cosignFinish(channel.sealPartials(ones), p1.subarray(0, 64)),
    ErrorCode.InvalidLength,
    'key 64',
  );
  // Not bytes at all.
  assert.throws(() => s.generateShare([1, 2] as unknown as Uint8Array, PIN), TypeError);
  assert.throws(
    () => s.cosignBegin(share, 123456 as unknown as string, SESSION, message, TK, entropy),
    TypeError,
  );
  // The module still works afterwards.
  assert.equal(s.generateShare(entropy, PIN).share.length, 54);
});

test('message_describe renders every kind as the spec says, UTF-8 text included', async () => {
  const s = await signer();
  const publicKey = model.encodePoint(model.G);
  assert.deepEqual(s.describeMessage(model.keyEnrolmentMessage('0a1b', publicKey, 1_763_700_123)), {
    version: 2,
    kind: 'key_enrolment',
    fields: {
      serial: '0a1b',
      public_key: toHex(publicKey),
      uscc: '91530100MA6K0000X1',
      unit_name: '云南测试科技有限公司',
      holder_name: '张三',
      issued_at: 1_763_700_123,
    },
  });
  const sessionId = new Uint8Array(16).map((_, i) => i);
  assert.deepEqual(
    s.describeMessage(
      model.encodeMessage('login_challenge', [
        sessionId,
        'portal-1',
        '云南省公共就业服务平台 😀',
        'https://jy.example.cn',
        'openid unit',
        '0a1b',
        '4729',
        '云南昆明 · 222.172.200.* · Chrome',
        { time: 1_763_699_990 },
        { time: 1_763_700_000 },
        { time: 1_763_700_120 },
      ]),
    ),
    {
      version: 2,
      kind: 'login_challenge',
      fields: {
        session_id: toHex(sessionId),
        client_id: 'portal-1',
        portal_name: '云南省公共就业服务平台 😀',
        origin: 'https://jy.example.cn',
        scopes: 'openid unit',
        serial: '0a1b',
        match_code: '4729',
        initiator: '云南昆明 · 222.172.200.* · Chrome',
        initiated_at: 1_763_699_990,
        issued_at: 1_763_700_000,
        expires_at: 1_763_700_120,
      },
    },
  );
  const digest = new Uint8Array(32).fill(0xab);
  const picture = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  const certificate = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]);
  assert.deepEqual(
    s.describeMessage(
      ses.tbsSign({
        sealId: '53010000000001',
        sealName: '云南测试科技有限公司',
        certificates: [certificate],
        picture,
        widthMm: 40,
        heightMm: 40,
        dataHash: digest,
        sessionId: 'AAECAwQFBgcICQoLDA0ODw',
        title: '劳动合同 2025.pdf',
      }),
    ),
    {
      version: 4,
      kind: 'seal_sign',
      fields: {
        seal_id: '53010000000001',
        seal_name: '云南测试科技有限公司',
        seal_type: 1,
        seal_vid: 'mcert',
        seal_valid_start: 1_700_000_000,
        seal_valid_end: 2_000_000_000,
        cert_sm3s: [toHex(s.sm3(certificate))],
        picture_type: 'PNG',
        picture: toHex(picture),
        picture_width_mm: 40,
        picture_height_mm: 40,
        time_info: 1_763_700_000,
        data_hash: toHex(digest),
        property_info: `session=AAECAwQFBgcICQoLDA0ODw&title=${ses.percentEncode('劳动合同 2025.pdf')}`,
        session_id: 'AAECAwQFBgcICQoLDA0ODw',
        document_title: '劳动合同 2025.pdf',
      },
    },
  );
  assert.deepEqual(s.describeMessage(ses.pdfSignedAttributes(digest)), {
    version: 1,
    kind: 'pdf_signed_attributes',
    fields: { signing_time: 1_763_700_000, message_digest: toHex(digest) },
  });
  assert.deepEqual(s.describeMessage(model.keyCheckMessage('0a1b', 'change_pin')).fields, {
    serial: '0a1b',
    purpose: 'change_pin',
    nonce: '07'.repeat(16),
    issued_at: 1_763_700_000,
  });
});

test('message_describe rejects anything but a canonical message', async () => {
  const s = await signer();
  const good = model.keyCheckMessage('0a1b', 'verify_pin');
  const bad: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['trailing byte', model.concat(good, new Uint8Array([0]))],
    ['truncated', good.subarray(0, good.length - 1)],
    ['wrong magic', model.concat(utf8Encode('MCERT-SIGX'), good.subarray(10))],
    [
      'version 1',
      (() => {
        const m = good.slice();
        m[10] = 1;
        return m;
      })(),
    ],
    [
      'unknown kind',
      (() => {
        const m = good.slice();
        m[11] = 9;
        return m;
      })(),
    ],
    ['missing field', model.encodeMessage('key_check', ['0a1b', 'verify_pin', new Uint8Array(16)])],
    [
      'nonce of 15 bytes',
      model.encodeMessage('key_check', ['0a1b', 'verify_pin', new Uint8Array(15), { time: 1 }]),
    ],
    [
      'invalid UTF-8',
      model.encodeMessage('key_check', [
        new Uint8Array([0xff]),
        'verify_pin',
        new Uint8Array(16),
        { time: 1 },
      ]),
    ],
  ];
  for (const [what, message] of bad) {
    assert.throws(
      () => s.describeMessage(message),
      assertSignerError(ErrorCode.InvalidMessage),
      what,
    );
  }
});

test('the module returns a status instead of trapping on bad buffers', async () => {
  const raw = await rawExports();
  const memoryBytes = (raw.memory as unknown as { buffer: ArrayBuffer }).buffer.byteLength;
  assert.equal(raw.sm3(0, 5), ErrorCode.InvalidBuffer, 'null pointer with a length');
  assert.equal(raw.result_len(), 0, 'no result after a failure');
  assert.equal(raw.sm3(memoryBytes - 2, 4), ErrorCode.InvalidBuffer, 'buffer past memory end');
  assert.equal(raw.sm3(0xffffffff, 1), ErrorCode.InvalidBuffer, 'address overflow');
  assert.equal(raw.verify(0, 65, 0, 0, 0, 0), ErrorCode.InvalidBuffer);
  assert.equal(raw.share_generate(0, 64, 0, 6), ErrorCode.InvalidBuffer);
  assert.equal(raw.share_remask(0, 54, 0, 6, 0, 6, 0, 64), ErrorCode.InvalidBuffer);
  assert.equal(
    raw.cosign_begin(0, 54, 0, 6, 0, 22, 0, 60, 0, 65, 0, 64),
    ErrorCode.InvalidBuffer,
  );
  assert.equal(raw.cosign_finish(0xfffffff0, 112, 0, 65), ErrorCode.InvalidBuffer);
  assert.equal(raw.message_describe(memoryBytes, 1), ErrorCode.InvalidBuffer);
  assert.equal(raw.cosign_finish(0, 0, 0, 0), ErrorCode.NoPendingSigning, 'nothing pending');
  assert.equal(raw.sm3(0, 0), 0, '(0, 0) is the empty input');
  assert.equal(raw.result_len(), 32);
  assert.equal(raw.alloc(0), 0, 'alloc(0) hands out nothing');
  raw.free(0, 0);
  raw.free(0, 16);
});

const FAKE_EXPORTS = {
  memory: { buffer: new ArrayBuffer(65536) },
  abi_version: () => 2,
  alloc: () => 0,
  free: () => undefined,
  result_ptr: () => 0,
  result_len: () => 0,
  sm3: () => 0,
  verify: () => 0,
};

test('loadSigner rejects a module with another ABI version, before missing exports', async () => {
  await assert.rejects(
    loadSigner({
      module: 'old.wasm',
      instantiate: async () => ({ instance: { exports: FAKE_EXPORTS } }),
    }),
    (error: unknown) => {
      assert.ok(error instanceof AbiVersionMismatchError);
      assert.ok(error instanceof SignerError);
      assert.equal(error.code, ErrorCode.AbiVersionMismatch);
      assert.equal(error.expected, 3);
      assert.equal(error.actual, 2);
      assert.match(error.message, /ABI version 2 is not supported/);
      return true;
    },
  );
});

test('loadSigner rejects something that is not the signer module', async () => {
  await assert.rejects(
    loadSigner({
      module: 'other.wasm',
      instantiate: async () => ({
        instance: { exports: { ...FAKE_EXPORTS, abi_version: () => 3 } },
      }),
    }),
    (error: unknown) => {
      assert.ok(error instanceof SignerError);
      assert.equal(error.code, ErrorCode.InvalidModule);
      assert.match(
        error.message,
        /missing export\(s\) share_generate, share_remask, cosign_begin, cosign_finish, message_describe$/,
      );
      return true;
    },
  );
  await assert.rejects(
    loadSigner({
      module: 'x',
      instantiate: async () => ({ instance: {} as { exports: unknown } }),
    }),
    (error: unknown) => error instanceof SignerError && error.code === ErrorCode.InvalidModule,
  );
});

test('loadSigner hands the module to instantiate untouched, accepts a bare instance', async () => {
  const bytes = wasmBytes();
  let seen: unknown;
  const s = await loadSigner({
    module: bytes,
    instantiate: async (module, imports) => {
      seen = module;
      assert.deepEqual(imports, {});
      return (await WebAssembly.instantiate(module, imports)).instance;
    },
  });
  assert.equal(seen, bytes);
  assert.equal(s.abiVersion(), 3);
});
