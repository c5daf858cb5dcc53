/**
 * An independent model of docs/split-key.md in JavaScript (BigInt arithmetic, SM3 and
 * PBKDF2-HMAC-SM3 from node:crypto/OpenSSL), written from the spec and not from the Rust code:
 * the tests compare the wasm module's bytes with it, and it plays the server's half where a test
 * needs one without the real server. Test-only: nothing here is constant-time.
 */

import { createHash, pbkdf2Sync } from 'node:crypto';

// GB/T 32918.5-2017 recommended curve parameters.
export const P = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF');
export const A = P - 3n;
export const B = BigInt('0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93');
export const N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');
const GX = BigInt('0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7');
const GY = BigInt('0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0');

export const DIST_ID = '1234567812345678';

/** An affine point; null is the identity. */
export type Point = { x: bigint; y: bigint } | null;
export const G: Point = { x: GX, y: GY };

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

export function inverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new Error('not invertible');
  return mod(oldS, m);
}

export function add(p: Point, q: Point): Point {
  if (p === null) return q;
  if (q === null) return p;
  if (p.x === q.x) {
    if (mod(p.y + q.y, P) === 0n) return null;
    const l = mod((3n * p.x * p.x + A) * inverse(2n * p.y, P), P);
    const x = mod(l * l - 2n * p.x, P);
    return { x, y: mod(l * (p.x - x) - p.y, P) };
  }
  const l = mod((q.y - p.y) * inverse(q.x - p.x, P), P);
  const x = mod(l * l - p.x - q.x, P);
  return { x, y: mod(l * (p.x - x) - p.y, P) };
}

export function negate(p: Point): Point {
  return p === null ? null : { x: p.x, y: mod(-p.y, P) };
}

/** [k]Q in Jacobian coordinates (one inversion at the end). */
export function multiply(k: bigint, q: Point): Point {
  k = mod(k, N);
  if (q === null || k === 0n) return null;
  type J = [bigint, bigint, bigint];
  const double = ([x, y, z]: J): J => {
    if (y === 0n) return [0n, 1n, 0n];
    const yy = mod(y * y, P);
    const s = mod(4n * x * yy, P);
    const zz = mod(z * z, P);
    const m = mod(3n * (x - zz) * (x + zz), P); // a = -3
    const x3 = mod(m * m - 2n * s, P);
    return [x3, mod(m * (s - x3) - 8n * yy * yy, P), mod(2n * y * z, P)];
  };
  const addMixed = (j: J, ax: bigint, ay: bigint): J => {
    const [x, y, z] = j;
    if (z === 0n) return [ax, ay, 1n];
    const zz = mod(z * z, P);
    const u2 = mod(ax * zz, P);
    const s2 = mod(ay * zz * z, P);
    const h = mod(u2 - x, P);
    const r = mod(s2 - y, P);
    if (h === 0n) return r === 0n ? double(j) : [0n, 1n, 0n];
    const hh = mod(h * h, P);
    const hhh = mod(hh * h, P);
    const v = mod(x * hh, P);
    const x3 = mod(r * r - hhh - 2n * v, P);
    return [x3, mod(r * (v - x3) - y * hhh, P), mod(z * h, P)];
  };
  let acc: J = [0n, 1n, 0n];
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    acc = double(acc);
    if ((k >> i) & 1n) acc = addMixed(acc, q.x, q.y);
  }
  if (acc[2] === 0n) return null;
  const zi = inverse(acc[2], P);
  return { x: mod(acc[0] * zi * zi, P), y: mod(acc[1] * zi * zi * zi, P) };
}

export function isOnCurve(p: { x: bigint; y: bigint }): boolean {
  return mod(p.y * p.y - (p.x * p.x * p.x + A * p.x + B), P) === 0n;
}

