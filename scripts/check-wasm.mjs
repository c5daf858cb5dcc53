#!/usr/bin/env node
// Checks the built mcert-signer WebAssembly module: prints its raw and brotli sizes, imports,
// exports and section sizes, and fails (exit 1) if it imports anything, lacks an export of ABI
// version 3, or exceeds the raw size budget. No npm dependencies: the module format is parsed here.
//
// Usage: node scripts/check-wasm.mjs <path/to/mcert_signer.wasm>
// The module is built with
//   cargo build -p mcert-signer --target wasm32-unknown-unknown --profile wasm
// and lands in $CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/mcert_signer.wasm.

import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';

const MAX_RAW_BYTES = 150 * 1024;
// ABI version 3 (docs/split-key.md, "wasm ABI version 3"); the names are those of version 2.
const REQUIRED_EXPORTS = [
  'abi_version', 'alloc', 'free', 'result_ptr', 'result_len',
  'sm3', 'verify',
  'share_generate', 'share_remask', 'cosign_begin', 'cosign_finish', 'message_describe',
];

const SECTION_NAMES = [
  'custom', 'type', 'import', 'function', 'table', 'memory', 'global',
  'export', 'start', 'element', 'code', 'data', 'datacount', 'tag',
];
const EXTERNAL_KINDS = ['func', 'table', 'memory', 'global', 'tag'];

class Reader {
  constructor(bytes, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  byte() {
    if (this.offset >= this.end) throw new Error(`unexpected end of module at byte ${this.offset}`);
    return this.bytes[this.offset++];
  }

  u32() {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error(`malformed LEB128 at byte ${this.offset}`);
  }

  name() {
    const len = this.u32();
    if (this.offset + len > this.end) throw new Error(`name runs past its section at ${this.offset}`);
    const text = Buffer.from(this.bytes.subarray(this.offset, this.offset + len)).toString('utf8');
    this.offset += len;
    return text;
  }

  skipLimits() {
    const flags = this.byte();
    this.u32();
    if (flags & 0x01) this.u32();
  }
}

function parseModule(bytes) {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) {
    throw new Error('not a WebAssembly module (bad magic number)');
  }
  const reader = new Reader(bytes, 8);
  const sections = [];
  const imports = [];
  const exports = [];
  while (reader.offset < bytes.length) {
    const id = reader.byte();
    const size = reader.u32();
    const start = reader.offset;
    const end = start + size;
    if (end > bytes.length) throw new Error(`section ${id} runs past the end of the module`);
    const body = new Reader(bytes, start, end);
    let label = SECTION_NAMES[id] ?? `unknown(${id})`;
    if (id === 0) label = `custom "${body.name()}"`;
    if (id === 2) {
      for (let n = body.u32(); n > 0; n--) {
        const module = body.name();
        const field = body.name();
        const kind = body.byte();
        // Only the names matter here; skip each descriptor so the next entry lines up.
        if (kind === 0x00) body.u32();
        else if (kind === 0x01) { body.byte(); body.skipLimits(); }
        else if (kind === 0x02) body.skipLimits();
        else if (kind === 0x03) { body.byte(); body.byte(); }
        else if (kind === 0x04) { body.byte(); body.u32(); }
        else throw new Error(`unknown import kind ${kind}`);
        imports.push({ module, field, kind: EXTERNAL_KINDS[kind] ?? String(kind) });
      }
    }
    if (id === 7) {
      for (let n = body.u32(); n > 0; n--) {
        const name = body.name();
        const kind = body.byte();
        body.u32();
        exports.push({ name, kind: EXTERNAL_KINDS[kind] ?? String(kind) });
      }
    }
    sections.push({ label, size });
    reader.offset = end;
  }
  return { sections, imports, exports };
}

function kib(n) {
  return `${n} bytes (${(n / 1024).toFixed(1)} KiB)`;
}

function main() {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node scripts/check-wasm.mjs <module.wasm>');
    process.exit(2);
  }
  const bytes = readFileSync(path);
  const { sections, imports, exports } = parseModule(bytes);
  const brotli = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  });

  console.log(`module:  ${path}`);
  console.log(`raw:     ${kib(bytes.length)}`);
  console.log(`brotli:  ${kib(brotli.length)} (quality 11)`);
  console.log(`sections: ${sections.map((s) => `${s.label}=${s.size}`).join(', ')}`);
  console.log(`imports (${imports.length}):`);
  for (const i of imports) console.log(`  ${i.module}.${i.field} (${i.kind})`);
  console.log(`exports (${exports.length}):`);
  for (const e of exports) console.log(`  ${e.name} (${e.kind})`);

  const failures = [];
  if (imports.length > 0) {
    failures.push(`module has ${imports.length} import(s); the signer must be self-contained`);
  }
  for (const name of REQUIRED_EXPORTS) {
    if (!exports.some((e) => e.name === name && e.kind === 'func')) {
      failures.push(`required export function \`${name}\` is missing`);
    }
  }
  if (bytes.length > MAX_RAW_BYTES) {
    failures.push(`raw size ${bytes.length} exceeds the budget of ${MAX_RAW_BYTES} bytes`);
  }
  for (const f of failures) console.error(`FAIL: ${f}`);
  if (failures.length > 0) process.exit(1);
  console.log('OK');
}

try {
  main();
} catch (error) {
  console.error(`FAIL: ${error.message}`);
  process.exit(1);
}
