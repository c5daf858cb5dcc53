/**
 * The encrypted co-signing round (docs/split-key.md, "Encrypted round") written again from the
 * document, independently of wasm-signer/src/transport.rs: SM2 key agreement in ./sm2.ts's
 * BigInt arithmetic, the SM3 KDF, and SM4-GCM built from Node's (OpenSSL's) SM4 in ECB and CTR
 * mode with GHASH over BigInt. The tests check the module's bytes against it, and the fake
 * server opens rounds with it.
 */

import { createCipheriv } from 'node:crypto';

import * as model from './sm2';

export const ROUND_VERSION = 2;
const DOMAIN = new Uint8Array(Buffer.from('mcert/transport/v1'));
const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

function sm4Ecb(key: Uint8Array, block: Uint8Array): Uint8Array {
  const cipher = createCipheriv('sm4-ecb', key, null).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(block), cipher.final()]));
}

function counterBlock(nonce: Uint8Array, counter: number): Uint8Array {
  const block = new Uint8Array(16);
  block.set(nonce);
  new DataView(block.buffer).setUint32(12, counter);
  return block;
}

/** GF(2^128) product in GCM's bit order (SP 800-38D, algorithm 1). */
function gfMul(x: bigint, y: bigint): bigint {
  const r = 0xe1n << 120n;
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ r : v >> 1n;
  }
  return z;
}

function ghash(h: bigint, aad: Uint8Array, ciphertext: Uint8Array): bigint {
  let y = 0n;
  for (const data of [aad, ciphertext]) {
    for (let i = 0; i < data.length; i += 16) {
      const block = new Uint8Array(16);
      block.set(data.subarray(i, i + 16));
      y = gfMul(y ^ model.toBig(block), h);
    }
  }
  const lengths = (BigInt(aad.length * 8) << 64n) | BigInt(ciphertext.length * 8);
  return gfMul(y ^ lengths, h);
}

/** SM4-GCM with a 96-bit nonce: `ciphertext ‖ tag`. */
export function sm4GcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const ctr = createCipheriv('sm4-ctr', key, counterBlock(nonce, 2));
  const ciphertext = new Uint8Array(Buffer.concat([ctr.update(plaintext), ctr.final()]));
  const h = model.toBig(sm4Ecb(key, new Uint8Array(16)));
  const tag = ghash(h, aad, ciphertext) ^ model.toBig(sm4Ecb(key, counterBlock(nonce, 1)));
  return model.concat(ciphertext, model.toBytes(tag, 16));
}

/** Opens `ciphertext ‖ tag`, or returns null when the tag does not verify. */
export function sm4GcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Uint8Array | null {
  const ciphertext = sealed.subarray(0, sealed.length - 16);
  const h = model.toBig(sm4Ecb(key, new Uint8Array(16)));
  const tag = ghash(h, aad, ciphertext) ^ model.toBig(sm4Ecb(key, counterBlock(nonce, 1)));
  if (Buffer.compare(Buffer.from(model.toBytes(tag, 16)), Buffer.from(sealed.subarray(-16))) !== 0) {
    return null;
  }
  const ctr = createCipheriv('sm4-ctr', key, counterBlock(nonce, 2));
  return new Uint8Array(Buffer.concat([ctr.update(ciphertext), ctr.final()]));
}

/** The keys of one round: SM4 key and GCM nonce per direction, and the AAD's parts. */
export class Channel {
  constructor(
    private readonly shared: Uint8Array,
    readonly ephemeral: Uint8Array,
    readonly server: Uint8Array,
    readonly sessionId: Uint8Array,
  ) {}

  /** KDF(x ‖ y ‖ domain ‖ A ‖ S ‖ u8(len) ‖ sid ‖ label, 28): SM4 key (16) ‖ nonce (12). */
  private direction(label: string): { key: Uint8Array; nonce: Uint8Array } {
    const block = model.sm3(
      this.shared.subarray(1),
      DOMAIN,
      this.ephemeral,
      this.server,
      new Uint8Array([this.sessionId.length]),
      this.sessionId,
      ascii(label),
      new Uint8Array([0, 0, 0, 1]),
    );
    return { key: block.slice(0, 16), nonce: block.slice(16, 28) };
  }

  private aad(label: string): Uint8Array {
    return model.concat(
      DOMAIN,
      new Uint8Array([ROUND_VERSION]),
      ascii(label),
      new Uint8Array([this.sessionId.length]),
      this.sessionId,
    );
  }

  sealRound(q1: Uint8Array, proof: Uint8Array): Uint8Array {
    const { key, nonce } = this.direction('request');
    return model.concat(
      new Uint8Array([ROUND_VERSION]),
      this.ephemeral,
      sm4GcmSeal(key, nonce, this.aad('request'), model.concat(q1, proof)),
    );
  }

  /** Opens the ciphertext ‖ tag of a sealed round (after version and A); null if it fails. */
  openRoundBody(sealedBody: Uint8Array): Uint8Array | null {
    const { key, nonce } = this.direction('request');
    return sm4GcmOpen(key, nonce, this.aad('request'), sealedBody);
  }

  sealPartials(partials: Uint8Array): Uint8Array {
    const { key, nonce } = this.direction('response');
    return sm4GcmSeal(key, nonce, this.aad('response'), partials);
  }

  openPartials(sealed: Uint8Array): Uint8Array | null {
    const { key, nonce } = this.direction('response');
    return sm4GcmOpen(key, nonce, this.aad('response'), sealed);
  }
}

/** The phone's channel for this entropy: a = scalar("mcert/transport"), A = [a]G. */
export function clientChannel(
  server: Uint8Array,
  sessionId: Uint8Array,
  entropy: Uint8Array,
): Channel {
  const a = model.derivedScalar('mcert/transport', entropy);
  const shared = model.encodePoint(model.multiply(a, model.decodePoint(server)));
  return new Channel(shared, model.encodePoint(model.multiply(a, model.G)), server, sessionId);
}

/** The server's transport key, as the fake server holds it. */
export class TransportServer {
  readonly publicKey: Uint8Array;

  constructor(private readonly secret: bigint) {
    this.publicKey = model.encodePoint(model.multiply(secret, model.G));
  }

  /** Q1, the PIN proof and the channel of a sealed round, or null if it does not open. */
  openRound(
    sessionId: Uint8Array,
    sealed: Uint8Array,
  ): { q1: Uint8Array; proof: Uint8Array; channel: Channel } | null {
    if (sealed.length !== 1 + 65 + 65 + 97 + 16 || sealed[0] !== ROUND_VERSION) return null;
    const ephemeral = sealed.slice(1, 66);
    let point;
    try {
      point = model.decodePoint(ephemeral);
    } catch {
      return null;
    }
    const shared = model.encodePoint(model.multiply(this.secret, point));
    const channel = new Channel(shared, ephemeral, this.publicKey, sessionId);
    const body = channel.openRoundBody(sealed.subarray(66));
    if (body === null) return null;
    return { q1: body.slice(0, 65), proof: body.slice(65), channel };
  }
}
