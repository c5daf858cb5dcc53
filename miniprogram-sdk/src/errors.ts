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
  /** A scalar is zero or not below the curve order n (also: entropy that derives 0). */
  InvalidScalar: 8,
  /** A PIN that is empty or longer than 64 bytes. */
  InvalidPin: 9,
  /** `cosignFinish` without a pending `cosignBegin` round. */
  NoPendingSigning: 10,
  /** The round produced s = 0 or r + s = n: start a new session. */
  RetryNeeded: 11,
  /** Not a canonical mcert signed message (`MCERT-SIGN` header, kinds and fields). */
  InvalidMessage: 12,
  /** The stored share is malformed or of an unknown version or KDF. */
  InvalidShare: 13,
  /** A PIN proof that does not verify (raised on the server side only). */
  ProofRejected: 14,
  /**
   * An encrypted co-signing message does not open: altered, sealed to another transport key, or
   * for another round or session.
   */
  TransportRejected: 15,
  /** A sealed co-signing round of a version the module does not read (raised on the server). */
  UnsupportedRoundVersion: 16,
  /** The module speaks a different ABI version than this SDK. */
  AbiVersionMismatch: 1001,
  /** The instantiated module lacks an export this SDK needs, or answered out of contract. */
  InvalidModule: 1002,
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** English (for logs and developers) and Chinese (for the person holding the phone). */
const DESCRIPTIONS: { [code: number]: { en: string; zh: string } } = {
  [ErrorCode.BadSignature]: {
    en: 'signature does not verify',
    zh: '签名验证未通过',
  },
  [ErrorCode.InvalidSignatureEncoding]: {
    en: 'signature is not a strict DER SEQUENCE of two INTEGERs',
    zh: '签名格式错误',
  },
  [ErrorCode.InvalidPoint]: {
    en: 'not a valid SM2 curve point',
    zh: '公钥或签名数据无效（不是有效的 SM2 曲线点）',
  },
  [ErrorCode.InvalidLength]: {
    en: 'input has the wrong length',
    zh: '数据长度错误',
  },
  [ErrorCode.DistIdTooLong]: {
    en: 'distinguishing ID exceeds 8191 bytes',
    zh: '签名者标识过长',
  },
  [ErrorCode.InvalidBuffer]: {
    en: 'buffer is null or outside the module memory',
    zh: '签名模块内部错误（缓冲区无效），请重启小程序后重试',
  },
  [ErrorCode.OutOfMemory]: {
    en: 'out of memory in the signer module',
    zh: '签名模块内存不足，请关闭其他应用后重试',
  },
  [ErrorCode.InvalidScalar]: {
    en: 'scalar is zero or not below the curve order',
    zh: '密钥数据无效，请重试',
  },
  [ErrorCode.InvalidPin]: {
    en: 'PIN must be 1 to 64 bytes',
    zh: 'PIN 码长度无效',
  },
  [ErrorCode.NoPendingSigning]: {
    en: 'no co-signing round is pending (call cosignBegin first)',
    zh: '没有进行中的签名，请重新发起',
  },
  [ErrorCode.RetryNeeded]: {
    en: 'this co-signing round cannot produce a signature; start a new session',
    zh: '本次签名未能完成，请重新发起（重新扫码或重新操作）',
  },
  [ErrorCode.InvalidMessage]: {
    en: 'not a canonical mcert signed message',
    zh: '待签名内容格式无效，已拒绝签名',
  },
  [ErrorCode.InvalidShare]: {
    en: 'key share is malformed or of an unsupported version',
    zh: '本机保存的证书密钥已损坏或版本不受支持，请重新下载证书',
  },
  [ErrorCode.ProofRejected]: {
    en: 'PIN proof rejected',
    zh: 'PIN 码错误',
  },
  [ErrorCode.TransportRejected]: {
    en: 'encrypted co-signing message does not open',
    zh: '服务器返回的签名数据无法解密（可能被篡改或不属于本次签名），请重新发起',
  },
  [ErrorCode.UnsupportedRoundVersion]: {
    en: 'co-signing round version is not supported',
    zh: '签名协议版本不受支持，请更新小程序',
  },
  [ErrorCode.AbiVersionMismatch]: {
    en: 'signer module ABI version is not supported',
    zh: '签名模块版本与小程序不匹配，请更新小程序',
  },
  [ErrorCode.InvalidModule]: {
    en: 'not an mcert-signer module',
    zh: '签名模块加载失败，请更新小程序',
  },
};