export function toBig(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

export function toBytes(value: bigint, length = 32): Uint8Array {
  return new Uint8Array(Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex'));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export function encodePoint(p: Point): Uint8Array {
  if (p === null) throw new Error('identity has no encoding');
  return concat(new Uint8Array([4]), toBytes(p.x), toBytes(p.y));
}

export function decodePoint(bytes: Uint8Array): { x: bigint; y: bigint } {
  if (bytes.length !== 65 || bytes[0] !== 4) throw new Error('not an uncompressed point');
  const p = { x: toBig(bytes.subarray(1, 33)), y: toBig(bytes.subarray(33)) };
  if (!isOnCurve(p)) throw new Error('point not on the curve');
  return p;
}

export function sm3(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sm3');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** block(label, i) = SM3(label ‖ u8(i) ‖ entropy). */
export function block(label: string | Uint8Array, i: number, entropy: Uint8Array): Uint8Array {
  const labelBytes = typeof label === 'string' ? ascii(label) : label;
  return sm3(labelBytes, new Uint8Array([i]), entropy);
}

/** scalar(label) = (block(label, 0) ‖ block(label, 1)) mod n. */
export function derivedScalar(label: string | Uint8Array, entropy: Uint8Array): bigint {
  return mod(toBig(concat(block(label, 0, entropy), block(label, 1, entropy))), N);
}

/** m = PBKDF2-HMAC-SM3(pin, salt, iterations, 64) mod n. */
export function pinScalar(pin: string | Uint8Array, salt: Uint8Array, iterations: number): bigint {
  const pinBytes = typeof pin === 'string' ? ascii(pin) : pin;
  return mod(toBig(new Uint8Array(pbkdf2Sync(pinBytes, salt, iterations, 64, 'sm3'))), N);
}

/** The stored share, parsed. */
export interface ParsedShare {
  version: number;
  kdf: number;
  iterations: number;
  salt: Uint8Array;
  masked: bigint;
}

export function parseShare(share: Uint8Array): ParsedShare {
  if (share.length !== 54) throw new Error(`share of ${share.length} bytes`);
  return {
    version: share[0],
    kdf: share[1],
    iterations: Buffer.from(share).readUInt32BE(2),
    salt: share.slice(6, 22),
    masked: toBig(share.subarray(22)),
  };
}

export function encodeShare(iterations: number, salt: Uint8Array, masked: bigint): Uint8Array {
  const header = Buffer.alloc(6);
  header[0] = 1;
  header[1] = 1;
  header.writeUInt32BE(iterations, 2);
  return concat(header, salt, toBytes(masked));
}

/** d1' = masked − m(pin): what any PIN unmasks. */
export function unmask(share: Uint8Array, pin: string | Uint8Array): bigint {
  const parsed = parseShare(share);
  return mod(parsed.masked - pinScalar(pin, parsed.salt, parsed.iterations), N);
}

/** Z_A with mcert's distinguishing ID. */
export function za(publicKey: Point): Uint8Array {
  if (publicKey === null) throw new Error('identity');
  const id = ascii(DIST_ID);
  const entl = new Uint8Array([(id.length * 8) >> 8, (id.length * 8) & 0xff]);
  return sm3(
    entl,
    id,
    toBytes(A),
    toBytes(B),
    toBytes(GX),
    toBytes(GY),
    toBytes(publicKey.x),
    toBytes(publicKey.y),
  );
}

/** e = SM3(Z_A ‖ M) as an integer. */
export function messageDigest(publicKey: Point, message: Uint8Array): bigint {
  return toBig(sm3(za(publicKey), message));
}

/** c = SM3("mcert/pin-proof/v1" ‖ T ‖ P1 ‖ Q1 ‖ u8(len) ‖ session_id ‖ SM3(M)) mod n. */
export function proofChallenge(
  t: Uint8Array,
  p1: Uint8Array,
  q1: Uint8Array,
  sessionId: Uint8Array,
  message: Uint8Array,
): bigint {
  return mod(
    toBig(
      sm3(
        ascii('mcert/pin-proof/v1'),
        t,
        p1,
        q1,
        new Uint8Array([sessionId.length]),
        sessionId,
        sm3(message),
      ),
    ),
    N,
  );
}

/** What `share_generate` must return for this entropy and PIN. */
export function expectedGeneration(
  entropy: Uint8Array,
  pin: string,
  iterations: number,
): { p1: Uint8Array; share: Uint8Array; d1: bigint } {
  const d1 = derivedScalar('mcert/d1', entropy);
  const salt = block('mcert/salt', 0, entropy).slice(0, 16);
  const masked = mod(d1 + pinScalar(pin, salt, iterations), N);
  return {
    d1,
    p1: encodePoint(multiply(inverse(d1, N), G)),
    share: encodeShare(iterations, salt, masked),
  };
}

/** What `cosign_begin` must return, and the secrets it keeps. */
export function expectedBegin(
  share: Uint8Array,
  pin: string,
  sessionId: Uint8Array,
  message: Uint8Array,
  entropy: Uint8Array,
): { q1: Uint8Array; proof: Uint8Array; d1: bigint; k1: bigint } {
  const d1 = unmask(share, pin);
  const u = inverse(d1, N);
  const p1 = encodePoint(multiply(u, G));
  const k1 = derivedScalar('mcert/k1', entropy);
  const q1 = encodePoint(multiply(k1, G));
  const t = derivedScalar('mcert/t', entropy);
  const tPoint = encodePoint(multiply(t, G));
  const c = proofChallenge(tPoint, p1, q1, sessionId, message);
  const z = mod(t + c * u, N);
  return { q1, proof: concat(tPoint, toBytes(z)), d1, k1 };
}

/** The server's half, as docs/split-key.md describes it, for a given d2. */
export class ServerHalf {
  readonly publicKey: Point;
  readonly publicKeyBytes: Uint8Array;

  constructor(
    readonly p1: Uint8Array,
    readonly d2: bigint,
  ) {
    const joint = add(multiply(inverse(d2, N), decodePoint(p1)), negate(G));
    if (joint === null) throw new Error('identity public key');
    this.publicKey = joint;
    this.publicKeyBytes = encodePoint(joint);
  }

  /** [z]G = T + [c]P1. */
  checkProof(
    q1: Uint8Array,
    proof: Uint8Array,
    sessionId: Uint8Array,
    message: Uint8Array,
  ): boolean {
    const t = proof.subarray(0, 65);
    const z = toBig(proof.subarray(65));
    const c = proofChallenge(t, this.p1, q1, sessionId, message);
    const left = multiply(z, G);
    const right = add(decodePoint(t), multiply(c, decodePoint(this.p1)));
    return left !== null && right !== null && left.x === right.x && left.y === right.y;
  }

  /** r ‖ s2 ‖ s3 for the given nonces. */
  partials(q1: Uint8Array, message: Uint8Array, k2: bigint, k3: bigint): Uint8Array {
    const e = messageDigest(this.publicKey, message);
    const point = add(multiply(k3, decodePoint(q1)), multiply(k2, G));
    if (point === null) throw new Error('identity');
    const r = mod(e + point.x, N);
    const s2 = mod(this.d2 * k3, N);
    const s3 = mod(this.d2 * (r + k2), N);
    return concat(toBytes(r), toBytes(s2), toBytes(s3));
  }
}

/** DER SEQUENCE { INTEGER r, INTEGER s }, minimal encodings. */
export function derSignature(r: bigint, s: bigint): Uint8Array {
  const integer = (v: bigint): Buffer => {
    let bytes = Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
    while (bytes.length > 1 && bytes[0] === 0 && bytes[1] < 0x80) bytes = bytes.subarray(1);
    if (bytes[0] >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([2, bytes.length]), bytes]);
  };
  const body = Buffer.concat([integer(r), integer(s)]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}

/** Parses a (short-form) DER signature. */
export function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } {
  if (der[0] !== 0x30 || der[1] !== der.length - 2) throw new Error('not a DER SEQUENCE');
  const rLen = der[3];
  const r = toBig(der.subarray(4, 4 + rLen));
  const sLen = der[5 + rLen];
  const s = toBig(der.subarray(6 + rLen, 6 + rLen + sLen));
  return { r, s };
}

/** Plain SM2 verification (GB/T 32918.2). */
export function verifySignature(publicKey: Point, message: Uint8Array, der: Uint8Array): boolean {
  const { r, s } = parseDerSignature(der);
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const t = mod(r + s, N);
  if (t === 0n) return false;
  const point = add(multiply(s, G), multiply(t, publicKey));
  if (point === null) return false;
  return mod(messageDigest(publicKey, message) + point.x, N) === r;
}

// Canonical messages ("Canonical signed messages" in docs/split-key.md).

export type FieldValue = string | Uint8Array | { time: number };

const KINDS = { key_enrolment: 1, login_challenge: 2, key_check: 4 } as const;

/** Encodes a message from its fields in tag order. */
export function encodeMessage(kind: keyof typeof KINDS, fields: FieldValue[]): Uint8Array {
  const parts: Uint8Array[] = [ascii('MCERT-SIGN'), new Uint8Array([2, KINDS[kind]])];
  fields.forEach((value, index) => {
    let bytes: Uint8Array;
    if (typeof value === 'string') bytes = ascii(value);
    else if (value instanceof Uint8Array) bytes = value;
    else {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(value.time));
      bytes = new Uint8Array(b);
    }
    const header = Buffer.alloc(3);
    header[0] = index + 1;
    header.writeUInt16BE(bytes.length, 1);
    parts.push(new Uint8Array(header), bytes);
  });
  return concat(...parts);
}

export function keyEnrolmentMessage(
  serial: string,
  publicKey: Uint8Array,
  issuedAt = 1_763_700_000,
): Uint8Array {
  return encodeMessage('key_enrolment', [
    serial,
    publicKey,
    '91530100MA6K0000X1',
    '云南测试科技有限公司',
    '张三',
    { time: issuedAt },
  ]);
}

export function keyCheckMessage(
  serial: string,
  purpose: 'verify_pin' | 'change_pin',
  nonce: Uint8Array = new Uint8Array(16).fill(7),
  issuedAt = 1_763_700_000,
): Uint8Array {
  return encodeMessage('key_check', [serial, purpose, nonce, { time: issuedAt }]);
}
