/**
 * The typed wrapper over the `mcert-signer` WebAssembly module (wasm ABI version 3, specified
 * byte for byte in `docs/split-key.md`). One module instance holds at most one pending
 * co-signing round; the wrapper copies every input in, every result out, and wipes the input
 * copies (PINs, shares) from module memory before freeing them.
 */

import { AbiVersionMismatchError, ErrorCode, SignerError } from './errors';
import { utf8Decode, utf8Encode } from './utf8';

/** The module ABI version this SDK speaks (`abi_version()` of `wasm-signer/src/abi.rs`). */
export const ABI_VERSION = 3;

/** Length of an uncompressed SEC1 point (P1, Q1, T, the public key P). */
export const POINT_LENGTH = 65;
/** Length of the phone's stored share: version, KDF, iterations, salt, masked scalar. */
export const SHARE_LENGTH = 54;
/** Length of the PIN proof `T ‖ z`. */
export const PROOF_LENGTH = 97;
/** Length of the server's partials `r ‖ s2 ‖ s3`. */
export const PARTIALS_LENGTH = 96;
/** Length of the GCM tag that closes each sealed co-signing message. */
export const TAG_LENGTH = 16;
/**
 * Length of the phone's sealed round: `version (1) ‖ A (65) ‖ SM4-GCM(Q1 ‖ proof) ‖ tag`
 * (docs/split-key.md, "Encrypted round").
 */
export const SEALED_ROUND_LENGTH = 1 + POINT_LENGTH + POINT_LENGTH + PROOF_LENGTH + TAG_LENGTH;
/** Length of the server's sealed partials: `SM4-GCM(r ‖ s2 ‖ s3) ‖ tag`. */
export const SEALED_PARTIALS_LENGTH = PARTIALS_LENGTH + TAG_LENGTH;
/** Fewest entropy bytes the module accepts per call. */
export const MIN_ENTROPY_LENGTH = 32;
/** Most entropy bytes the module accepts per call. */
export const MAX_ENTROPY_LENGTH = 256;

/** Status the module returns on success. */
const STATUS_OK = 0;

/** Import object handed to `instantiate`: always empty, since the signer module imports nothing. */
export type SignerImports = { [module: string]: never };

/** What `instantiate` resolves to: `{ instance }`, or the instance itself. */
export type InstantiateResult = { instance: { exports: unknown } } | { exports: unknown };

/** How to obtain the module. */
export interface LoadSignerOptions<M> {
  /** The module: a package path for `WXWebAssembly`, bytes for `WebAssembly`. */
  module: M;
  /**
   * Instantiates `module` with `imports`: `WXWebAssembly.instantiate` in a mini-program,
   * `WebAssembly.instantiate` in Node or a browser.
   */
  instantiate(module: M, imports: SignerImports): Promise<InstantiateResult>;
}

/** A PIN: text (encoded as UTF-8) or its bytes. The module takes 1 to 64 bytes. */
export type Pin = string | Uint8Array;

/** The outcome of {@link Signer.generateShare}. */
export interface GeneratedShare {
  /** P1 = [d1⁻¹]G, 65 bytes, sent to the server once at enrolment and never stored. */
  p1: Uint8Array;
  /** The PIN-masked share to store on the phone, 54 bytes. */
  share: Uint8Array;
}

/**
 * The phone's first co-signing message, what `POST …/partials` sends: Q1 = [k1]G and the PIN
 * proof `T ‖ z`, sealed to the server's transport key so that a logged request gives no PIN
 * oracle ({@link SEALED_ROUND_LENGTH} bytes).
 */
export interface CosignRound {
  sealedRound: Uint8Array;
}

/** Fields of a `key_enrolment` message (binary as lower-case hex, times as Unix seconds). */
export interface KeyEnrolmentFields {
  serial: string;
  public_key: string;
  uscc: string;
  unit_name: string;
  holder_name: string;
  issued_at: number;
}

/** Fields of a `login_challenge` message. */
export interface LoginChallengeFields {
  session_id: string;
  client_id: string;
  portal_name: string;
  origin: string;
  scopes: string;
  serial: string;
  match_code: string;
  initiator: string;
  initiated_at: number;
  issued_at: number;
  expires_at: number;
}

