/** Independent checks of SM2 signatures: OpenSSL 3 (`dgst` and `pkeyutl`) and npm `sm-crypto`. */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sm2 } from 'sm-crypto';

import { toHex } from './wasm';

/** Verifies with OpenSSL 3.0 both ways (dgst and pkeyutl) against the certificate's key. */
export function opensslVerifies(
  certificatePem: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'mcert-sdk-openssl-'));
  try {
    writeFileSync(join(dir, 'cert.pem'), certificatePem);
    writeFileSync(join(dir, 'msg.bin'), message);
    writeFileSync(join(dir, 'sig.der'), signature);
    const publicKey = execFileSync('openssl', [
      'x509',
      '-in',
      join(dir, 'cert.pem'),
      '-pubkey',
      '-noout',
    ]);
    writeFileSync(join(dir, 'pub.pem'), publicKey);
    const run = (args: string[]): boolean => {
      try {
        execFileSync('openssl', args, { stdio: 'pipe' });
        return true;
      } catch {
        return false;
      }
    };
    const dgst = run([
      'dgst',
      '-sm3',
      '-verify',
      join(dir, 'pub.pem'),
      '-sigopt',
      'distid:1234567812345678',
      '-signature',
      join(dir, 'sig.der'),
      join(dir, 'msg.bin'),
    ]);
    const pkeyutl = run([
      'pkeyutl',
      '-verify',
      '-rawin',
      '-digest',
      'sm3',
      '-pubin',
      '-inkey',
      join(dir, 'pub.pem'),
      '-pkeyopt',
      'distid:1234567812345678',
      '-in',
      join(dir, 'msg.bin'),
      '-sigfile',
      join(dir, 'sig.der'),
    ]);
    assert.equal(dgst, pkeyutl, 'openssl dgst and pkeyutl agree');
    return dgst;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function smCryptoVerifies(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  // Bytes as an array: sm-crypto reads a string message as UTF-8 text, not hex.
  return sm2.doVerifySignature(Array.from(message), toHex(signature), toHex(publicKey), {
    der: true,
    hash: true,
  });
}
