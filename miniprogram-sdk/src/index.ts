/**
 * mcert signer for WeChat mini-programs and Node: loads the `mcert-signer` WebAssembly module
 * (built from `wasm-signer/`) and wraps its integer ABI in typed calls.
 *
 * The module has no imports; the host only instantiates it. In a mini-program:
 *
 * ```js
 * const signer = await loadSigner({
 *   module: '/wasm/mcert_signer.wasm',
 *   instantiate: (path, imports) => WXWebAssembly.instantiate(path, imports),
 * });
 * ```
 *
 * In Node: `loadSigner({ module: bytes, instantiate: WebAssembly.instantiate })`.
 */

import { AbiVersionMismatchError, ErrorCode, SignerError } from './errors';

export { AbiVersionMismatchError, ErrorCode, SignerError, describeErrorCode } from './errors';
export type { ErrorCodeValue } from './errors';
export { utf8Encode } from './utf8';

/** The module ABI version this SDK speaks (`abi_version()` of `wasm-signer/src/abi.rs`). */
export const ABI_VERSION = 1;

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
}

/** The exports of ABI version 1, as the module defines them. */
interface SignerExports {
  memory: { buffer: ArrayBuffer };
  abi_version(): number;
  alloc(len: number): number;
  free(ptr: number, len: number): void;
  result_ptr(): number;
  result_len(): number;
  sm3(ptr: number, len: number): number;
  verify(
    pkPtr: number,
    pkLen: number,
    msgPtr: number,
    msgLen: number,
    sigPtr: number,
    sigLen: number,
  ): number;
}

const EXPORTED_FUNCTIONS = [
  'abi_version',
  'alloc',
  'free',
  'result_ptr',
  'result_len',
  'sm3',
  'verify',
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
  const api = signerExports(result);
  const version = api.abi_version() >>> 0;
  if (version !== ABI_VERSION) {
    throw new AbiVersionMismatchError(ABI_VERSION, version);
  }
  return new WasmSigner(api);
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

/** A byte range in module memory; `(0, 0)` is the empty input. */
type Region = { ptr: number; len: number };

class WasmSigner implements Signer {
  constructor(private readonly api: SignerExports) {}

  abiVersion(): number {
    return this.api.abi_version() >>> 0;
  }

  sm3(data: Uint8Array): Uint8Array {
    requireBytes('data', data);
    const status = this.withInputs([data], ([input]) => this.api.sm3(input.ptr, input.len));
    this.check(status);
    return this.result();
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signatureDer: Uint8Array): boolean {
    requireBytes('publicKey', publicKey);
    requireBytes('message', message);
    requireBytes('signatureDer', signatureDer);
    const status = this.withInputs([publicKey, message, signatureDer], ([pk, msg, sig]) =>
      this.api.verify(pk.ptr, pk.len, msg.ptr, msg.len, sig.ptr, sig.len),
    );
    if (status === ErrorCode.BadSignature) {
      return false;
    }
    this.check(status);
    return true;
  }

  /** Copies `inputs` into module memory, runs `call`, and frees the memory again. */
  private withInputs(inputs: Uint8Array[], call: (regions: Region[]) => number): number {
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
      return call(regions) >>> 0;
    } finally {
      for (const { ptr, len } of regions) {
        if (ptr !== 0) {
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

  /** A copy of the module's result buffer. */
  private result(): Uint8Array {
    const ptr = this.api.result_ptr() >>> 0;
    const len = this.api.result_len() >>> 0;
    return this.memory().slice(ptr, ptr + len);
  }

  private memory(): Uint8Array {
    return new Uint8Array(this.api.memory.buffer);
  }
}