/** Fields of a `key_check` message. */
export interface KeyCheckFields {
  serial: string;
  purpose: 'verify_pin' | 'change_pin';
  nonce: string;
  issued_at: number;
}

/** One item of a `grant_change` message; times are Unix seconds. */
export interface GrantedItemFields {
  code: string;
  name: string;
  starts_at: number | null;
  ends_at: number | null;
}

/** Fields of a `grant_change` message (事项授权): the grantee's whole new item set at a portal. */
export interface GrantChangeFields {
  /** The granting (primary) certificate. */
  serial: string;
  uscc: string;
  employer_name: string;
  grantee_serial: string;
  client_id: string;
  portal_name: string;
  /** The version of the set it replaces. */
  grant_id: string;
  items: GrantedItemFields[];
  issued_at: number;
}

/** Fields of a `revocation_request` message (证书废除 by the holder). */
export interface RevocationRequestFields {
  serial: string;
  uscc: string;
  unit_name: string;
  cause: string;
  issued_at: number;
}

/** Fields of a `renewal_request` message (年审延期 by the holder). */
export interface RenewalRequestFields {
  serial: string;
  new_serial: string;
  uscc: string;
  unit_name: string;
  holder_name: string;
  not_after: number;
  issued_at: number;
}

/**
 * Fields of a `seal_sign` message: DER(`TBS_Sign`) of GB/T 38540, the holder's seal on a document
 * (docs/split-key.md, "Seal messages"). Times are Unix seconds, binary values lower-case hex.
 */
export interface SealSignFields {
  /** The seal's code (`esID`). */
  seal_id: string;
  seal_name: string;
  /** 1 法定名称章, 2 财务专用章, 3 发票专用章, 4 合同专用章, 5 名章, … */
  seal_type: number;
  /** The seal maker's system identifier. */
  seal_vid: string;
  seal_valid_start: number;
  seal_valid_end: number;
  /** SM3 of each certificate the seal lists: the signing certificate must be among them. */
  cert_sm3s: string[];
  /** `PNG`, `GIF`, `JPG`, `BMP` or `SVG`. */
  picture_type: string;
  /** The picture, hex. */
  picture: string;
  picture_width_mm: number;
  picture_height_mm: number;
  /** When it is signed. */
  time_info: number;
  /** SM3 of the document (for a PDF: of the stamped revision's signed byte ranges). */
  data_hash: string;
  /** `session=…&title=…` as written. */
  property_info: string;
  /** The login session the seal was asked in. */
  session_id: string;
  /** The document's title, decoded. */
  document_title: string;
}

/** Fields of a `pdf_signed_attributes` message: a sealed PDF's CMS signed attributes. */
export interface PdfSignedAttributesFields {
  signing_time: number;
  /** Must be the `data_hash` of the `seal_sign` signed just before. */
  message_digest: string;
}

/** A canonical signed message as `message_describe` renders it, for display and checks. */
export type MessageDescription =
  | { version: 2; kind: 'key_enrolment'; fields: KeyEnrolmentFields }
  | { version: 2; kind: 'login_challenge'; fields: LoginChallengeFields }
  | { version: 2; kind: 'key_check'; fields: KeyCheckFields }
  | { version: 2; kind: 'grant_change'; fields: GrantChangeFields }
  | { version: 2; kind: 'revocation_request'; fields: RevocationRequestFields }
  | { version: 2; kind: 'renewal_request'; fields: RenewalRequestFields }
  | { version: 4; kind: 'seal_sign'; fields: SealSignFields }
  | { version: 1; kind: 'pdf_signed_attributes'; fields: PdfSignedAttributesFields };

