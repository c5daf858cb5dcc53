/** The real signer module for tests: `MCERT_SIGNER_WASM`, or `wasm/mcert_signer.wasm`. */

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { type Signer, loadSigner } from '../../src/index';

/** build/test/helpers → the package root. */
export const PACKAGE_ROOT = resolve(__dirname, '..', '..', '..');

export const WASM_PATH =
  process.env.MCERT_SIGNER_WASM ?? resolve(PACKAGE_ROOT, 'wasm', 'mcert_signer.wasm');

export function wasmBytes(): Uint8Array<ArrayBuffer> {
  if (!existsSync(WASM_PATH)) {
    // Fail, never skip: these tests are the only ones that run the module's exports.
    assert.fail(
      `signer module not found at ${WASM_PATH}. Build it (cargo, with the wasm32 target) with\n` +
        '  npm run build\n' +
        'in miniprogram-sdk (scripts/build-wasm.mjs), or point MCERT_SIGNER_WASM at a built module.',
    );
  }
  return new Uint8Array(readFileSync(WASM_PATH));
}

let shared: Promise<Signer> | undefined;

/** One module instance shared by a test file. */
export function signer(): Promise<Signer> {
  shared ??= loadSigner({ module: wasmBytes(), instantiate: WebAssembly.instantiate });
  return shared;
}

/** A module instance of its own (its own pending round), as a second phone would have. */
export function freshSigner(): Promise<Signer> {
  return loadSigner({ module: wasmBytes(), instantiate: WebAssembly.instantiate });
}

/** The raw exports, for calls the typed API never makes (bad pointers). */
export async function rawExports(): Promise<{ [name: string]: (...args: number[]) => number }> {
  const { instance } = await WebAssembly.instantiate(wasmBytes(), {});
  return instance.exports as unknown as { [name: string]: (...args: number[]) => number };
}

export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Deterministic "entropy" for known-answer tests: SM3-free, just distinct bytes. */
export function fixedEntropy(seed: number, length = 64): Uint8Array {
  return new Uint8Array(length).map((_, i) => (seed * 131 + i * 29 + 7) & 0xff);
}
