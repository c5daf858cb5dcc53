// SM3 (GB/T 32905) of a short ASCII text, for the slider check's proof of work: the server
// asks for SM3(id ":" nonce) to start with a number of zero bits (server/src/captcha).

const IV = [
  0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
];
const T = new Int32Array(64);
for (let j = 0; j < 64; j++) {
  const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
  const k = j % 32;
  T[j] = (t << k) | (t >>> (32 - k));
}

const rotl = (x, n) => (x << n) | (x >>> (32 - n));
const p0 = (x) => x ^ rotl(x, 9) ^ rotl(x, 17);
const p1 = (x) => x ^ rotl(x, 15) ^ rotl(x, 23);

const W = new Int32Array(68);
const W1 = new Int32Array(64);

function compress(v, block, offset) {
  for (let i = 0; i < 16; i++) {
    const o = offset + i * 4;
    W[i] = (block[o] << 24) | (block[o + 1] << 16) | (block[o + 2] << 8) | block[o + 3];
  }
  for (let i = 16; i < 68; i++) {
    W[i] = p1(W[i - 16] ^ W[i - 9] ^ rotl(W[i - 3], 15)) ^ rotl(W[i - 13], 7) ^ W[i - 6];
  }
  for (let i = 0; i < 64; i++) W1[i] = W[i] ^ W[i + 4];
  let [a, b, c, d, e, f, g, h] = v;
  for (let j = 0; j < 64; j++) {
    const a12 = rotl(a, 12);
    const ss1 = rotl((a12 + e + T[j]) | 0, 7);
    const ss2 = ss1 ^ a12;
    const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
    const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
    const tt1 = (ff + d + ss2 + W1[j]) | 0;
    const tt2 = (gg + h + ss1 + W[j]) | 0;
    d = c;
    c = rotl(b, 9);
    b = a;
    a = tt1;
    h = g;
    g = rotl(f, 19);
    f = e;
    e = p0(tt2);
  }
  v[0] ^= a; v[1] ^= b; v[2] ^= c; v[3] ^= d;
  v[4] ^= e; v[5] ^= f; v[6] ^= g; v[7] ^= h;
}

/** SM3 of `bytes` (a Uint8Array), as 8 big-endian 32-bit words. */
export function sm3(bytes) {
  const bitLength = bytes.length * 8;
  const padded = new Uint8Array(Math.ceil((bytes.length + 9) / 64) * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  const v = Int32Array.from(IV);
  for (let offset = 0; offset < padded.length; offset += 64) compress(v, padded, offset);
  return Array.from(v, (word) => word >>> 0);
}

/** SM3 of a text as lowercase hex. */
export function sm3Hex(text) {
  return sm3(new TextEncoder().encode(text))
    .map((word) => word.toString(16).padStart(8, '0'))
    .join('');
}

/** Leading zero bits of SM3(text). */
export function zeroBits(text) {
  let bits = 0;
  for (const word of sm3(new TextEncoder().encode(text))) {
    if (word === 0) {
      bits += 32;
    } else {
      return bits + Math.clz32(word);
    }
  }
  return bits;
}