/** The signer operations, synchronous once loaded. Inputs are never modified. */
export interface Signer {
  /** ABI version of the loaded module (always {@link ABI_VERSION}). */
  abiVersion(): number;
  /** SM3 digest (GB/T 32905) of `data`, 32 bytes. */
  sm3(data: Uint8Array): Uint8Array;
  /**
   * Verifies a DER-encoded SM2 signature over `message` under a SEC1 public key (65-byte
   * uncompressed or 33-byte compressed), with mcert's distinguishing ID "1234567812345678".
   *
   * @returns `true` if it verifies, `false` if it is well formed but does not verify.
   * @throws {SignerError} with code `InvalidPoint` or `InvalidLength` for a bad key, and
   *   `InvalidSignatureEncoding` for a signature that is not strict DER.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signatureDer: Uint8Array): boolean;
  /**
   * Creates the phone's key half from 32–256 bytes of host entropy: d1, masked under `pin`.
   *
   * @throws {SignerError} `InvalidLength` (entropy), `InvalidPin`, `InvalidScalar`.
   */
  generateShare(entropy: Uint8Array, pin: Pin): GeneratedShare;
  /**
   * Re-masks a share under a new PIN (fresh salt from `entropy`). Every old PIN unmasks
   * *some* scalar, so a wrong `oldPin` is not detected here: check it with the server first.
   *
   * @throws {SignerError} `InvalidShare`, `InvalidPin`, `InvalidLength` (entropy).
   */
  remaskShare(share: Uint8Array, oldPin: Pin, newPin: Pin, entropy: Uint8Array): Uint8Array;
  /**
   * Starts co-signing `message` in session `sessionId` (text is encoded as UTF-8): unmasks
   * the share with `pin`, makes Q1 and the PIN proof and seals them to the server's
   * `transportKey` (SEC1). Keeps the round, and the key its answer opens with, inside the
   * module, replacing (and wiping) any earlier pending round.
   *
   * @throws {SignerError} `InvalidShare`, `InvalidPin`, `InvalidMessage`, `InvalidLength`,
   *   `InvalidPoint` (a transport key that is not a curve point).
   */
  cosignBegin(
    share: Uint8Array,
    pin: Pin,
    sessionId: string | Uint8Array,
    message: Uint8Array,
    transportKey: Uint8Array,
    entropy: Uint8Array,
  ): CosignRound;
  /**
   * Opens the server's `sealedPartials` (SM4-GCM of r ‖ s2 ‖ s3), completes the pending round
   * and checks the result under `publicKey`. Always wipes the pending round.
   *
   * @returns the DER-encoded SM2 signature.
   * @throws {SignerError} `NoPendingSigning`, `TransportRejected` (the answer does not open:
   *   altered, or for another round), `RetryNeeded` (start a new session), `BadSignature` (the
   *   result does not verify), `InvalidLength`, `InvalidScalar`, `InvalidPoint`.
   */
  cosignFinish(sealedPartials: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** Wipes the pending round, if any (after the server refused the round, say). */
  cancelCosign(): void;
  /**
   * Parses a signed message (a canonical `MCERT-SIGN` message, or a seal's DER) into
   * {@link MessageDescription}.
   *
   * @throws {SignerError} `InvalidMessage`.
   */
  describeMessage(message: Uint8Array): MessageDescription;
}

type Fn = (...args: number[]) => number;

/** The exports of ABI version 3, as the module defines them. */
interface SignerExports {
  memory: { buffer: ArrayBuffer };
  abi_version(): number;
  alloc(len: number): number;
  free(ptr: number, len: number): void;
  result_ptr(): number;
  result_len(): number;
  sm3: Fn;
  verify: Fn;
  share_generate: Fn;
  share_remask: Fn;
  cosign_begin: Fn;
  cosign_finish: Fn;
  message_describe: Fn;
}

const EXPORTED_FUNCTIONS = [
  'abi_version',
  'alloc',
  'free',
  'result_ptr',
  'result_len',
  'sm3',
  'verify',
  'share_generate',
  'share_remask',
  'cosign_begin',
  'cosign_finish',
  'message_describe',
] as const;

/**
 * Instantiates the signer module and checks that it speaks {@link ABI_VERSION}.
 *
 * @throws {AbiVersionMismatchError} if the module reports another ABI version.
 * @throws {SignerError} with code `InvalidModule` if it lacks the signer exports.
 */
export async function loadSigner<M>(options: LoadSignerOptions<M>): Promise<Signer> {
  const result = await options.instantiate(options.module, {});
  // Not named `exports`: in the CommonJS output that would shadow the module's own `exports`.
  return new WasmSigner(signerExports(result));
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null;
}

/** Checks what `instantiate` resolved to without trusting its type: hosts differ. */
function signerExports(result: unknown): SignerExports {
  const instance = isObject(result) && 'instance' in result ? result.instance : result;
  const table = isObject(instance) ? instance.exports : undefined;
  if (!isObject(table)) {
    throw new SignerError(ErrorCode.InvalidModule, 'instantiate() returned no module exports');
  }
  // The version comes first: an older module lacks the newer exports, and "wrong version"
  // is the message that tells the developer what to do.
  if (typeof table.abi_version === 'function') {
    const version = (table.abi_version as () => number)() >>> 0;
    if (version !== ABI_VERSION) {
      throw new AbiVersionMismatchError(ABI_VERSION, version);
    }
  }
  const missing: string[] = EXPORTED_FUNCTIONS.filter((name) => typeof table[name] !== 'function');
  // Duck-typed: WXWebAssembly's memory need not share this realm's ArrayBuffer constructor.
  const memory = table.memory;
  const buffer = isObject(memory) ? memory.buffer : undefined;
  if (!isObject(buffer) || typeof buffer.byteLength !== 'number') {
    missing.push('memory');
  }
  if (missing.length > 0) {
    throw new SignerError(
      ErrorCode.InvalidModule,
      `not an mcert-signer module: missing export(s) ${missing.join(', ')}`,
    );
  }
  return table as unknown as SignerExports;
}

function requireBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array`);
  }
  return value;
}

/** Text as UTF-8, bytes as they are; `owned` tells whether the bytes are ours to wipe. */
function textOrBytes(name: string, value: unknown): { bytes: Uint8Array; owned: boolean } {
  if (typeof value === 'string') {
    return { bytes: utf8Encode(value), owned: true };
  }
  return { bytes: requireBytes(name, value), owned: false };
}

/** A byte range in module memory; `(0, 0)` is the empty input. */
type Region = { ptr: number; len: number };

class WasmSigner implements Signer {
  constructor(private readonly api: SignerExports) {}

  abiVersion(): number {
    return this.api.abi_version() >>> 0;
  }

  sm3(data: Uint8Array): Uint8Array {
    requireBytes('data', data);
    this.check(this.call([data], ([d]) => this.api.sm3(d.ptr, d.len)));
    return this.result();
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signatureDer: Uint8Array): boolean {
    requireBytes('publicKey', publicKey);
    requireBytes('message', message);
    requireBytes('signatureDer', signatureDer);
    const status = this.call([publicKey, message, signatureDer], ([pk, msg, sig]) =>
      this.api.verify(pk.ptr, pk.len, msg.ptr, msg.len, sig.ptr, sig.len),
    );
    if (status === ErrorCode.BadSignature) {
      return false;
    }
    this.check(status);
    return true;
  }

  generateShare(entropy: Uint8Array, pin: Pin): GeneratedShare {
    requireBytes('entropy', entropy);
    const pinBytes = textOrBytes('pin', pin);
    try {
      const status = this.call([entropy, pinBytes.bytes], ([e, p]) =>
        this.api.share_generate(e.ptr, e.len, p.ptr, p.len),
      );
      this.check(status);
    } finally {
      if (pinBytes.owned) pinBytes.bytes.fill(0);
    }
    const out = this.result(POINT_LENGTH + SHARE_LENGTH);
    return { p1: out.slice(0, POINT_LENGTH), share: out.slice(POINT_LENGTH) };
  }

  remaskShare(share: Uint8Array, oldPin: Pin, newPin: Pin, entropy: Uint8Array): Uint8Array {
    requireBytes('share', share);
    requireBytes('entropy', entropy);
    const oldBytes = textOrBytes('oldPin', oldPin);
    const newBytes = textOrBytes('newPin', newPin);
    try {
      const status = this.call([share, oldBytes.bytes, newBytes.bytes, entropy], ([s, o, n, e]) =>
        this.api.share_remask(s.ptr, s.len, o.ptr, o.len, n.ptr, n.len, e.ptr, e.len),
      );
      this.check(status);
    } finally {
      if (oldBytes.owned) oldBytes.bytes.fill(0);
      if (newBytes.owned) newBytes.bytes.fill(0);
    }
    return this.result(SHARE_LENGTH);
  }

  cosignBegin(
    share: Uint8Array,
    pin: Pin,
    sessionId: string | Uint8Array,
    message: Uint8Array,
    transportKey: Uint8Array,
    entropy: Uint8Array,
  ): CosignRound {
    requireBytes('share', share);
    requireBytes('message', message);
    requireBytes('transportKey', transportKey);
    requireBytes('entropy', entropy);
    const pinBytes = textOrBytes('pin', pin);
    const session = textOrBytes('sessionId', sessionId);
    try {
      const status = this.call(
        [share, pinBytes.bytes, session.bytes, message, transportKey, entropy],
        ([s, p, id, m, t, e]) =>
          this.api.cosign_begin(
            s.ptr,
            s.len,
            p.ptr,
            p.len,
            id.ptr,
            id.len,
            m.ptr,
            m.len,
            t.ptr,
            t.len,
            e.ptr,
            e.len,
          ),
      );
      this.check(status);
    } finally {
      if (pinBytes.owned) pinBytes.bytes.fill(0);
    }
    return { sealedRound: this.result(SEALED_ROUND_LENGTH) };
  }

  cosignFinish(sealedPartials: Uint8Array, publicKey: Uint8Array): Uint8Array {
    const partials = requireBytes('sealedPartials', sealedPartials);
    requireBytes('publicKey', publicKey);
    const status = this.call([partials, publicKey], ([r, pk]) =>
      this.api.cosign_finish(r.ptr, r.len, pk.ptr, pk.len),
    );
    this.check(status);
    return this.result();
  }

  cancelCosign(): void {
    // `cosign_finish` wipes the pending round whatever its inputs; empty ones make it fail
    // (InvalidLength or NoPendingSigning) without computing anything.
    this.api.cosign_finish(0, 0, 0, 0);
  }

  describeMessage(message: Uint8Array): MessageDescription {
    requireBytes('message', message);
    this.check(this.call([message], ([m]) => this.api.message_describe(m.ptr, m.len)));
    const json = utf8Decode(this.result());
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new SignerError(ErrorCode.InvalidModule, 'message_describe returned invalid JSON');
    }
    if (!isObject(parsed) || typeof parsed.kind !== 'string' || !isObject(parsed.fields)) {
      throw new SignerError(
        ErrorCode.InvalidModule,
        'message_describe returned an unexpected shape',
      );
    }
    return parsed as unknown as MessageDescription;
  }

  /**
   * Copies `inputs` into module memory, runs `export`, then wipes and frees the copies.
   * Returns the status as an unsigned number.
   */
  private call(inputs: Uint8Array[], exported: (regions: Region[]) => number): number {
    const regions: Region[] = [];
    try {
      for (const input of inputs) {
        if (input.length === 0) {
          regions.push({ ptr: 0, len: 0 });
          continue;
        }
        const ptr = this.api.alloc(input.length) >>> 0;
        if (ptr === 0) {
          throw new SignerError(ErrorCode.OutOfMemory);
        }
        regions.push({ ptr, len: input.length });
        // Memory may have grown during alloc, detaching older views: take a fresh one.
        this.memory().set(input, ptr);
      }
      return exported(regions) >>> 0;
    } finally {
      const memory = this.memory();
      for (const { ptr, len } of regions) {
        if (ptr !== 0) {
          // PINs and shares must not linger in freed module memory.
          memory.fill(0, ptr, ptr + len);
          this.api.free(ptr, len);
        }
      }
    }
  }

  private check(status: number): void {
    if (status !== STATUS_OK) {
      throw new SignerError(status);
    }
  }

  /** A copy of the module's result buffer, of `expectedLength` bytes when given. */
  private result(expectedLength?: number): Uint8Array {
    const ptr = this.api.result_ptr() >>> 0;
    const len = this.api.result_len() >>> 0;
    if (expectedLength !== undefined && len !== expectedLength) {
      throw new SignerError(
        ErrorCode.InvalidModule,
        `signer module returned ${len} bytes where the ABI specifies ${expectedLength}`,
      );
    }
    return this.memory().slice(ptr, ptr + len);
  }

  private memory(): Uint8Array {
    return new Uint8Array(this.api.memory.buffer);
  }
}
