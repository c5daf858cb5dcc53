/**
 * Numeric error codes. 1–999 mirror `SignerError::code()` in `wasm-signer/src/error.rs` and are
 * returned by the wasm module as statuses; 1000 and up arise in this SDK. Codes never change.
 */
export const ErrorCode = {
  /** The signature is well formed but does not verify (also r or s outside [1, n-1]). */
  BadSignature: 1,
  /** The signature is not a strict DER SEQUENCE of two non-negative INTEGERs. */
  InvalidSignatureEncoding: 2,
  /** The public key bytes are not a point on the SM2 curve (or are the identity). */
  InvalidPoint: 3,
  /** An input has the wrong length for its type. */
  InvalidLength: 4,
  /** A distinguishing ID longer than 8191 bytes. */
  DistIdTooLong: 5,
  /** A buffer passed to the module is null with a non-zero length or outside its memory. */
  InvalidBuffer: 6,
  /** The module could not allocate memory. */
  OutOfMemory: 7,
  /** The module speaks a different ABI version than this SDK. */
  AbiVersionMismatch: 1001,
  /** The instantiated module lacks an export this SDK needs. */
  InvalidModule: 1002,
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const DESCRIPTIONS: { [code: number]: string } = {
  [ErrorCode.BadSignature]: 'signature does not verify',
  [ErrorCode.InvalidSignatureEncoding]: 'signature is not a strict DER SEQUENCE of two INTEGERs',
  [ErrorCode.InvalidPoint]: 'not a valid SM2 curve point',
  [ErrorCode.InvalidLength]: 'input has the wrong length',
  [ErrorCode.DistIdTooLong]: 'distinguishing ID exceeds 8191 bytes',
  [ErrorCode.InvalidBuffer]: 'buffer is null or outside the module memory',
  [ErrorCode.OutOfMemory]: 'out of memory in the signer module',
  [ErrorCode.AbiVersionMismatch]: 'signer module ABI version is not supported',
  [ErrorCode.InvalidModule]: 'not an mcert-signer module',
};

/** Human-readable (English, for logs and developers) description of an error code. */
export function describeErrorCode(code: number): string {
  return DESCRIPTIONS[code] ?? `unknown signer error code ${code}`;
}

/** An error from the signer module or this SDK, carrying a stable numeric {@link ErrorCode}. */
export class SignerError extends Error {
  /** Stable numeric code, see {@link ErrorCode}. */
  readonly code: number;

  constructor(code: number, message: string = describeErrorCode(code)) {
    super(message);
    // Keeps `instanceof` working when a build step (WeChat's ES6-to-ES5 option) downlevels
    // classes: subclasses of built-ins otherwise lose their prototype.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'SignerError';
    this.code = code;
  }
}

/** The loaded module's `abi_version()` is not the version this SDK was written for. */
export class AbiVersionMismatchError extends SignerError {
  /** ABI version this SDK speaks. */
  readonly expected: number;
  /** ABI version the module reported. */
  readonly actual: number;

  constructor(expected: number, actual: number) {
    super(
      ErrorCode.AbiVersionMismatch,
      `signer module ABI version ${actual} is not supported ` +
        `(this SDK speaks version ${expected}); ` +
        'ship the mcert_signer.wasm built from the same mcert release as this SDK',
    );
    this.name = 'AbiVersionMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}
