import assert from 'node:assert/strict';
import { test } from 'node:test';

import { utf8Decode, utf8Encode } from '../src/index';

const SAMPLES = [
  '',
  'abc',
  'é',
  '扫码登录',
  '✓',
  '😀 emoji',
  '\u0000\u007f\u0080\u07ff\u0800\uffff',
  '\ud800',
  'a\udc00b',
  '\ud83d',
  '\udbff\udfff',
  '\ufeffBOM kept',
];

test('utf8Encode matches TextEncoder on every length class and on lone surrogates', () => {
  const encoder = new TextEncoder();
  for (const text of SAMPLES) {
    assert.deepEqual(utf8Encode(text), encoder.encode(text), JSON.stringify(text));
  }
});

test('utf8Decode inverts utf8Encode on well-formed text', () => {
  for (const text of SAMPLES) {
    const wellFormed = new TextDecoder('utf-8', { ignoreBOM: true }).decode(utf8Encode(text));
    assert.equal(utf8Decode(utf8Encode(text)), wellFormed, JSON.stringify(text));
  }
  // Past the chunk size of String.fromCharCode.apply, with pairs straddling chunk borders.
  const long = '云南😀a'.repeat(5000);
  assert.equal(utf8Decode(utf8Encode(long)), long);
});

test('utf8Decode replaces malformed input exactly as TextDecoder does', () => {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const cases: number[][] = [
    [0x80], // lone continuation
    [0xbf, 0x41],
    [0xc0, 0x80], // overlong NUL
    [0xc1, 0xbf],
    [0xc2], // truncated at the end
    [0xc2, 0x41],
    [0xe0, 0x80, 0x80], // overlong three-byte
    [0xe0, 0xa0], // truncated
    [0xe0, 0xa0, 0x41],
    [0xed, 0xa0, 0x80], // encoded surrogate
    [0xed, 0x9f, 0xbf], // last before surrogates
    [0xef, 0xbf, 0xbf],
    [0xf0, 0x80, 0x80, 0x80], // overlong four-byte
    [0xf0, 0x90, 0x80], // truncated
    [0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF
    [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    [0xf5, 0x80],
    [0xfe, 0xff],
    [0xe4, 0xba, 0x91, 0xe5, 0x8d], // 云 then a truncated 南
    [0xef, 0xbb, 0xbf, 0x61], // BOM is kept
  ];
  for (const bytes of cases) {
    const input = new Uint8Array(bytes);
    assert.equal(
      utf8Decode(input),
      decoder.decode(input),
      `bytes ${bytes.map((b) => b.toString(16))}`,
    );
  }
});

test('utf8Decode agrees with TextDecoder on random bytes', () => {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 16;
  };
  for (let round = 0; round < 2000; round++) {
    const length = next() % 24;
    // Bias towards bytes that start or continue multi-byte sequences.
    const input = new Uint8Array(length).map(() => {
      const r = next() % 4;
      return r === 0 ? next() & 0x7f : r === 1 ? 0x80 | (next() & 0x3f) : 0xc0 | (next() & 0x3f);
    });
    assert.equal(utf8Decode(input), decoder.decode(input), Buffer.from(input).toString('hex'));
  }
});
