/**
 * Standard base64 (RFC 4648 §4, `+/` alphabet, `=` padding), the encoding of binary values in
 * mcert's JSON. Hand-written because the WeChat engine cannot be assumed to have `atob`/`btoa`
 * (and those work on "binary strings", not bytes).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Character code → 6-bit value, -1 for characters outside the alphabet. */
const VALUES: number[] = (() => {
  const table: number[] = [];
  for (let c = 0; c < 128; c++) table.push(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Encodes bytes as padded standard base64. */
export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out +=
      ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + '=';
  }
  return out;
}

function sixBits(text: string, index: number): number {
  const c = text.charCodeAt(index);
  const value = c < 128 ? VALUES[c] : -1;
  if (value < 0) {
    throw new SyntaxError(`invalid base64: unexpected character at position ${index}`);
  }
  return value;
}

/**
 * Decodes padded standard base64, strictly: no whitespace, no URL-safe alphabet, padding
 * required, and unused trailing bits must be zero (so every byte string has one encoding, as
 * the server's decoder demands).
 *
 * @throws {SyntaxError} for anything else.
 */
export function base64Decode(text: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new TypeError('base64Decode expects a string');
  }
  if (text.length % 4 !== 0) {
    throw new SyntaxError('invalid base64: length is not a multiple of 4');
  }
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  const fullQuads = padding === 0 ? text.length : text.length - 4;
  for (let i = 0; i < fullQuads; i += 4) {
    const n =
      (sixBits(text, i) << 18) |
      (sixBits(text, i + 1) << 12) |
      (sixBits(text, i + 2) << 6) |
      sixBits(text, i + 3);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (padding > 0) {
    const i = fullQuads;
    const a = sixBits(text, i);
    const b = sixBits(text, i + 1);
    if (padding === 2) {
      if ((b & 0x0f) !== 0) throw new SyntaxError('invalid base64: non-zero trailing bits');
      out[o++] = (a << 2) | (b >> 4);
    } else {
      const c = sixBits(text, i + 2);
      if ((c & 0x03) !== 0) throw new SyntaxError('invalid base64: non-zero trailing bits');
      out[o++] = (a << 2) | (b >> 4);
      out[o++] = ((b & 0x0f) << 4) | (c >> 2);
    }
  }
  return out;
}
