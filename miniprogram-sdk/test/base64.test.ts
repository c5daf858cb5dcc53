import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { base64Decode, base64Encode } from '../src/index';

test('base64 has the RFC 4648 §10 test vectors', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ];
  for (const [plain, encoded] of vectors) {
    const bytes = new Uint8Array(Buffer.from(plain, 'ascii'));
    assert.equal(base64Encode(bytes), encoded);
    assert.deepEqual(base64Decode(encoded), bytes);
  }
});

test('base64 agrees with Buffer on random bytes of every length up to 300', () => {
  for (let length = 0; length <= 300; length++) {
    const bytes = new Uint8Array(randomBytes(length));
    const encoded = base64Encode(bytes);
    assert.equal(encoded, Buffer.from(bytes).toString('base64'));
    assert.deepEqual(base64Decode(encoded), bytes);
  }
  const all = new Uint8Array(256).map((_, i) => i);
  assert.equal(base64Encode(all), Buffer.from(all).toString('base64'));
});

test('base64Decode rejects everything but canonical padded standard base64', () => {
  for (const bad of [
    'Zg', // no padding
    'Zg=', // wrong length
    'Zh==', // non-zero trailing bits
    'Zm9=', // non-zero trailing bits
    'Zm9v\n', // whitespace
    ' Zm9v',
    'Zm-v', // URL-safe alphabet
    'Zm_v',
    '====',
    'Z===',
    'Zm=v',
    '=Zm9',
    'Zg==Zg==', // padding in the middle
    'Zm9vYmFy=',
    'Zm9v\u00e9Zm9',
  ]) {
    assert.throws(() => base64Decode(bad), SyntaxError, JSON.stringify(bad));
  }
  assert.throws(() => base64Decode(42 as unknown as string), TypeError);
});
