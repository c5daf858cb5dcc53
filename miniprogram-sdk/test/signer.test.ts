import assert from 'node:assert/strict';
import { createHash, getHashes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';

import {
  ABI_VERSION,
  AbiVersionMismatchError,
  ErrorCode,
  type Signer,
  SignerError,
  loadSigner,
  utf8Encode,
} from '../src/index';

/** The real module: `MCERT_SIGNER_WASM`, or `wasm/mcert_signer.wasm` in this package. */
const WASM_PATH =
  process.env.MCERT_SIGNER_WASM ?? resolve(__dirname, '..', '..', 'wasm', 'mcert_signer.wasm');

function wasmBytes(): Uint8Array<ArrayBuffer> {
  if (!existsSync(WASM_PATH)) {
    // Fail, never skip: these tests are the only ones that run the module's exports.
    assert.fail(
      `signer module not found at ${WASM_PATH}. Build it from the repository root with\n` +
        '  cargo build -p mcert-signer --target wasm32-unknown-unknown --release\n' +
        'then copy target/wasm32-unknown-unknown/release/mcert_signer.wasm to ' +
        'miniprogram-sdk/wasm/mcert_signer.wasm, or point MCERT_SIGNER_WASM at it.',
    );
  }
  return new Uint8Array(readFileSync(WASM_PATH));
}

let signerPromise: Promise<Signer> | undefined;
function signer(): Promise<Signer> {
  signerPromise ??= loadSigner({ module: wasmBytes(), instantiate: WebAssembly.instantiate });
  return signerPromise;
}

/** The raw exports, for calls the typed API never makes (bad pointers). */
async function rawExports(): Promise<{ [name: string]: (...args: number[]) => number }> {
  const { instance } = await WebAssembly.instantiate(wasmBytes(), {});
  return instance.exports as unknown as { [name: string]: (...args: number[]) => number };
}

function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

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

function assertSignerError(code: number): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof SignerError, `expected a SignerError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

test('module speaks the ABI version this SDK expects', async () => {
  const s = await signer();
  assert.equal(s.abiVersion(), 1);
  assert.equal(ABI_VERSION, 1);
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

test('sm3 agrees with node:crypto, including empty and multi-megabyte inputs', {
  skip: !getHashes().includes('sm3') && 'this Node build has no SM3 in node:crypto',
}, async () => {
  const s = await signer();
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
  for (const input of [new Uint8Array(0), utf8Encode(SDK_VECTOR.message), big]) {
    assert.equal(toHex(s.sm3(input)), createHash('sm3').update(input).digest('hex'));
  }
});

test('verify accepts the GM/T 0003.5-2012 Annex A signature', async () => {
  const s = await signer();
  assert.equal(s.verify(ANNEX_A.publicKey, ANNEX_A.message, ANNEX_A.signatureDer), true);
});

test('verify accepts the self-generated vector (compressed key, UTF-8 message)', async () => {
  const s = await signer();
  assert.equal(
    s.verify(SDK_VECTOR.publicKey, utf8Encode(SDK_VECTOR.message), SDK_VECTOR.signatureDer),
    true,
  );
});

test('verify returns false for a wrong message or a tampered signature', async () => {
  const s = await signer();
  const otherMessage = utf8Encode('message digesT');
  assert.equal(s.verify(ANNEX_A.publicKey, otherMessage, ANNEX_A.signatureDer), false);
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
  assert.throws(
    () => s.verify(new Uint8Array(0), ANNEX_A.message, ANNEX_A.signatureDer),
    assertSignerError(ErrorCode.InvalidLength),
  );
  const trailing = new Uint8Array([...ANNEX_A.signatureDer, 0]);
  assert.throws(
    () => s.verify(ANNEX_A.publicKey, ANNEX_A.message, trailing),
    assertSignerError(ErrorCode.InvalidSignatureEncoding),
  );
  assert.throws(
    () => s.verify(ANNEX_A.publicKey, ANNEX_A.message, new Uint8Array(0)),
    assertSignerError(ErrorCode.InvalidSignatureEncoding),
  );
  assert.throws(
    () => s.sm3('abc' as unknown as Uint8Array),
    (error: unknown) => error instanceof TypeError,
  );
});

test('module returns a status instead of trapping on bad buffers', async () => {
  const raw = await rawExports();
  const memoryBytes = (raw.memory as unknown as { buffer: ArrayBuffer }).buffer.byteLength;
  assert.equal(raw.sm3(0, 5), ErrorCode.InvalidBuffer, 'null pointer with a length');
  assert.equal(raw.result_len(), 0, 'no result after a failure');
  assert.equal(raw.sm3(memoryBytes - 2, 4), ErrorCode.InvalidBuffer, 'buffer past memory end');
  assert.equal(raw.sm3(0xffffffff, 1), ErrorCode.InvalidBuffer, 'address overflow');
  assert.equal(raw.verify(0, 65, 0, 0, 0, 0), ErrorCode.InvalidBuffer);
  assert.equal(raw.sm3(0, 0), 0, '(0, 0) is the empty input');
  assert.equal(raw.result_len(), 32);
  assert.equal(raw.alloc(0), 0, 'alloc(0) hands out nothing');
  raw.free(0, 0);
  raw.free(0, 16);
});

test('loadSigner rejects a module with another ABI version', async () => {
  const fake = {
    memory: { buffer: new ArrayBuffer(65536) },
    abi_version: () => 2,
    alloc: () => 0,
    free: () => undefined,
    result_ptr: () => 0,
    result_len: () => 0,
    sm3: () => 0,
    verify: () => 0,
  };
  await assert.rejects(
    loadSigner({ module: 'fake.wasm', instantiate: async () => ({ instance: { exports: fake } }) }),
    (error: unknown) => {
      assert.ok(error instanceof AbiVersionMismatchError);
      assert.ok(error instanceof SignerError);
      assert.equal(error.code, ErrorCode.AbiVersionMismatch);
      assert.equal(error.expected, 1);
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
      instantiate: async () => ({ instance: { exports: { abi_version: () => 1 } } }),
    }),
    (error: unknown) => {
      assert.ok(error instanceof SignerError);
      assert.equal(error.code, ErrorCode.InvalidModule);
      assert.match(
        error.message,
        /missing export\(s\) alloc, free, result_ptr, result_len, sm3, verify, memory/,
      );
      return true;
    },
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
  assert.equal(s.abiVersion(), 1);
});
