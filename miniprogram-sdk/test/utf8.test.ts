import assert from 'node:assert/strict';
import { test } from 'node:test';

import { utf8Encode } from '../src/index';

test('utf8Encode matches TextEncoder on every length class and on lone surrogates', () => {
  const encoder = new TextEncoder();
  for (const text of [
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
  ]) {
    assert.deepEqual(utf8Encode(text), encoder.encode(text), JSON.stringify(text));
  }
});