/** Human-readable (English, for logs and developers) description of an error code. */
export function describeErrorCode(code: number): string {
  return DESCRIPTIONS[code]?.en ?? `unknown signer error code ${code}`;
}

/** Chinese description of an error code, fit to show the person holding the phone. */
export function describeErrorCodeZh(code: number): string {
  return DESCRIPTIONS[code]?.zh ?? `签名模块错误（代码 ${code}）`;
}

/** An error from the signer module or this SDK, carrying a stable numeric {@link ErrorCode}. */
export class SignerError extends Error {
  /** Stable numeric code, see {@link ErrorCode}. */
  readonly code: number;
  /** Chinese text for the person holding the phone; `message` is English, for logs. */
  readonly userMessage: string;

  constructor(code: number, message: string = describeErrorCode(code)) {
    super(message);
    // Keeps `instanceof` working when a build step (WeChat's ES6-to-ES5 option) downlevels
    // classes: subclasses of built-ins otherwise lose their prototype.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'SignerError';
    this.code = code;
    this.userMessage = describeErrorCodeZh(code);
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

/**
 * Stable codes of {@link McertError}s that arise on the phone. Errors from the server carry the
 * server's own codes (`pin_incorrect`, `key_locked`, …) in {@link McertApiError}.
 */
export const ClientErrorCode = {
  /** The PIN is not exactly six ASCII digits. */
  PinFormat: 'pin_format',
  /** Enrolment without a ticket. */
  TicketMissing: 'ticket_missing',
  /** {@link McertClient.login} without a `wx.login` code. */
  LoginCodeMissing: 'login_code_missing',
  /** {@link McertClient.download} with something that is not an application id. */
  ApplicationIdInvalid: 'application_id_invalid',
  /** The new PIN equals the old one. */
  PinUnchanged: 'pin_unchanged',
  /** No certificate with this serial is stored on this phone. */
  CertificateNotOnDevice: 'certificate_not_on_device',
  /** A serial that is not lower-case hex. */
  SerialInvalid: 'serial_invalid',
  /** The server asked the phone to sign something other than what the operation is about. */
  UnexpectedMessage: 'unexpected_message',
  /** The server's answer does not have the documented shape. */
  InvalidResponse: 'invalid_response',
  /** What is stored on the phone cannot be read back. */
  StorageCorrupted: 'storage_corrupted',
  /** The host's random source failed or returned something unusable. */
  EntropyUnavailable: 'entropy_unavailable',
  /** The request never got an HTTP answer (offline, DNS, TLS, timeout). */
  Network: 'network_error',
  /**
   * Not a login QR code of this server: not a URL, or not exactly `{baseUrl}/q/{id}` with a
   * 22-character base64url id (extra path, query, fragment, user info, `..` tricks). The server
   * answers unknown QR text with the same code.
   */
  LoginQrInvalid: 'login_qr_invalid',
  /** A QR code for another host, scheme or port than the client's server (DESIGN.md §7). */
  LoginQrForeign: 'login_qr_foreign',
  /** {@link McertClient.confirmLogin} by id for a login this client did not scan. */
  LoginNotScanned: 'login_not_scanned',
  /** {@link McertClient.confirmLogin} with a code that is not one of the scan's choices. */
  LoginMatchInvalid: 'login_match_invalid',
  /** {@link McertClient.changeGrants} with an item without a code or a window that is no date. */
  GrantInvalid: 'grant_invalid',
  /**
   * A seal's message is not what the scan showed ({@link McertClient.confirmSeal}): another kind,
   * login session, document title or hash, seal or picture, a seal that does not list this
   * phone's certificate, or a PDF's signed attributes whose digest is not the seal's document
   * hash. Nothing was signed.
   */
  SealMessageMismatch: 'seal_message_mismatch',
  /** {@link McertClient.confirmLogin} on a seal's scan, or {@link McertClient.confirmSeal} on a login's. */
  ScanPurposeMismatch: 'scan_purpose_mismatch',
} as const;

/**
 * Codes the server answers the mini-program account, download and QR login calls with (carried
 * by {@link McertApiError}), from the server's catalogue (`server/src/failure.rs`, published as
 * `ErrorCode` in its OpenAPI document; test/server-codes.test.ts checks this list against it). `mp_not_signed_in` also arises on
 * the phone, as a plain {@link McertError}, when a call needs a session and there is none.
 */
export const ServerErrorCode = {
  /** 401: no mini-program session, or it expired: sign in again (`login`). */
  MpNotSignedIn: 'mp_not_signed_in',
  /** 404: real-name verification not passed yet (未查询到人员信息，请先实名认证). */
  PersonNotVerified: 'person_not_verified',
  /** 403: the face result belongs to someone other than the typed name and ID number. */
  FaceOtherPerson: 'face_other_person',
  /** 403: face verification did not pass. */
  FaceFailed: 'face_failed',
  /** 403: the face result is too old. */
  FaceExpired: 'face_expired',
  /** 409: the ID number is on record under another name. */
  PersonNameMismatch: 'person_name_mismatch',
  /** 409: the phone is not registered to this person (未获取到绑定信息…). */
  PhoneNotOwned: 'phone_not_owned',
  /** 409: the phone is bound to another agent (手机号已被绑定…). */
  PhoneBound: 'phone_bound',
  /** 404: unbinding a phone that is not bound. */
  PhoneNotBound: 'phone_not_bound',
  /**
   * 404 (403 on a login confirmation): the certificate is not one of the person's (active)
   * certificates.
   */
  CertificateNotHeld: 'certificate_not_held',
  /** 409: unlocking a certificate whose key is not locked. */
  KeyNotLocked: 'key_not_locked',
  /** 404: no approved application with this person as agent and a bound phone. */
  NoBindingInfo: 'no_binding_info',
  /** 409: the application has not reached the employment platform yet; try later. */
  ApplicationNotSynced: 'application_not_synced',
  /** 400: the SMS code is wrong. */
  OtpIncorrect: 'otp_incorrect',
  /** 400: no SMS code pending (expired or used). */
  OtpExpired: 'otp_expired',
  /** 429: a new SMS code too soon after the last. */
  OtpResendTooSoon: 'otp_resend_too_soon',
  /** 400: the `wx.login` code is invalid. */
  WeChatCodeInvalid: 'wechat_code_invalid',
  /** 400: the `wx.login` code was used already. */
  WeChatCodeUsed: 'wechat_code_used',
  /** 404: the login session is unknown or expired (二维码已过期，请在网页上刷新). */
  LoginNotFound: 'login_not_found',
  /** 410: the login QR code is past its two minutes (请在门户网站刷新二维码). */
  LoginExpired: 'login_expired',
  /** 409: the login QR code was scanned by someone else or used already. */
  LoginAlreadyScanned: 'login_already_scanned',
  /** 409: the login is not (or no longer) in the state the call needs (scanned by this user). */
  LoginState: 'login_state',
  /**
   * 403: the tapped code is not the one the portal's page shows; the login is ended (it may be
   * a relayed QR code).
   */
  LoginMatchWrong: 'login_match_wrong',
  /**
   * 403: the person holds an active certificate for the employer already; downloading again
   * needs a fresh face result and an SMS code ({@link McertClient.download}'s `reverification`).
   */
  DownloadReverificationRequired: 'download_reverification_required',
  /** 400: the signature was not over the login's current challenge; scan again. */
  LoginChallengeMismatch: 'login_challenge_mismatch',
  /** 429: too many scans; try again in a minute. */
  LoginRateLimited: 'login_rate_limited',
  /** 404: the person holds no active certificate to log in with. */
  NoCertificate: 'no_certificate',
  /** 409: the certificate is not usable (not active, expired, revoked). */
  CertificateNotUsable: 'certificate_not_usable',
  /** 423: six wrong PINs locked the certificate's key; unlock it first. */
  KeyLocked: 'key_locked',
  /** 403: the PIN proof failed; `remainingAttempts` says how many are left. */
  PinIncorrect: 'pin_incorrect',
  /** 400: a co-signing round in the old clear format (version 1); update the mini-program. */
  CosignProtocolOutdated: 'cosign_protocol_outdated',
  /**
   * 400: the sealed round does not open with the server's transport key (sealed to another key,
   * for another session, or altered); not counted as a wrong PIN.
   */
  CosignRoundUndecryptable: 'cosign_round_undecryptable',
  /** 403: only the employer's primary certificate in force grants items (子证书看不到这个功能). */
  GrantNotPrimary: 'grant_not_primary',
  /** 404: the grantee is not a sub-certificate of this employer. */
  GrantGranteeUnknown: 'grant_grantee_unknown',
  /** 400: the grantee is the primary certificate, which may do every item. */
  GrantGranteePrimary: 'grant_grantee_primary',
  /** 409: the grantee is revoked, expired or not downloaded. */
  GrantGranteeNotInForce: 'grant_grantee_not_in_force',
  /** 400: an item that is not in the portal's catalogue. */
  GrantItemUnknown: 'grant_item_unknown',
  /** 400: an item twice in one set. */
  GrantItemTwice: 'grant_item_twice',
  /** 400: a locked default of the grantee's media type left out (失业保险默认实体CA已授权…). */
  GrantItemLocked: 'grant_item_locked',
  /** 400: a grant window that ends before it starts, or has already ended. */
  GrantWindowInvalid: 'grant_window_invalid',
  /** 409: the grant set changed since the screen showed it; refresh and change again. */
  GrantStale: 'grant_stale',
  /** 404: no portal has this client id. */
  GrantPortalUnknown: 'grant_portal_unknown',
  /** 400: the signature was not over a grant change the server can save; start again. */
  GrantChangeMismatch: 'grant_change_mismatch',
  /** 400: a revocation cause that is not one of those offered. */
  RevocationCauseUnknown: 'revocation_cause_unknown',
  /** 409: the certificate was revoked already. */
  CertificateAlreadyRevoked: 'certificate_already_revoked',
} as const;

/**
 * An error of the client layer ({@link McertClient}). `message` is Chinese and fit to show the
 * person holding the phone; `code` is stable and meant for program logic.
 */
export class McertError extends Error {
  /** Stable machine-readable code: a {@link ClientErrorCode} or a server code. */
  readonly code: string;
  /** The same Chinese text as `message` (for symmetry with {@link SignerError.userMessage}). */
  readonly userMessage: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'McertError';
    this.code = code;
    this.userMessage = message;
    if (options !== undefined && 'cause' in options) {
      // ES2022 `cause`, set by hand: the ES2018 target's Error constructor has no options.
      Object.defineProperty(this, 'cause', {
        value: options.cause,
        configurable: true,
        writable: true,
      });
    }
  }
}

/** The server answered with an error: its `{code, message}` and HTTP status. */
export class McertApiError extends McertError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** For `pin_incorrect`: how many tries are left before the key locks. */
  readonly remainingAttempts: number | undefined;

  constructor(status: number, code: string, message: string, remainingAttempts?: number) {
    super(code, message);
    this.name = 'McertApiError';
    this.status = status;
    this.remainingAttempts = remainingAttempts;
  }
}

/** The request got no HTTP answer at all; `cause` is what the host's request function threw. */
export class McertNetworkError extends McertError {
  constructor(cause: unknown) {
    super(ClientErrorCode.Network, '网络连接失败，请检查网络后重试', { cause });
    this.name = 'McertNetworkError';
  }
}
