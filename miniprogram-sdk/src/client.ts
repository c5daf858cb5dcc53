/**
 * The phone's side of mcert's split-key protocol (DESIGN.md §5, docs/split-key.md) over the HTTP
 * API: enrolment, co-signing, PIN checks and changes, and the certificates kept on the phone.
 *
 * What the phone stores per certificate is exactly {serial, share, publicKey, certificatePem,
 * deviceToken}: never P1, never anything that tells a right PIN from a wrong one. Every PIN
 * guess therefore has to go through the server, which counts them.
 */

import { base64Decode, base64Encode } from './base64';
import {
  ClientErrorCode,
  McertApiError,
  McertError,
  McertNetworkError,
  ServerErrorCode,
} from './errors';
import type { EntropySource, HttpRequest, KeyValueStorage, RequestFunction } from './host';
import {
  type MessageDescription,
  POINT_LENGTH,
  SEALED_PARTIALS_LENGTH,
  type Signer,
} from './signer';
import { utf8Encode } from './utf8';

/** Bytes of host entropy handed to the module per operation (it takes 32 to 256). */
const ENTROPY_LENGTH = 64;

/** What {@link McertClient} is built from. */
export interface McertClientOptions {
  /** The loaded signer module ({@link loadSigner}). */
  signer: Signer;
  /** HTTP transport ({@link wxRequest}, {@link fetchRequest}). */
  request: RequestFunction;
  /** Where certificates and shares live ({@link wxStorage}, {@link memoryStorage}). */
  storage: KeyValueStorage;
  /** Secure random bytes ({@link wxEntropy}, {@link webCryptoEntropy}). */
  entropy: EntropySource;
  /** The mcert server, e.g. `https://mcert.example.cn` (no trailing `/api`). */
  baseUrl: string;
  /** Prefix of every storage key; default `mcert:`. */
  storagePrefix?: string;
  /**
   * A fresh `wx.login` code (`() => new Promise(r => wx.login({ success: (x) => r(x.code) }))`).
   * The mini-program session token is kept in memory only, never in storage, so a copy of the
   * phone's storage is not a session; with this, a call that finds no session (a restarted
   * mini-program, an expired session) signs in again silently and is sent once more.
   */
  wxLogin?: () => Promise<string>;
  /**
   * The server's co-signing transport key (65-byte SEC1 point, or its base64 as
   * `GET /api/v1/mp/transport-key` answers it), which every co-signing round is sealed to so
   * that a proxy logging request bodies learns nothing that tests a PIN (docs/split-key.md,
   * "Encrypted round"). Pin it in a released mini-program: a client without it fetches the key
   * from the server once per run and trusts that answer.
   */
  transportKey?: Uint8Array | string;
}

/** A certificate kept on this phone. */
export interface CertificateInfo {
  /** Certificate serial, upper-case hex as the server writes it (`0A1B…`). */
  serial: string;
  /** The SM2 public key P, 65-byte SEC1 uncompressed. */
  publicKey: Uint8Array;
  /** The certificate, PEM. */
  certificatePem: string;
}

/** The server's view of a certificate's key. */
export interface KeyStatus {
  serial: string;
  /** Certificate status as the server names it. */
  status: string;
  /** Locked after six wrong PINs. */
  locked: boolean;
  /** Wrong PINs still allowed before the key locks. */
  remainingAttempts: number;
}

/** A co-signing session the server opened (login, seal, key check, enrolment). */
export interface CosignSession {
  /** The session id, as in `/api/v1/cosign/{session_id}/…`. */
  sessionId: string;
  /** The canonical message to sign (`MCERT-SIGN …`). */
  message: Uint8Array;
}

/** The server's answer to a completed co-signature. */
export interface CosignResult {
  /** What the signature was for (`key_enrolment`, `key_check`, `login`, …). */
  purpose: string;
  serial: string;
  [field: string]: unknown;
}

/** A completed co-signature. */
export interface CosignOutcome {
  /** The DER-encoded SM2 signature, valid under the certificate's public key. */
  signature: Uint8Array;
  /** The server's answer to it. */
  result: CosignResult;
}

/** A mini-program session ({@link McertClient.login}). */
export interface MpSession {
  /** Bearer token of the `/api/v1/mp/*` calls (kept by the client). */
  token: string;
  /** When it ends, RFC 3339. */
  expiresAt: string;
  /** Whether real-name verification was passed already. */
  verified: boolean;
}

/** The verified person behind a mini-program account. */
export interface Person {
  /** 姓名. */
  name: string;
  /** 身份证号, masked (`110105********002X`). */
  idNumber: string;
  /** When the face verification passed, RFC 3339. */
  verifiedAt: string;
  /** The phones bound to the person. */
  phones: string[];
}

/** What {@link McertClient.verifyRealName} sends. */
export interface RealNameInput {
  /** 姓名 as typed. */
  name: string;
  /** 身份证号 as typed. */
  idNumber: string;
  /** The `verifyResult` of `wx.startFacialRecognitionVerify`. */
  verifyResult: string;
}

/** An SMS code was sent. */
export interface PhoneCodeSent {
  /** When the code expires, RFC 3339. */
  expiresAt: string;
  /** Seconds before another code may be asked for. */
  resendAfterSecs: number;
}

/** A phone bound to the person. */
export interface PhoneBinding {
  phone: string;
  /** `already_bound` when it was bound to this person before. */
  outcome: 'bound' | 'already_bound';
}

/** An employer whose certificate the person may download. */
export interface Employer {
  /** Pass to {@link McertClient.download}. */
  applicationId: number;
  /** 单位名称. */
  unitName: string;
  /** 统一社会信用代码. */
  uscc: string;
  /** The phone the application was made with. */
  phone: string;
  /** Whether the application reached the employment platform (download possible). */
  ready: boolean;
  /** The sync state in Chinese, to show. */
  syncStatusLabel: string;
}

/** A certificate the signed-in person downloaded, as the server lists it (已下载证书). */
export interface ServerCertificate {
  /** Serial, upper-case hex as the server writes it. */
  serial: string;
  /** 单位名称. */
  unitName: string;
  /** 统一社会信用代码. */
  uscc: string;
  /** `primary` (the employer's first certificate) or `sub`. */
  role: 'primary' | 'sub';
  /** `active`, `revoked` or `expired`. */
  status: 'active' | 'revoked' | 'expired';
  /** The status in Chinese, to show: 已激活, 已废除 or 已过期. */
  statusLabel: string;
  /** Valid until, RFC 3339. */
  notAfter: string;
  /** Whether it is the person's default certificate (默认证书). */
  default: boolean;
}

/** Why a certificate is revoked (seed 000 §五(一)). */
export type RevocationCause =
  | 'holder_changed'
  | 'phone_changed'
  | 'employer_renamed'
  | 'no_longer_needed'
  | 'key_compromise';

/** A revocation done ({@link McertClient.revokeCertificate}). */
export interface Revocation {
  serial: string;
  /** The RFC 5280 reason in the CRL and OCSP. */
  reason: string;
  cause: RevocationCause;
  /** The cause in Chinese. */
  causeZh: string;
  /** RFC 3339. */
  revokedAt: string;
  /** The holder's signature of the `revocation_request`. */
  signature: Uint8Array;
}

/** A renewal done ({@link McertClient.renewCertificate}). */
export interface Renewal {
  /** The new certificate, which this phone keeps from now on (same key). */
  serial: string;
  /** The certificate it follows, revoked as superseded and removed from this phone. */
  previousSerial: string;
  /** The new certificate's end of validity, RFC 3339. */
  notAfter: string;
  /** The fee the renewal is due in yuan, or null when the certificate renews free. */
  feeYuan: number | null;
  certificatePem: string;
  /** The holder's signature of the `renewal_request`. */
  signature: Uint8Array;
}

/** One entry of a certificate's signature log ({@link McertClient.signatureHistory}). */
export interface SignatureRecord {
  /** Place in the server's hash-chained log. */
  seq: number;
  /** When, RFC 3339. */
  at: string;
  serial: string;
  /** `signed`, or `pin_failed` for a wrong PIN the server refused. */
  outcome: 'signed' | 'pin_failed';
  /** `key_enrolment`, `verify_pin`, `change_pin`, `login`, `grant_change`, … */
  purpose: string | null;
  /** SM3 of the signed message, hex. */
  messageSm3: string | null;
  /** For a login: the login session. */
  loginSession: string | null;
  /** For a login or a grant change: the portal's client id. */
  portal: string | null;
  /** For a grant change: the sub-certificate granted to. */
  grantee: string | null;
}

/** A business item of a portal's catalogue (事项). */
export interface GrantCatalogueItem {
  /** The code ID tokens carry. */
  code: string;
  /** 事项名称. */
  name: string;
  /** 分组. */
  group: string | null;
  /** `physical` or `mobile` when every sub-certificate of that media type has it for good. */
  lockedFor: 'physical' | 'mobile' | null;
  /** The note to show beside a locked item (失业保险默认实体CA已授权并且不能修改). */
  lockedNote: string | null;
}

/** A portal whose items the primary holder grants. */
export interface GrantPortal {
  clientId: string;
  name: string;
  items: GrantCatalogueItem[];
}

/** What a sub-certificate may do at one portal. */
export interface PortalGrant {
  clientId: string;
  /** The item codes it may do there now (granted ones in force and locked defaults). */
  items: string[];
  /** The grants as saved, with their windows (RFC 3339, null for none). */
  grants: { code: string; startsAt: string | null; endsAt: string | null }[];
  /** The version of its grant set there; a change must name it. */
  grantId: string;
}

/** A sub-certificate as the 权限授权 table shows it. */
export interface SubCertificate {
  /** 序号, from 1. */
  index: number;
  serial: string;
  /** `mobile` or `physical`. */
  mediaType: string;
  /** 介质类型: 手机CA or 实体CA. */
  mediaTypeZh: string;
  /** 证书类型名称. */
  certificateTypeZh: string;
  /** 绑定时间, RFC 3339. */
  boundAt: string;
  /** 绑定人身份证号, masked (5327*****3311). */
  holderIdMasked: string;
  holderName: string;
  /** What it may do at each portal. */
  grants: PortalGrant[];
}

/** The primary holder's grant screen ({@link McertClient.grants}). */
export interface GrantOverview {
  /** The primary certificate. */
  serial: string;
  uscc: string;
  employerName: string;
  portals: GrantPortal[];
  subCertificates: SubCertificate[];
}

/** One item of a grant change: a code, optionally within a window. */
export interface ItemGrantInput {
  code: string;
  /** In force from (at once if absent). */
  startsAt?: Date;
  /** In force until, exclusive (without end if absent). */
  endsAt?: Date;
}

/** A sub-certificate's whole new item set at one portal ({@link McertClient.changeGrants}). */
export interface GrantChangeInput {
  /** The sub-certificate's serial. */
  grantee: string;
  /** The portal's client id. */
  clientId: string;
  /** The `grantId` the screen showed for that sub-certificate and portal. */
  grantId: string;
  /** Every item from now on, the locked defaults of its media type included. */
  items: (string | ItemGrantInput)[];
}

/** A grant change co-signed on the phone and saved. */
export interface GrantSaved {
  grantee: string;
  clientId: string;
  /** What the sub-certificate may do at the portal now. */
  items: string[];
  /** The new version of its grant set. */
  grantId: string;
  /** The `grant_change` message the primary's key signed. */
  message: Uint8Array;
  /** The DER SM2 signature over it, valid under the primary certificate's key. */
  signature: Uint8Array;
}

/**
 * The real-name steps again, as unlocking a certificate and downloading one again need them:
 * a fresh face verification and an SMS code to a bound phone.
 */
export interface Reverification {
  /** A fresh `verifyResult` of `wx.startFacialRecognitionVerify` for the verified person. */
  verifyResult: string;
  /** One of the person's bound phones. */
  phone: string;
  /** The SMS code sent to it ({@link McertClient.sendPhoneCode}). */
  code: string;
}

/** What {@link McertClient.unlock} sends. */
export interface UnlockInput extends Reverification {
  /** The locked certificate. */
  serial: string;
}

/** A login QR code of the client's own server ({@link McertClient.parseLoginQr}). */
export interface LoginQr {
  /** The login session id: 22 base64url characters (128 bits). */
  id: string;
  /** The QR text in its canonical form, `{baseUrl}/q/{id}`. */
  text: string;
}

/** The portal (OIDC client) a login is for, as staff registered it with mcert. */
export interface LoginPortal {
  /** The portal's OIDC `client_id`. */
  clientId: string;
  /** Its registered name, to show (就业彩云南). */
  name: string;
  /** Its registered origin, to show (`https://portal.example.cn`). */
  origin: string;
}

/** A certificate the person may log in with, as the scan lists it. */
export interface LoginCertificate {
  /** Serial, upper-case hex as the server writes it. */
  serial: string;
  /** 单位名称. */
  unitName: string;
  /** 统一社会信用代码. */
  uscc: string;
  /** `primary` (the employer's first certificate) or `sub`. */
  role: 'primary' | 'sub';
  /** Whether it is the person's default certificate (listed first). */
  default: boolean;
}

/**
 * Where and when a login was started, as the server saw the browser that asked for it. A
 * relayed QR code (a phishing page showing a real login's QR) carries the relaying site's
 * place and time, not the person's: show it, {@link initiatorText}.
 */
export interface LoginInitiator {
  /** Coarse location of the browser's address (`云南昆明`), when the server knows it. */
  location: string | null;
  /** The address without its host part (`1.2.3.*`), or `未知`. */
  address: string;
  /** Browser family (`Chrome`, `微信`, `非浏览器程序`), when known. */
  browser: string | null;
  /** When the login was started, RFC 3339. */
  startedAt: string;
  /** `location · address · browser`, as signed into the login challenge. */
  summary: string;
}

/**
 * The line the phone shows above the choices: `请求来自 云南昆明 · 1.2.3.* · Chrome · 10 秒前`.
 *
 * @param now the phone's clock, milliseconds (default `Date.now()`).
 */
export function initiatorText(initiator: LoginInitiator, now: number = Date.now()): string {
  const started = Date.parse(initiator.startedAt);
  const seconds = Math.max(0, Math.round((now - started) / 1000));
  const age =
    !Number.isFinite(seconds) ? '' : seconds < 60 ? `${seconds} 秒前` : `${Math.floor(seconds / 60)} 分钟前`;
  return `请求来自 ${initiator.summary}${age === '' ? '' : ` · ${age}`}`;
}

/**
 * A scanned login ({@link McertClient.scanLogin}): everything the phone shows before the person
 * confirms or declines. {@link McertClient.confirmLogin} signs only a challenge that repeats it.
 */
export interface LoginScan {
  /** The login session id (from the QR code). */
  id: string;
  /** Who asks. */
  portal: LoginPortal;
  /** What is asked: `login`. */
  purpose: 'login';
  /** The OIDC scopes asked for (`openid`, `profile`, `employer`). */
  scopes: string[];
  /**
   * Three two-digit codes: show them as buttons; the person taps the one the portal's page
   * shows ({@link McertClient.confirmLogin}). A wrong tap ends the login.
   */
  matchChoices: string[];
  /** Where and when the login was started ({@link initiatorText}). */
  initiator: LoginInitiator;
  /**
   * Set when the phone is known to be in another province than the browser that started the
   * login: show it prominently, above the choices.
   */
  regionWarning: string | null;
  /** When the login session ends, RFC 3339. */
  expiresAt: string;
  /** The person's active certificates, the default first. */
  certificates: LoginCertificate[];
}

/** The document a seal is asked for, as the portal gave it. */
export interface SealDocument {
  /** The title, as signed into the seal (`document_title`). */
  title: string;
  /** SM3 of what the portal uploaded, lower-case hex. */
  sm3: string;
  /**
   * `hash`: the portal sent only the hash, which the seal signs as it is; `pdf`: the portal sent
   * the PDF, which the server stamps, so the seal signs the SM3 of the stamped revision instead.
   */
  kind: 'pdf' | 'hash';
  /** Size of the uploaded PDF, bytes; null for a hash. */
  size: number | null;
}

/** The employer's seal that would be used. */
export interface SealPicture {
  /** The seal's code (`esID`). */
  id: string;
  /** The seal's name. */
  name: string;
  /** `generated` (drawn by the CA) or `traditional` (cut out of the stamped application form). */
  kind: 'generated' | 'traditional';
  /** The picture, PNG. */
  picturePng: Uint8Array;
  widthMm: number;
  heightMm: number;
}

/** The employer a seal is for. */
export interface SealEmployer {
  /** 统一社会信用代码. */
  uscc: string;
  /** 单位名称. */
  name: string;
}

/**
 * A scanned seal request ({@link McertClient.scanLogin}): a login scan whose `purpose` is `seal`,
 * with the document, the seal and the employer to show. {@link McertClient.confirmSeal} signs
 * only a seal that repeats them. `certificates` lists only the person's certificates of that
 * employer; `scopes` may be empty.
 */
export interface SealScan extends Omit<LoginScan, 'purpose'> {
  purpose: 'seal';
  document: SealDocument;
  seal: SealPicture;
  employer: SealEmployer;
}

/** What a QR code asks: a login or a seal. Tell them apart by `purpose`. */
export type Scan = LoginScan | SealScan;

/** A confirmed seal ({@link McertClient.confirmSeal}). */
export interface SealOutcome {
  /** The SM2 signature over DER(`TBS_Sign`). */
  signature: Uint8Array;
  /** The server's answer (`purpose: "seal"`). */
  result: CosignResult;
  /** For a PDF, the second signature, over the PDF's signed attributes (`purpose: "seal_pdf"`). */
  pdf: CosignOutcome | null;
}

/** One of the employer's seals ({@link McertClient.seals}). */
export interface EmployerSeal {
  /** The seal's number at mcert. */
  id: number;
  /** The code (esID) of its current structure, which names the certificates in force; null
   * before the first. */
  esId: string | null;
  uscc: string;
  employerName: string;
  /** `generated` or `traditional`. */
  kind: string;
  status: 'none' | 'making' | 'made' | 'failed';
  /** 未申请印章 / 制作中 / 已制作 / 制作失败. */
  statusLabel: string;
  /** Why making it failed, in Chinese; null unless `failed`. */
  failureReason: string | null;
  widthMm: number;
  heightMm: number;
  version: number;
  /** Serials of the certificates the seal lists. */
  certificates: string[];
  /** Valid from, RFC 3339; null while not made. */
  validStart: string | null;
  /** Valid until, RFC 3339; null while not made. */
  validEnd: string | null;
  /** The picture, PNG; null while not made. */
  picturePng: Uint8Array | null;
}

/** The fields of a message of kind `K`, as `message_describe` renders them. */
type FieldsOf<K extends MessageDescription['kind']> =
  Extract<MessageDescription, { kind: K }> extends { fields: infer F } ? F : never;

/** A login scanned with a client: what was shown, and a confirmation waiting for its PIN. */
interface LoginEntry {
  scan: Scan;
  /** The co-signing session of a confirmation whose PIN was wrong, kept for the retry. */
  pending: { serial: string; matchCode: string; session: CosignSession } | null;
}

/** The record stored per certificate. Exactly these fields; binary values in base64. */
interface StoredCertificate {
  serial: string;
  share: string;
  publicKey: string;
  certificatePem: string;
  deviceToken: string;
}

type Json = { [key: string]: unknown };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const PIN_PATTERN = /^[0-9]{6}$/;

/** Throws {@link McertError} `pin_format` unless `pin` is exactly six ASCII digits. */
export function checkPinFormat(pin: unknown): asserts pin is string {
  if (typeof pin !== 'string' || !PIN_PATTERN.test(pin)) {
    throw new McertError(ClientErrorCode.PinFormat, 'PIN 码必须是 6 位数字');
  }
}

/**
 * A serial in the server's canonical text form: the DER INTEGER content octets in upper-case
 * hex (a `00` byte only to keep a top bit positive), as `openssl x509 -serial` prints it.
 * Accepts any case, a `0x` prefix and `:` separators, so user input and the server agree.
 */
function canonicalSerial(serial: unknown): string {
  const invalid = (): McertError =>
    new McertError(
      ClientErrorCode.SerialInvalid,
      `证书序列号“${String(serial)}”格式不正确（应为十六进制字符）`,
    );
  if (typeof serial !== 'string') throw invalid();
  let digits = serial.trim().replace(/^0x/i, '').replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{1,80}$/.test(digits)) throw invalid();
  if (digits.length % 2 === 1) digits = `0${digits}`;
  while (digits.length > 2 && digits.slice(0, 2) === '00') digits = digits.slice(2);
  if (digits === '00') throw invalid();
  return parseInt(digits[0], 16) >= 8 ? `00${digits}` : digits;
}

function sameSerial(a: string, b: string): boolean {
  try {
    return canonicalSerial(a) === canonicalSerial(b);
  } catch {
    return false;
  }
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return out;
}

function invalidResponse(detail: string): McertError {
  return new McertError(
    ClientErrorCode.InvalidResponse,
    `服务器响应格式不正确（${detail}），请稍后重试或更新小程序`,
  );
}

function sealMismatch(detail: string): McertError {
  return new McertError(
    ClientErrorCode.SealMessageMismatch,
    `服务器要求签署的印章内容与手机上显示的不符（${detail}），已拒绝签名`,
  );
}

function unexpectedMessage(detail: string): McertError {
  return new McertError(
    ClientErrorCode.UnexpectedMessage,
    `服务器要求签署的内容与当前操作不符（${detail}），已拒绝签名`,
  );
}

function stringField(body: unknown, name: string): string {
  const value = isObject(body) ? body[name] : undefined;
  if (typeof value !== 'string' || value === '') throw invalidResponse(`缺少字段 ${name}`);
  return value;
}

function booleanField(body: unknown, name: string): boolean {
  const value = isObject(body) ? body[name] : undefined;
  if (typeof value !== 'boolean') throw invalidResponse(`缺少字段 ${name}`);
  return value;
}

function stringArray(body: unknown, name: string): string[] {
  const value = isObject(body) ? body[name] : undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidResponse(`缺少字段 ${name}`);
  }
  return value as string[];
}

function arrayField(body: unknown, name: string): unknown[] {
  const value = isObject(body) ? body[name] : undefined;
  if (!Array.isArray(value)) throw invalidResponse(`缺少字段 ${name}`);
  return value;
}

function nullableString(body: unknown, name: string): string | null {
  const value = isObject(body) ? body[name] : undefined;
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw invalidResponse(`字段 ${name} 不是字符串`);
  return value;
}

function grantOverviewOf(body: unknown): GrantOverview {
  const portalGrant = (grant: unknown): PortalGrant => ({
    clientId: stringField(grant, 'client_id'),
    items: stringArray(grant, 'items'),
    grants: arrayField(grant, 'grants').map((saved) => ({
      code: stringField(saved, 'code'),
      startsAt: nullableString(saved, 'starts_at'),
      endsAt: nullableString(saved, 'ends_at'),
    })),
    grantId: stringField(grant, 'grant_id'),
  });
  return {
    serial: canonicalSerial(stringField(body, 'serial')),
    uscc: stringField(body, 'uscc'),
    employerName: stringField(body, 'employer_name'),
    portals: arrayField(body, 'portals').map((portal) => ({
      clientId: stringField(portal, 'client_id'),
      name: stringField(portal, 'name'),
      items: arrayField(portal, 'items').map((item) => {
        const lockedFor = nullableString(item, 'locked_for');
        if (lockedFor !== null && lockedFor !== 'physical' && lockedFor !== 'mobile') {
          throw invalidResponse(`未知的介质类型 ${lockedFor}`);
        }
        return {
          code: stringField(item, 'code'),
          name: stringField(item, 'name'),
          group: nullableString(item, 'group'),
          lockedFor,
          lockedNote: nullableString(item, 'locked_note'),
        };
      }),
    })),
    subCertificates: arrayField(body, 'sub_certificates').map((sub) => {
      const index = isObject(sub) ? sub.index : undefined;
      if (typeof index !== 'number') throw invalidResponse('缺少字段 index');
      return {
        index,
        serial: canonicalSerial(stringField(sub, 'serial')),
        mediaType: stringField(sub, 'media_type'),
        mediaTypeZh: stringField(sub, 'media_type_zh'),
        certificateTypeZh: stringField(sub, 'certificate_type_zh'),
        boundAt: stringField(sub, 'bound_at'),
        holderIdMasked: stringField(sub, 'holder_id_masked'),
        holderName: stringField(sub, 'holder_name'),
        grants: arrayField(sub, 'grants').map(portalGrant),
      };
    }),
  };
}

/** Unix seconds of an optional window end, checked to be a date. */
function windowSeconds(date: Date | undefined, what: string): number | null {
  if (date === undefined) return null;
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new McertError(ClientErrorCode.GrantInvalid, `授权${what}不是有效的时间`);
  }
  return Math.floor(date.getTime() / 1000);
}

function personOf(body: unknown): Person {
  const phones = isObject(body) ? body.phones : undefined;
  if (!Array.isArray(phones) || !phones.every((p) => typeof p === 'string')) {
    throw invalidResponse('缺少字段 phones');
  }
  return {
    name: stringField(body, 'name'),
    idNumber: stringField(body, 'id_number'),
    verifiedAt: stringField(body, 'verified_at'),
    phones: phones as string[],
  };
}

function bytesField(body: unknown, name: string, length?: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = base64Decode(stringField(body, name));
  } catch (error) {
    if (error instanceof McertError) throw error;
    throw invalidResponse(`字段 ${name} 不是 base64`);
  }
  if (length !== undefined && bytes.length !== length) {
    throw invalidResponse(`字段 ${name} 应为 ${length} 字节`);
  }
  return bytes;
}

function numberField(body: unknown, name: string): number {
  const value = isObject(body) ? body[name] : undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidResponse(`缺少字段 ${name}`);
  return value;
}

function scanOf(body: unknown): Scan {
  const purpose = isObject(body) ? body.purpose : undefined;
  if (purpose !== 'seal') return loginScanOf(body);
  const seal = isObject(body) ? body.seal : undefined;
  const document = isObject(body) ? body.document : undefined;
  const employer = isObject(body) ? body.employer : undefined;
  const documentKind = stringField(document, 'kind');
  if (documentKind !== 'pdf' && documentKind !== 'hash') {
    throw invalidResponse(`未知的文件类型 ${documentKind}`);
  }
  const sm3 = stringField(document, 'sm3').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sm3)) throw invalidResponse('字段 sm3 不是 SM3 摘要');
  const size = isObject(document) ? document.size : undefined;
  if (size !== undefined && size !== null && typeof size !== 'number') {
    throw invalidResponse('字段 size 不是数字');
  }
  const sealKind = stringField(seal, 'kind');
  if (sealKind !== 'generated' && sealKind !== 'traditional') {
    throw invalidResponse(`未知的印章类型 ${sealKind}`);
  }
  // A seal asks for no OIDC scopes: the server may leave them out.
  const withScopes = isObject(body) && body.scopes === undefined ? { ...body, scopes: [] } : body;
  const common = loginScanOf({ ...(withScopes as Json), purpose: 'login' });
  return {
    ...common,
    purpose: 'seal',
    document: {
      title: stringField(document, 'title'),
      sm3,
      kind: documentKind,
      size: typeof size === 'number' ? size : null,
    },
    seal: {
      id: stringField(seal, 'id'),
      name: stringField(seal, 'name'),
      kind: sealKind,
      picturePng: bytesField(seal, 'picture_png'),
      widthMm: numberField(seal, 'width_mm'),
      heightMm: numberField(seal, 'height_mm'),
    },
    employer: { uscc: stringField(employer, 'uscc'), name: stringField(employer, 'name') },
  };
}

function employerSealOf(item: unknown): EmployerSeal {
  const status = stringField(item, 'status');
  if (status !== 'none' && status !== 'making' && status !== 'made' && status !== 'failed') {
    throw invalidResponse(`未知的印章状态 ${status}`);
  }
  const picture = nullableString(item, 'picture_png');
  return {
    id: numberField(item, 'id'),
    esId: nullableString(item, 'es_id'),
    uscc: stringField(item, 'uscc'),
    employerName: stringField(item, 'employer_name'),
    kind: stringField(item, 'kind'),
    status,
    statusLabel: stringField(item, 'status_label'),
    failureReason: nullableString(item, 'failure_reason'),
    widthMm: numberField(item, 'width_mm'),
    heightMm: numberField(item, 'height_mm'),
    version: numberField(item, 'version'),
    certificates: stringArray(item, 'certificates').map(canonicalSerial),
    validStart: nullableString(item, 'valid_start'),
    validEnd: nullableString(item, 'valid_end'),
    picturePng: picture === null ? null : bytesField(item, 'picture_png'),
  };
}

function loginScanOf(body: unknown): LoginScan {
  const portal = isObject(body) ? body.portal : undefined;
  const scopes = isObject(body) ? body.scopes : undefined;
  const certificates = isObject(body) ? body.certificates : undefined;
  const choices = isObject(body) ? body.match_choices : undefined;
  const initiator = isObject(body) ? body.initiator : undefined;
  const warning = isObject(body) ? body.region_warning : undefined;
  const purpose = stringField(body, 'purpose');
  if (!Array.isArray(choices) || !choices.every((c) => typeof c === 'string' && /^[0-9]{2}$/.test(c))) {
    throw invalidResponse('缺少字段 match_choices');
  }
  const optional = (value: unknown, name: string): string | null => {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'string') throw invalidResponse(`字段 ${name} 不是字符串`);
    return value;
  };
  if (purpose !== 'login') throw invalidResponse(`未知的扫码用途 ${purpose}`);
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string')) {
    throw invalidResponse('缺少字段 scopes');
  }
  if (!Array.isArray(certificates)) throw invalidResponse('缺少字段 certificates');
  return {
    id: stringField(body, 'id'),
    portal: {
      clientId: stringField(portal, 'client_id'),
      name: stringField(portal, 'name'),
      origin: stringField(portal, 'origin'),
    },
    purpose,
    scopes: scopes as string[],
    matchChoices: choices as string[],
    initiator: {
      location: optional(isObject(initiator) ? initiator.location : undefined, 'location'),
      address: stringField(initiator, 'address'),
      browser: optional(isObject(initiator) ? initiator.browser : undefined, 'browser'),
      startedAt: stringField(initiator, 'started_at'),
      summary: stringField(initiator, 'summary'),
    },
    regionWarning: optional(warning, 'region_warning'),
    expiresAt: stringField(body, 'expires_at'),
    certificates: certificates.map((item: unknown) => {
      const role = stringField(item, 'role');
      if (role !== 'primary' && role !== 'sub') throw invalidResponse(`未知的证书角色 ${role}`);
      return {
        serial: canonicalSerial(stringField(item, 'serial')),
        unitName: stringField(item, 'unit_name'),
        uscc: stringField(item, 'uscc'),
        role,
        default: booleanField(item, 'default'),
      };
    }),
  };
}

/** A login session id: 128 bits in base64url, 22 characters. */
const LOGIN_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** Longer QR text is not a login QR code of any mcert server. */
const MAX_QR_LENGTH = 2048;

/** Scheme, host and port of a URL, lower-cased, the default port left out; and its path. */
interface UrlParts {
  origin: string;
  /** The path exactly as written (never normalised: `/q/../x` stays as it is). */
  path: string;
  /** Query and fragment as written, with their `?` / `#`. */
  rest: string;
  /** Whether the authority carries user info (`user@host`). */
  userInfo: boolean;
}

const DEFAULT_PORTS: { [scheme: string]: string } = { http: '80', https: '443' };

/**
 * Splits an absolute URL by hand (WeChat's JS engine has no `URL`). Null for anything that is
 * not `scheme://host[:port]…` with a plain host; `\`, blanks and control characters, which
 * URL parsers treat in diverging ways, are not accepted anywhere.
 */
function urlParts(text: string): UrlParts | null {
  if (/[\s\\\u0000-\u001f\u007f]/.test(text)) return null;
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(.*)$/.exec(text);
  if (match === null) return null;
  const scheme = match[1].toLowerCase();
  let authority = match[2];
  const at = authority.lastIndexOf('@');
  const userInfo = at >= 0;
  if (userInfo) authority = authority.slice(at + 1);
  const hostPort = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::([0-9]{0,5}))?$/.exec(authority);
  if (hostPort === null) return null;
  const host = hostPort[1].toLowerCase();
  let port = hostPort[2] ?? '';
  if (port !== '') port = String(Number(port));
  if (port === '' || port === DEFAULT_PORTS[scheme]) port = '';
  return {
    origin: `${scheme}://${host}${port === '' ? '' : `:${port}`}`,
    path: match[3],
    rest: match[4],
    userInfo,
  };
}

function loginQrInvalid(): McertError {
  return new McertError(
    ClientErrorCode.LoginQrInvalid,
    '这不是 mcert 登录二维码，请扫描网站登录页面上的二维码',
  );
}

function cosignSession(body: unknown): CosignSession {
  return { sessionId: stringField(body, 'session_id'), message: bytesField(body, 'message') };
}

/** The co-signing round version this SDK seals (docs/split-key.md, "Encrypted round"). */
const ROUND_VERSION = 2;

/** A transport key given as bytes or base64, checked for the shape of a SEC1 point. */
function transportKeyBytes(key: Uint8Array | string): Uint8Array {
  let bytes: Uint8Array | null = null;
  if (key instanceof Uint8Array) {
    bytes = key.slice();
  } else if (typeof key === 'string') {
    try {
      bytes = base64Decode(key.trim());
    } catch {
      bytes = null;
    }
  }
  if (bytes === null || !((bytes.length === 65 && bytes[0] === 4) || bytes.length === 33)) {
    throw new TypeError('transportKey must be a 65-byte SEC1 point (or 33 compressed), or its base64');
  }
  return bytes;
}

/** Whether `haystack` contains `needle` as a contiguous run. */
function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

/** The DER inside a PEM block, or null. */
function pemBody(pem: string): Uint8Array | null {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (match === null) return null;
  try {
    return base64Decode(match[1].replace(/\s+/g, ''));
  } catch {
    return null;
  }
}

/**
 * One co-signing round at a time per module instance: the module keeps a single pending round,
 * and a second `cosignBegin` during the network wait of the first would replace it.
 */
const signerQueues = new WeakMap<object, Promise<void>>();

function exclusive<T>(key: object, task: () => Promise<T>): Promise<T> {
  const previous = signerQueues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  signerQueues.set(
    key,
    run.then(
      () => undefined,
      () => undefined,
    ),
  );
  return run;
}

/**
 * The mcert client of one phone. All methods are asynchronous and throw {@link McertError}
 * (Chinese `message`, stable `code`): {@link McertApiError} for the server's refusals,
 * {@link McertNetworkError} when there is no answer; {@link SignerError} from the module.
 */
export class McertClient {
  private readonly signer: Signer;
  private readonly request: RequestFunction;
  private readonly storage: KeyValueStorage;
  private readonly entropy: EntropySource;
  private readonly baseUrl: string;
  private readonly prefix: string;
  /** Serialises read-modify-write of the index of serials. */
  private indexUpdate: Promise<void> = Promise.resolve();
  /** The mini-program session token: in memory only, `null` until signed in. */
  private mpToken: string | null = null;
  private readonly wxLogin: (() => Promise<string>) | undefined;
  /**
   * Logins scanned with this client and not yet confirmed or declined: what was shown, and the
   * co-signing session of a confirmation that is waiting for a (re-typed) PIN.
   */
  private readonly logins = new Map<string, LoginEntry>();
  /** The transport key: pinned, or fetched on first use ({@link McertClientOptions}). */
  private transportKey: Promise<Uint8Array> | null;

  constructor(options: McertClientOptions) {
    this.signer = options.signer;
    this.request = options.request;
    this.storage = options.storage;
    this.entropy = options.entropy;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.prefix = options.storagePrefix ?? 'mcert:';
    this.wxLogin = options.wxLogin;
    this.transportKey =
      options.transportKey === undefined
        ? null
        : Promise.resolve(transportKeyBytes(options.transportKey));
  }

  /**
   * Downloads a certificate: creates the phone's key half under `pin`, enrols it with the
   * one-time `ticket`, co-signs the enrolment message and stores the result.
   *
   * @throws {McertError} `pin_format` before anything else; {@link McertApiError}
   *   `enrolment_ticket_invalid` for a used or expired ticket; `unexpected_message` if the
   *   server asks to sign something other than this enrolment.
   */
  async enrol(ticket: string, pin: string): Promise<CertificateInfo> {
    checkPinFormat(pin);
    if (typeof ticket !== 'string' || ticket.trim() === '') {
      throw new McertError(ClientErrorCode.TicketMissing, '缺少下载凭证，请重新进入证书下载页面');
    }
    return this.enrolShare(pin, (p1) =>
      this.call('POST', '/api/v1/enrolments', { ticket: ticket.trim(), p1 }),
    );
  }

  /**
   * Generates the phone's key half under `pin`, hands P1 to `start` (which posts it and
   * returns the server's 201 body `{serial, public_key, cosign}`), checks the enrolment message,
   * co-signs it and stores the certificate. The one path of {@link enrol} and {@link download}.
   */
  private async enrolShare(
    pin: string,
    start: (p1: string) => Promise<unknown>,
  ): Promise<CertificateInfo> {
    const entropy = await this.randomBytes();
    let generated;
    try {
      generated = this.signer.generateShare(entropy, pin);
    } finally {
      entropy.fill(0);
    }
    let body: unknown;
    try {
      body = await start(base64Encode(generated.p1));
    } finally {
      // P1 is needed for nothing else and must not be kept.
      generated.p1.fill(0);
    }
    const serial = canonicalSerial(stringField(body, 'serial'));
    const publicKey = bytesField(body, 'public_key', POINT_LENGTH);
    const session = cosignSession(isObject(body) ? body.cosign : undefined);
    const fields = this.expectMessage(session, 'key_enrolment', serial, '应为证书下载');
    if (fields.public_key !== toHex(publicKey)) {
      throw unexpectedMessage('公钥不一致');
    }

    const record: StoredCertificate = {
      serial,
      share: base64Encode(generated.share),
      publicKey: base64Encode(publicKey),
      certificatePem: '',
      deviceToken: '',
    };
    const { result } = await this.cosignWith(record, session, pin);
    const certificatePem = stringField(result, 'certificate');
    const deviceToken = stringField(result, 'device_token');
    const der = pemBody(certificatePem);
    if (der === null || !containsBytes(der, publicKey)) {
      throw invalidResponse('证书不含本机密钥对应的公钥');
    }
    record.certificatePem = certificatePem;
    record.deviceToken = deviceToken;
    await this.save(record);
    return { serial, publicKey, certificatePem };
  }

  /**
   * Signs in to the mini-program account with the code `wx.login` gave. The session token is
   * kept in memory only: a copy of the phone's storage is not a session. A restarted
   * mini-program signs in again (silently, with the `wxLogin` option).
   *
   * @throws {McertApiError} `wechat_code_invalid`, `wechat_code_used`, `wechat_rate_limited`,
   *   `wechat_risky_user`, `wechat_unavailable`.
   */
  async login(code: string): Promise<MpSession> {
    if (typeof code !== 'string' || code.trim() === '') {
      throw new McertError(ClientErrorCode.LoginCodeMissing, '缺少微信登录凭证，请重新进入小程序');
    }
    const body = await this.call('POST', '/api/v1/mp/session', { code: code.trim() });
    const session: MpSession = {
      token: stringField(body, 'token'),
      expiresAt: stringField(body, 'expires_at'),
      verified: booleanField(body, 'verified'),
    };
    this.mpToken = session.token;
    return session;
  }

  /** Signs out of the mini-program account; the local session is forgotten even if the server
   * no longer knew it. Does nothing when not signed in. */
  async logout(): Promise<void> {
    const token = this.mpToken;
    if (token === null) return;
    try {
      await this.call('DELETE', '/api/v1/mp/session', undefined, token);
    } catch (error) {
      if (!(error instanceof McertApiError && error.code === ServerErrorCode.MpNotSignedIn)) {
        throw error;
      }
    }
    this.mpToken = null;
  }

  /**
   * The verified person of the signed-in account (ID number masked) and their bound phones.
   *
   * @throws {McertApiError} `person_not_verified` before {@link verifyRealName};
   *   {@link McertError} `mp_not_signed_in` before {@link login}.
   */
  async me(): Promise<Person> {
    return personOf(await this.mpCall('GET', '/api/v1/mp/me'));
  }

  /**
   * Real-name verification: the name and ID number the person typed, and the `verifyResult`
   * that `wx.startFacialRecognitionVerify` gave for them.
   *
   * @throws {McertApiError} `face_other_person`, `face_failed`, `face_expired` (403),
   *   `person_name_mismatch` (409), an ID-number format code (400).
   */
  async verifyRealName(input: RealNameInput): Promise<Person> {
    const body = await this.mpCall('POST', '/api/v1/mp/real-name', {
      name: input.name,
      id_number: input.idNumber,
      verify_result: input.verifyResult,
    });
    return personOf(body);
  }

  /**
   * Sends an SMS code to `phone` to prove it before {@link bindPhone}.
   *
   * @throws {McertApiError} `phone_bound` (409) when someone else bound it,
   *   `otp_resend_too_soon` (429), a phone format code (400).
   */
  async sendPhoneCode(phone: string): Promise<PhoneCodeSent> {
    const body = await this.mpCall('POST', '/api/v1/mp/phone-codes', { phone });
    const resend = isObject(body) ? body.resend_after_secs : undefined;
    if (typeof resend !== 'number') throw invalidResponse('缺少字段 resend_after_secs');
    return { expiresAt: stringField(body, 'expires_at'), resendAfterSecs: resend };
  }

  /**
   * Binds `phone` to the verified person with the SMS `code`.
   *
   * @throws {McertApiError} `phone_not_owned` (409, 未获取到绑定信息…), `phone_bound` (409),
   *   `otp_incorrect`, `otp_expired`, `person_not_verified`.
   */
  async bindPhone(phone: string, code: string): Promise<PhoneBinding> {
    const body = await this.mpCall('POST', '/api/v1/mp/phones', { phone, code });
    const outcome = stringField(body, 'outcome');
    if (outcome !== 'bound' && outcome !== 'already_bound') {
      throw invalidResponse(`未知的绑定结果 ${outcome}`);
    }
    return { phone: stringField(body, 'phone'), outcome };
  }

  /** Unbinds `phone` from the signed-in person. @throws {McertApiError} `phone_not_bound`. */
  async unbindPhone(phone: string): Promise<void> {
    await this.mpCall('DELETE', `/api/v1/mp/phones/${encodeURIComponent(phone)}`);
  }

  /**
   * The approved applications whose agent is the verified person, applied for with a bound
   * phone; `ready` once the application reached the employment platform.
   *
   * @throws {McertApiError} `no_binding_info` (404) when there is none.
   */
  async employers(): Promise<Employer[]> {
    const body = await this.mpCall('GET', '/api/v1/mp/employers');
    if (!Array.isArray(body)) throw invalidResponse('单位列表不是数组');
    return body.map((item: unknown) => {
      const id = isObject(item) ? item.application_id : undefined;
      const ready = isObject(item) ? item.ready : undefined;
      if (typeof id !== 'number') throw invalidResponse('缺少字段 application_id');
      if (typeof ready !== 'boolean') throw invalidResponse('缺少字段 ready');
      return {
        applicationId: id,
        unitName: stringField(item, 'unit_name'),
        uscc: stringField(item, 'uscc'),
        phone: stringField(item, 'phone'),
        ready,
        syncStatusLabel: stringField(item, 'sync_status_label'),
      };
    });
  }

  /**
   * Downloads the certificate of application `applicationId` (one of {@link employers}) into
   * this phone under `pin`: the same enrolment as {@link enrol}, started by the signed-in
   * account instead of a ticket. A download to a new phone replaces the old phone's
   * certificate once it is active, and the holder gets an SMS. While the person holds an active
   * (or PIN-locked) certificate for the employer, downloading again needs `reverification`:
   * the real-name steps again, as for {@link unlock}.
   *
   * @throws {McertError} `pin_format` before anything else, `mp_not_signed_in`;
   *   {@link McertApiError} `application_not_synced` (409), `no_binding_info` (404),
   *   `download_reverification_required` (403) without `reverification` when it is needed,
   *   `face_other_person`, `face_expired`, `face_failed` (403), `otp_incorrect` (400).
   */
  async download(
    applicationId: number,
    pin: string,
    reverification?: Reverification,
  ): Promise<CertificateInfo> {
    checkPinFormat(pin);
    if (typeof applicationId !== 'number' || !(applicationId > 0) || applicationId % 1 !== 0) {
      throw new McertError(
        ClientErrorCode.ApplicationIdInvalid,
        `申请编号“${String(applicationId)}”不正确，请从单位列表中选择`,
      );
    }
    const body: Json = { application_id: applicationId };
    if (reverification !== undefined) {
      body.reverification = {
        verify_result: reverification.verifyResult,
        phone: reverification.phone,
        code: reverification.code,
      };
    }
    return this.enrolShare(pin, (p1) =>
      this.mpCall('POST', '/api/v1/mp/downloads', { ...body, p1 }),
    );
  }

  /**
   * The certificates the signed-in person downloaded (on any phone), with their role, status
   * and which one is the default.
   *
   * @throws {McertApiError} `person_not_verified` (404) before {@link verifyRealName}.
   */
  async serverCertificates(): Promise<ServerCertificate[]> {
    const body = await this.mpCall('GET', '/api/v1/mp/certificates');
    if (!Array.isArray(body)) throw invalidResponse('证书列表不是数组');
    return body.map((item: unknown) => {
      const role = stringField(item, 'role');
      if (role !== 'primary' && role !== 'sub') throw invalidResponse(`未知的证书角色 ${role}`);
      const status = stringField(item, 'status');
      if (status !== 'active' && status !== 'revoked' && status !== 'expired') {
        throw invalidResponse(`未知的证书状态 ${status}`);
      }
      return {
        serial: canonicalSerial(stringField(item, 'serial')),
        unitName: stringField(item, 'unit_name'),
        uscc: stringField(item, 'uscc'),
        role,
        status,
        statusLabel: stringField(item, 'status_label'),
        notAfter: stringField(item, 'not_after'),
        default: booleanField(item, 'default'),
      };
    });
  }

  /**
   * Makes `serial` the person's default certificate (默认证书).
   *
   * @throws {McertError} `serial_invalid`; {@link McertApiError} `certificate_not_held` (404)
   *   unless it is one of the person's active certificates.
   */
  async setDefault(serial: string): Promise<void> {
    const normalised = canonicalSerial(serial);
    await this.mpCall('PUT', `/api/v1/mp/certificates/${normalised}/default`);
  }

  /**
   * Unlocks a certificate locked after six wrong PINs by repeating real-name verification: a
   * fresh face result and an SMS code sent to one of the person's bound phones.
   *
   * @throws {McertError} `serial_invalid`; {@link McertApiError} `face_other_person`,
   *   `face_expired`, `face_failed` (403), `otp_incorrect`, `otp_expired` (400),
   *   `phone_not_bound`, `certificate_not_held` (404), `key_not_locked` (409).
   */
  async unlock(input: UnlockInput): Promise<void> {
    const normalised = canonicalSerial(input.serial);
    await this.mpCall('POST', `/api/v1/mp/certificates/${normalised}/unlock`, {
      verify_result: input.verifyResult,
      phone: input.phone,
      code: input.code,
    });
  }

  /**
   * Reads the text of a login QR code. Only `{baseUrl}/q/{id}` of this client's own server is
   * accepted — the same scheme, host and port, exactly that path, a 22-character base64url id,
   * no user info, query or fragment — so a QR code put up by another site cannot start a login
   * here (DESIGN.md §7). Text that WeChat passes URL-encoded (the `q` launch option of a
   * mini-program opened by scanning) is decoded first. Sends nothing.
   *
   * @throws {McertError} `login_qr_foreign` for another host, scheme or port;
   *   `login_qr_invalid` for anything else that is not such a URL.
   */
  parseLoginQr(text: string): LoginQr {
    if (typeof text !== 'string') throw loginQrInvalid();
    let raw = text.trim();
    if (/^https?%3A%2F%2F/i.test(raw)) {
      try {
        raw = decodeURIComponent(raw);
      } catch {
        throw loginQrInvalid();
      }
    }
    if (raw === '' || raw.length > MAX_QR_LENGTH) throw loginQrInvalid();
    const qr = urlParts(raw);
    if (qr === null) throw loginQrInvalid();
    const server = urlParts(this.baseUrl);
    if (server === null || qr.origin !== server.origin) {
      throw new McertError(
        ClientErrorCode.LoginQrForeign,
        `该二维码来自其他网站（${qr.origin}），不是本平台的登录二维码，已拒绝。` +
          '请只扫描登录页面上的二维码',
      );
    }
    const prefix = `${server.path}/q/`;
    const id = qr.path.slice(prefix.length);
    if (
      qr.userInfo ||
      qr.rest !== '' ||
      qr.path.slice(0, prefix.length) !== prefix ||
      !LOGIN_ID_PATTERN.test(id)
    ) {
      throw loginQrInvalid();
    }
    return { id, text: `${server.origin}${prefix}${id}` };
  }

  /**
   * Scans a login QR code ({@link parseLoginQr} first; a foreign or malformed code is refused
   * without a request): the server marks the login scanned by this account and answers what to
   * show — the portal, what it asks, the match code and the certificates to choose from. A QR
   * code of a seal request answers a {@link SealScan} (`purpose: 'seal'`), with the document,
   * the seal and the employer: confirm it with {@link confirmSeal}.
   *
   * @throws {McertError} `login_qr_foreign`, `login_qr_invalid`, `mp_not_signed_in`;
   *   {@link McertApiError} `login_not_found` (404), `login_expired` (410),
   *   `login_already_scanned` (409), `person_not_verified`, `no_certificate` (404),
   *   `login_rate_limited` (429).
   */
  async scanLogin(qrText: string): Promise<Scan> {
    const qr = this.parseLoginQr(qrText);
    const scan = scanOf(await this.mpCall('POST', '/api/v1/mp/logins', { qr: qr.text }));
    if (scan.id !== qr.id) throw invalidResponse('登录会话编号与二维码不一致');
    // A few at most are ever open; drop the oldest beyond that.
    for (const old of this.logins.keys()) {
      if (this.logins.size < 8) break;
      this.logins.delete(old);
    }
    this.logins.set(scan.id, { scan, pending: null });
    return scan;
  }

  /**
   * Confirms a scanned login with the certificate `serial` (its key share is the one stored on
   * this phone), the code the person tapped among the scan's `matchChoices` (number matching:
   * the one the portal's page shows) and the PIN. A tapped code the page does not show ends
   * the login (`login_match_wrong`). Otherwise the server opens a co-signing session over a
   * `login_challenge`; before the PIN is used, the challenge must repeat what
   * {@link scanLogin} showed (login id, portal, origin, scopes, the tapped code, where and when
   * the login was started, certificate), else `unexpected_message` and nothing is signed.
   * After a wrong PIN, call again with the right one: the same session is reused.
   *
   * @param login the scan, or its id when this client scanned it (a seal's scan is refused
   *   with `scan_purpose_mismatch`: {@link confirmSeal}).
   * @throws {McertError} `pin_format`, `login_match_invalid` (not one of the choices),
   *   `certificate_not_on_device`, `login_not_scanned`, `scan_purpose_mismatch`,
   *   `unexpected_message`;
   *   {@link McertApiError} `login_match_wrong` (403), `pin_incorrect` (with
   *   `remainingAttempts`), `key_locked` (423), `login_state` (409), `login_expired` (410),
   *   `certificate_not_held` (403), `certificate_not_usable` (409),
   *   `login_challenge_mismatch` (400).
   */
  async confirmLogin(
    login: Scan | string,
    serial: string,
    matchCode: string,
    pin: string,
  ): Promise<CosignOutcome> {
    checkPinFormat(pin);
    const entry = this.loginEntry(login, 'login');
    if (typeof matchCode !== 'string' || !entry.scan.matchChoices.includes(matchCode)) {
      throw new McertError(
        ClientErrorCode.LoginMatchInvalid,
        `“${String(matchCode)}”不是手机上列出的数字，请点选与网页上相同的数字`,
      );
    }
    const record = await this.record(serial);
    let session =
      entry.pending?.serial === record.serial && entry.pending.matchCode === matchCode
        ? entry.pending.session
        : undefined;
    if (session === undefined) {
      try {
        session = cosignSession(
          await this.mpCall('POST', `/api/v1/mp/logins/${entry.scan.id}/confirm`, {
            serial: record.serial,
            match_code: matchCode,
          }),
        );
      } catch (error) {
        if (error instanceof McertApiError && error.code === ServerErrorCode.LoginMatchWrong) {
          this.logins.delete(entry.scan.id);
        }
        throw error;
      }
    }
    entry.pending = null;
    this.checkLoginChallenge(session, entry.scan as LoginScan, record.serial, matchCode);
    let outcome: CosignOutcome;
    try {
      outcome = await this.cosignWith(record, session, pin);
    } catch (error) {
      if (error instanceof McertApiError && error.code === ServerErrorCode.PinIncorrect) {
        entry.pending = { serial: record.serial, matchCode, session };
      }
      throw error;
    }
    this.logins.delete(entry.scan.id);
    return outcome;
  }

  /**
   * Declines a scanned login or seal request: the portal's page shows 已拒绝.
   *
   * @param login the scan, or its id.
   * @throws {McertError} `login_qr_invalid` for an id that is not one;
   *   {@link McertApiError} `login_state` (409) unless it is scanned by this account.
   */
  async denyLogin(login: Scan | string): Promise<void> {
    const id = typeof login === 'string' ? login : login?.id;
    if (typeof id !== 'string' || !LOGIN_ID_PATTERN.test(id)) throw loginQrInvalid();
    await this.mpCall('POST', `/api/v1/mp/logins/${id}/deny`);
    this.logins.delete(id);
  }

  /**
   * Confirms a scanned seal request with the certificate `serial` (of the seal's employer, its
   * key share on this phone), the PIN and the code the person tapped among the scan's
   * `matchChoices`. The server opens a co-signing session over DER(`TBS_Sign`); before the PIN
   * is used, it must repeat what {@link scanLogin} showed — the seal request's session, the
   * document title, the document hash (for a `hash` document; a PDF's seal signs the stamped
   * revision, whose hash the phone cannot know), the seal's code, name and picture — and the
   * seal must list this phone's certificate, else `seal_message_mismatch` and nothing is
   * signed. For a PDF the server answers a second session over the PDF signature's signed
   * attributes, signed with the same PIN when its digest is the seal's document hash (else
   * `seal_message_mismatch`). After a wrong PIN, call again with the right one: the same session
   * is reused.
   *
   * @param seal the scan, or its id when this client scanned it.
   * @throws {McertError} `pin_format`, `login_match_invalid`, `certificate_not_on_device`,
   *   `login_not_scanned`, `scan_purpose_mismatch`, `seal_message_mismatch`;
   *   {@link McertApiError} `login_match_wrong` (403), `pin_incorrect` (with
   *   `remainingAttempts`), `key_locked` (423), `login_state` (409), `login_expired` (410),
   *   `certificate_not_held` (403), `certificate_not_usable` (409).
   */
  async confirmSeal(
    seal: SealScan | string,
    serial: string,
    pin: string,
    matchCode: string,
  ): Promise<SealOutcome> {
    checkPinFormat(pin);
    const entry = this.loginEntry(seal, 'seal');
    const scan = entry.scan as SealScan;
    if (typeof matchCode !== 'string' || !scan.matchChoices.includes(matchCode)) {
      throw new McertError(
        ClientErrorCode.LoginMatchInvalid,
        `“${String(matchCode)}”不是手机上列出的数字，请点选与网页上相同的数字`,
      );
    }
    const record = await this.record(serial);
    let session =
      entry.pending?.serial === record.serial && entry.pending.matchCode === matchCode
        ? entry.pending.session
        : undefined;
    if (session === undefined) {
      try {
        session = cosignSession(
          await this.mpCall('POST', `/api/v1/mp/logins/${scan.id}/confirm`, {
            serial: record.serial,
            match_code: matchCode,
          }),
        );
      } catch (error) {
        if (error instanceof McertApiError && error.code === ServerErrorCode.LoginMatchWrong) {
          this.logins.delete(scan.id);
        }
        throw error;
      }
    }
    entry.pending = null;
    const dataHash = this.checkSealSign(session, scan, record);
    let outcome: CosignOutcome;
    try {
      outcome = await this.cosignWith(record, session, pin);
    } catch (error) {
      if (error instanceof McertApiError && error.code === ServerErrorCode.PinIncorrect) {
        entry.pending = { serial: record.serial, matchCode, session };
      }
      throw error;
    }
    this.logins.delete(scan.id);
    const next = outcome.result.next;
    if (next === undefined || next === null) {
      return { signature: outcome.signature, result: outcome.result, pdf: null };
    }
    const pdfSession = cosignSession(next);
    const description = this.signer.describeMessage(pdfSession.message);
    if (description.kind !== 'pdf_signed_attributes') {
      throw sealMismatch(`第二项签名的类型为 ${description.kind}，应为 PDF 签名属性`);
    }
    if (description.fields.message_digest !== dataHash) {
      throw sealMismatch('PDF 签名属性的摘要与印章签署的文件摘要不一致');
    }
    const pdf = await this.cosignWith(record, pdfSession, pin);
    return { signature: outcome.signature, result: outcome.result, pdf };
  }

  /**
   * The seals of the employers of the signed-in person (电子印章): status (未申请印章, 制作中,
   * 已制作, 制作失败), version, the certificates each lists, validity and picture.
   *
   * @throws {McertError} `mp_not_signed_in`; {@link McertApiError} `person_not_verified`.
   */
  async seals(): Promise<EmployerSeal[]> {
    const body = await this.mpCall('GET', '/api/v1/mp/seals');
    return arrayField(body, 'seals').map(employerSealOf);
  }

  /**
   * What was shown for `login`: the scan this client received under its id, else the scan
   * given (scanned by another instance of the client, e.g. before a restart).
   */
  private loginEntry(login: Scan | string, purpose: Scan['purpose']): LoginEntry {
    const id = typeof login === 'string' ? login : login?.id;
    if (typeof id !== 'string' || !LOGIN_ID_PATTERN.test(id)) throw loginQrInvalid();
    let entry = this.logins.get(id);
    if (entry === undefined && typeof login !== 'string') {
      entry = { scan: login, pending: null };
      this.logins.set(id, entry);
    }
    if (entry === undefined) {
      throw new McertError(ClientErrorCode.LoginNotScanned, '请先扫描网站登录页面上的二维码');
    }
    if (entry.scan.purpose !== purpose) {
      throw new McertError(
        ClientErrorCode.ScanPurposeMismatch,
        entry.scan.purpose === 'seal'
          ? '这是电子印章签署请求，请按盖章确认（confirmSeal）'
          : '这是扫码登录请求，请按登录确认（confirmLogin）',
      );
    }
    return entry;
  }

  /**
   * 证书废除: revokes the signed-in person's certificate `serial` (its key share on this
   * phone) for `cause`, signed with the PIN: the server opens a co-signing session over a
   * `revocation_request`, which must name this certificate and this cause before the PIN is
   * used (else `unexpected_message`). Effective at once: the certificate logs in and signs
   * nothing more, its portal sessions end, and the agent can apply anew.
   *
   * @throws {McertError} `pin_format`, `certificate_not_on_device`, `unexpected_message`;
   *   {@link McertApiError} `revocation_cause_unknown` (400), `certificate_not_held` (403),
   *   `certificate_already_revoked` (409), `pin_incorrect` (with `remainingAttempts`),
   *   `key_locked` (423).
   */
  async revokeCertificate(serial: string, cause: RevocationCause, pin: string): Promise<Revocation> {
    checkPinFormat(pin);
    const record = await this.record(serial);
    const session = cosignSession(
      await this.mpCall('POST', `/api/v1/mp/certificates/${record.serial}/revocation`, { cause }),
    );
    const fields = this.expectMessage(session, 'revocation_request', record.serial, '应为证书废除');
    if (fields.cause !== cause) throw unexpectedMessage('废除原因不一致');
    const outcome = await this.cosignWith(record, session, pin);
    const revocation = outcome.result.revocation;
    return {
      serial: canonicalSerial(stringField(revocation, 'serial')),
      reason: stringField(revocation, 'reason'),
      cause: stringField(revocation, 'cause') as RevocationCause,
      causeZh: stringField(revocation, 'cause_zh'),
      revokedAt: stringField(revocation, 'revoked_at'),
      signature: outcome.signature,
    };
  }

  /**
   * 年审延期: renews the signed-in person's certificate `serial` for another year, signed with
   * the PIN, from 30 days before it expires. The server opens a co-signing session over a
   * `renewal_request`, which must name this certificate before the PIN is used (else
   * `unexpected_message`); the signature activates the new certificate (same key, new serial,
   * valid until a year after the old one ends), which replaces the old one on this phone.
   *
   * @throws {McertError} `pin_format`, `certificate_not_on_device`, `unexpected_message`;
   *   {@link McertApiError} `renewal_too_early`, `renewal_details_changed`,
   *   `renewal_not_in_force` (409), `certificate_not_held` (403), `pin_incorrect` (with
   *   `remainingAttempts`), `key_locked` (423).
   */
  async renewCertificate(serial: string, pin: string): Promise<Renewal> {
    checkPinFormat(pin);
    const record = await this.record(serial);
    const body = await this.mpCall('POST', `/api/v1/mp/certificates/${record.serial}/renewal`);
    const session = cosignSession(body);
    const fields = this.expectMessage(session, 'renewal_request', record.serial, '应为年审延期');
    const newSerial = canonicalSerial(stringField(body, 'new_serial'));
    if (!sameSerial(fields.new_serial, newSerial)) throw unexpectedMessage('新证书序列号不一致');
    const outcome = await this.cosignWith(record, session, pin);
    const result = outcome.result;
    if (!sameSerial(result.serial, newSerial)) throw invalidResponse('续期后的证书序列号不一致');
    const certificatePem = stringField(result, 'certificate');
    const der = pemBody(certificatePem);
    if (der === null || !containsBytes(der, base64Decode(record.publicKey))) {
      throw invalidResponse('证书不含本机密钥对应的公钥');
    }
    const renewal = isObject(result.renewal) ? result.renewal : undefined;
    const fee = renewal?.fee_yuan;
    await this.replace(record.serial, { ...record, serial: newSerial, certificatePem });
    return {
      serial: newSerial,
      previousSerial: record.serial,
      notAfter: stringField(renewal, 'not_after'),
      feeYuan: typeof fee === 'number' ? fee : null,
      certificatePem,
      signature: outcome.signature,
    };
  }

  /**
   * What the signed-in person's certificate `serial` signed, and the wrong PINs the server
   * refused, newest first (at most 200): the server takes part in every signature, so it can
   * say what the key ever signed.
   *
   * @throws {McertError} `serial_invalid`; {@link McertApiError} `certificate_not_held` (403).
   */
  async signatureHistory(serial: string): Promise<SignatureRecord[]> {
    const body = await this.mpCall(
      'GET',
      `/api/v1/mp/certificates/${canonicalSerial(serial)}/signatures`,
    );
    if (!Array.isArray(body)) throw invalidResponse('签名记录不是数组');
    return body.map((entry: unknown) => {
      const outcome = stringField(entry, 'outcome');
      if (outcome !== 'signed' && outcome !== 'pin_failed') {
        throw invalidResponse(`未知的签名结果 ${outcome}`);
      }
      const seq = isObject(entry) ? entry.seq : undefined;
      if (typeof seq !== 'number') throw invalidResponse('缺少字段 seq');
      return {
        seq,
        at: stringField(entry, 'at'),
        serial: canonicalSerial(stringField(entry, 'serial')),
        outcome,
        purpose: nullableString(entry, 'purpose'),
        messageSm3: nullableString(entry, 'message_sm3'),
        loginSession: nullableString(entry, 'login_session'),
        portal: nullableString(entry, 'portal'),
        grantee: nullableString(entry, 'grantee'),
      };
    });
  }

  /**
   * The grant screen (事项授权) of the primary certificate `serial` held by the signed-in
   * person: every portal's catalogue and the employer's sub-certificates with what each may do
   * at each portal.
   *
   * @throws {McertError} `serial_invalid`; {@link McertApiError} `certificate_not_held` (403),
   *   `grant_not_primary` (403: a sub-certificate cannot grant).
   */
  async grants(serial: string): Promise<GrantOverview> {
    const path = `/api/v1/mp/certificates/${canonicalSerial(serial)}/grants`;
    return grantOverviewOf(await this.mpCall('GET', path));
  }

  /**
   * Replaces a sub-certificate's item set at one portal, co-signed with the primary
   * certificate `serial` stored on this phone and the PIN: the server checks the change and
   * opens a co-signing session over a `grant_change` message; before the PIN is used, the
   * message must name this certificate, the grantee, the portal, the `grantId` and exactly the
   * items asked for (else `unexpected_message` and nothing is signed). Once the signature
   * verifies the server saves the set; withdrawn items end the grantee's sessions at once.
   *
   * @throws {McertError} `pin_format`, `grant_invalid`, `certificate_not_on_device`,
   *   `unexpected_message`; {@link McertApiError} `grant_not_primary`, `grant_grantee_unknown`,
   *   `grant_grantee_primary`, `grant_item_unknown`, `grant_item_twice`, `grant_item_locked`,
   *   `grant_window_invalid`, `grant_stale` (409: refresh and change again),
   *   `grant_portal_unknown`, `pin_incorrect` (with `remainingAttempts`), `key_locked`.
   */
  async changeGrants(serial: string, change: GrantChangeInput, pin: string): Promise<GrantSaved> {
    checkPinFormat(pin);
    if (!isObject(change) || !Array.isArray(change.items)) {
      throw new McertError(ClientErrorCode.GrantInvalid, '授权内容不完整：须给出子证书、门户和事项');
    }
    const items = change.items.map((item) => {
      const input: ItemGrantInput = typeof item === 'string' ? { code: item } : item;
      if (!isObject(input) || typeof input.code !== 'string' || input.code === '') {
        throw new McertError(ClientErrorCode.GrantInvalid, '事项代码不能为空');
      }
      return {
        code: input.code,
        starts_at: windowSeconds(input.startsAt, '开始时间'),
        ends_at: windowSeconds(input.endsAt, '结束时间'),
      };
    });
    const grantee = canonicalSerial(change.grantee);
    const record = await this.record(serial);
    const session = cosignSession(
      await this.mpCall('POST', `/api/v1/mp/certificates/${record.serial}/grants`, {
        grantee,
        client_id: change.clientId,
        grant_id: change.grantId,
        items: items.map((item) => ({
          code: item.code,
          starts_at: item.starts_at === null ? null : new Date(item.starts_at * 1000).toISOString(),
          ends_at: item.ends_at === null ? null : new Date(item.ends_at * 1000).toISOString(),
        })),
      }),
    );
    const fields = this.expectMessage(session, 'grant_change', record.serial, '应为事项授权');
    if (!sameSerial(fields.grantee_serial, grantee)) throw unexpectedMessage('子证书不一致');
    if (fields.client_id !== change.clientId) throw unexpectedMessage('门户不一致');
    if (fields.grant_id !== change.grantId) throw unexpectedMessage('授权版本不一致');
    const key = (item: { code: string; starts_at: number | null; ends_at: number | null }) =>
      `${item.code}\u0000${item.starts_at}\u0000${item.ends_at}`;
    const asked = items.map(key).sort();
    const signed = fields.items.map(key).sort();
    if (asked.length !== signed.length || asked.some((k, i) => k !== signed[i])) {
      throw unexpectedMessage('授权事项不一致');
    }
    const outcome = await this.cosignWith(record, session, pin);
    const saved = outcome.result.grant;
    return {
      grantee: canonicalSerial(stringField(saved, 'grantee')),
      clientId: stringField(saved, 'client_id'),
      items: stringArray(saved, 'items'),
      grantId: stringField(saved, 'grant_id'),
      message: session.message,
      signature: outcome.signature,
    };
  }

  /**
   * Co-signs a message the server put in a session (login, seal) with the certificate
   * `serial`. The message must name that certificate; show its {@link Signer.describeMessage}
   * to the person before asking for the PIN.
   *
   * @throws {McertApiError} `pin_incorrect` (with `remainingAttempts`), `key_locked`,
   *   `cosign_session_not_found`; {@link McertError} `unexpected_message`.
   */
  async cosign(session: CosignSession, serial: string, pin: string): Promise<CosignOutcome> {
    checkPinFormat(pin);
    const record = await this.record(serial);
    const description = this.signer.describeMessage(session.message);
    if (description.kind === 'seal_sign') {
      if (!description.fields.cert_sm3s.includes(this.certificateSm3(record))) {
        throw unexpectedMessage('印章未列出本证书');
      }
    } else if (description.kind === 'pdf_signed_attributes') {
      // Says nothing of what is sealed: only confirmSeal signs it, after its seal.
      throw unexpectedMessage('PDF 签名属性只能随印章签署（confirmSeal）');
    } else if (!sameSerial(description.fields.serial, record.serial)) {
      throw unexpectedMessage('待签内容不属于本证书');
    }
    return this.cosignWith(record, session, pin);
  }

  /**
   * Checks `pin` with the server (a `verify_pin` key check). A wrong PIN counts towards the
   * lock like any other.
   *
   * @throws {McertApiError} `pin_incorrect` (with `remainingAttempts`) or `key_locked`.
   */
  async verifyPin(serial: string, pin: string): Promise<void> {
    checkPinFormat(pin);
    const record = await this.record(serial);
    const session = await this.keyCheck(record, 'verify_pin');
    await this.cosignWith(record, session, pin);
  }

  /**
   * Changes the PIN: the old PIN is proven to the server first (a `change_pin` key check), so
   * a wrong old PIN is counted and never re-masks the share; then the share is re-masked
   * under the new PIN on the phone. The server's half does not change.
   *
   * @throws {McertError} `pin_format`, `pin_unchanged`; {@link McertApiError} `pin_incorrect`.
   */
  async changePin(serial: string, oldPin: string, newPin: string): Promise<void> {
    checkPinFormat(oldPin);
    checkPinFormat(newPin);
    if (oldPin === newPin) {
      throw new McertError(ClientErrorCode.PinUnchanged, '新 PIN 码不能与原 PIN 码相同');
    }
    const record = await this.record(serial);
    const session = await this.keyCheck(record, 'change_pin');
    await this.cosignWith(record, session, oldPin);
    const entropy = await this.randomBytes();
    let share: Uint8Array;
    try {
      share = this.signer.remaskShare(base64Decode(record.share), oldPin, newPin, entropy);
    } finally {
      entropy.fill(0);
    }
    await this.save({ ...record, share: base64Encode(share) });
  }

  /** The server's view of the key: status, lock, remaining PIN attempts. */
  async keyStatus(serial: string): Promise<KeyStatus> {
    const record = await this.record(serial);
    const body = await this.call(
      'GET',
      `/api/v1/certificates/${record.serial}/key`,
      undefined,
      record.deviceToken,
    );
    if (!isObject(body) || typeof body.locked !== 'boolean') {
      throw invalidResponse('缺少字段 locked');
    }
    if (typeof body.remaining_attempts !== 'number') {
      throw invalidResponse('缺少字段 remaining_attempts');
    }
    return {
      serial: canonicalSerial(stringField(body, 'serial')),
      status: stringField(body, 'status'),
      locked: body.locked,
      remainingAttempts: body.remaining_attempts,
    };
  }

  /** The certificates stored on this phone, in enrolment order. */
  async certificates(): Promise<CertificateInfo[]> {
    const list: CertificateInfo[] = [];
    for (const serial of await this.serials()) {
      const record = await this.load(serial);
      if (record !== null) {
        list.push({
          serial: record.serial,
          publicKey: base64Decode(record.publicKey),
          certificatePem: record.certificatePem,
        });
      }
    }
    return list;
  }

  /** Opens a key-check session of `purpose` for `record` and checks what it asks to sign. */
  private async keyCheck(
    record: StoredCertificate,
    purpose: 'verify_pin' | 'change_pin',
  ): Promise<CosignSession> {
    const body = await this.call(
      'POST',
      `/api/v1/certificates/${record.serial}/key-checks`,
      { purpose },
      record.deviceToken,
    );
    const session = cosignSession(body);
    const fields = this.expectMessage(session, 'key_check', record.serial, '应为 PIN 校验');
    if (fields.purpose !== purpose) {
      throw unexpectedMessage('校验用途不一致');
    }
    return session;
  }

  /**
   * The fields of the session's message after checking, before any PIN is used, that it is of
   * `kind` and names the certificate `serial`; `expected` says in Chinese what it should be.
   */
  private expectMessage<K extends MessageDescription['kind']>(
    session: CosignSession,
    kind: K,
    serial: string,
    expected: string,
  ): FieldsOf<K> {
    const description: MessageDescription = this.signer.describeMessage(session.message);
    if (description.kind !== kind) {
      throw unexpectedMessage(`类型为 ${description.kind}，${expected}`);
    }
    const named = (description.fields as { serial?: unknown }).serial;
    if (typeof named !== 'string' || !sameSerial(named, serial)) {
      throw unexpectedMessage('证书序列号不一致');
    }
    return description.fields as FieldsOf<K>;
  }

  /**
   * Checks that a login's co-signing message is the `login_challenge` of what the scan showed:
   * the same login session, portal, origin, scopes, the tapped code and where and when the
   * login was started, for the chosen certificate. The phone must not sign anything else than
   * what the person saw.
   */
  private checkLoginChallenge(
    session: CosignSession,
    scan: LoginScan,
    serial: string,
    matchCode: string,
  ): void {
    const fields = this.expectMessage(session, 'login_challenge', serial, '应为扫码登录');
    if (fields.session_id !== toHex(utf8Encode(scan.id))) {
      throw unexpectedMessage('登录会话不一致');
    }
    if (fields.client_id !== scan.portal.clientId || fields.portal_name !== scan.portal.name) {
      throw unexpectedMessage('登录的网站不一致');
    }
    if (fields.origin !== scan.portal.origin) throw unexpectedMessage('网站地址不一致');
    if (fields.scopes !== scan.scopes.join(' ')) throw unexpectedMessage('授权范围不一致');
    if (fields.match_code !== matchCode) throw unexpectedMessage('点选的数字不一致');
    if (
      fields.initiator !== scan.initiator.summary ||
      fields.initiated_at !== Math.floor(Date.parse(scan.initiator.startedAt) / 1000)
    ) {
      throw unexpectedMessage('登录发起地点或时间不一致');
    }
  }

  /**
   * Checks that a seal's co-signing message is the `seal_sign` of what the scan showed, for a
   * seal that lists `record`'s certificate; returns its `data_hash` (hex).
   */
  private checkSealSign(session: CosignSession, scan: SealScan, record: StoredCertificate): string {
    let description: MessageDescription;
    try {
      description = this.signer.describeMessage(session.message);
    } catch {
      throw sealMismatch('不是有效的印章签署数据');
    }
    if (description.kind !== 'seal_sign') {
      throw sealMismatch(`类型为 ${description.kind}，应为印章签署`);
    }
    const fields = description.fields;
    if (fields.session_id !== scan.id) throw sealMismatch('签署请求不一致');
    if (fields.document_title !== scan.document.title) throw sealMismatch('文件名称不一致');
    if (scan.document.kind === 'hash' && fields.data_hash !== scan.document.sm3) {
      throw sealMismatch('文件摘要不一致');
    }
    if (!/^[0-9a-f]{64}$/.test(fields.data_hash)) throw sealMismatch('文件摘要不是 SM3');
    if (fields.seal_id !== scan.seal.id || fields.seal_name !== scan.seal.name) {
      throw sealMismatch('印章不一致');
    }
    if (fields.picture !== toHex(scan.seal.picturePng)) throw sealMismatch('印章图片不一致');
    if (!fields.cert_sm3s.includes(this.certificateSm3(record))) {
      throw sealMismatch('印章未列出本机的证书');
    }
    return fields.data_hash;
  }

  /** SM3 of the stored certificate's DER, lower-case hex ('' when the PEM does not read). */
  private certificateSm3(record: StoredCertificate): string {
    const der = pemBody(record.certificatePem);
    return der === null ? '' : toHex(this.signer.sm3(der));
  }

  /** begin → partials → finish (one round per module at a time) → signature. */
  private async cosignWith(
    record: StoredCertificate,
    session: CosignSession,
    pin: string,
  ): Promise<CosignOutcome> {
    const share = base64Decode(record.share);
    const publicKey = base64Decode(record.publicKey);
    const path = `/api/v1/cosign/${encodeURIComponent(session.sessionId)}`;
    const transportKey = await this.serverTransportKey();
    const entropy = await this.randomBytes();
    const signature = await exclusive(this.signer, async () => {
      let round;
      try {
        round = this.signer.cosignBegin(
          share,
          pin,
          session.sessionId,
          session.message,
          transportKey,
          entropy,
        );
      } finally {
        entropy.fill(0);
        share.fill(0);
      }
      let partials: Uint8Array;
      try {
        const body = await this.call('POST', `${path}/partials`, {
          sealed_round: base64Encode(round.sealedRound),
        });
        partials = bytesField(body, 'sealed_partials', SEALED_PARTIALS_LENGTH);
      } catch (error) {
        this.signer.cancelCosign();
        throw error;
      }
      return this.signer.cosignFinish(partials, publicKey);
    });
    const body = await this.call('POST', `${path}/signature`, {
      signature: base64Encode(signature),
    });
    const purpose = stringField(body, 'purpose');
    const serial = stringField(body, 'serial');
    return { signature, result: { ...(body as Json), purpose, serial } };
  }

  /** The pinned transport key, or the server's published one (fetched once, then kept). */
  private serverTransportKey(): Promise<Uint8Array> {
    if (this.transportKey === null) {
      const fetched = this.call('GET', '/api/v1/mp/transport-key').then((body) => {
        if (isObject(body) && body.round_version !== ROUND_VERSION) {
          throw new McertError(
            ClientErrorCode.InvalidResponse,
            '服务器的签名协议版本与小程序不一致，请更新小程序',
          );
        }
        return bytesField(body, 'public_key', POINT_LENGTH);
      });
      // A failed fetch is not kept: the next co-signature asks again.
      this.transportKey = fetched.catch((error: unknown) => {
        this.transportKey = null;
        throw error;
      });
    }
    return this.transportKey;
  }

  /** Sends one request; non-2xx answers become {@link McertApiError}. */
  private async call(
    method: HttpRequest['method'],
    path: string,
    body?: Json,
    bearer?: string,
  ): Promise<unknown> {
    const request: HttpRequest = {
      url: this.baseUrl + path,
      method,
      headers: bearer !== undefined ? { Authorization: `Bearer ${bearer}` } : {},
    };
    if (body !== undefined) request.body = body;
    let response;
    try {
      response = await this.request(request);
    } catch (cause) {
      throw new McertNetworkError(cause);
    }
    if (response.status >= 200 && response.status < 300) {
      return response.body;
    }
    const error = response.body;
    if (isObject(error) && typeof error.code === 'string' && typeof error.message === 'string') {
      const remaining = error.remaining_attempts;
      throw new McertApiError(
        response.status,
        error.code,
        error.message,
        typeof remaining === 'number' ? remaining : undefined,
      );
    }
    throw new McertApiError(
      response.status,
      `http_${response.status}`,
      `服务器暂时无法处理请求（HTTP ${response.status}），请稍后重试`,
    );
  }

  /**
   * A call with the mini-program session. Without one, or when the server no longer knows it,
   * the client signs in again with `wxLogin` (when given) and sends the call once more;
   * otherwise the session is forgotten so the caller can ask the person to sign in.
   */
  private async mpCall(method: HttpRequest['method'], path: string, body?: Json): Promise<unknown> {
    const fresh = this.mpToken === null;
    const bearer = await this.sessionToken();
    try {
      return await this.call(method, path, body, bearer);
    } catch (error) {
      if (!(error instanceof McertApiError && error.code === ServerErrorCode.MpNotSignedIn)) {
        throw error;
      }
      this.mpToken = null;
      if (fresh || this.wxLogin === undefined) throw error;
      return this.call(method, path, body, await this.sessionToken());
    }
  }

  /** The session token, signing in with `wxLogin` when there is none. */
  private async sessionToken(): Promise<string> {
    if (this.mpToken === null && this.wxLogin !== undefined) {
      let code: string;
      try {
        code = await this.wxLogin();
      } catch (cause) {
        throw new McertError(ServerErrorCode.MpNotSignedIn, '微信登录失败，请重新进入小程序', {
          cause,
        });
      }
      await this.login(code);
    }
    if (this.mpToken === null) {
      throw new McertError(ServerErrorCode.MpNotSignedIn, '尚未登录，请先进入小程序登录');
    }
    return this.mpToken;
  }

  private async randomBytes(): Promise<Uint8Array> {
    try {
      return await this.entropy(ENTROPY_LENGTH);
    } catch (cause) {
      throw new McertError(ClientErrorCode.EntropyUnavailable, '无法获取安全随机数，请重试', {
        cause,
      });
    }
  }

  private recordKey(serial: string): string {
    return `${this.prefix}certificate:${serial}`;
  }

  private indexKey(): string {
    return `${this.prefix}certificates`;
  }

  private async record(serial: string): Promise<StoredCertificate> {
    const normalised = canonicalSerial(serial);
    const record = await this.load(normalised);
    if (record === null) {
      throw new McertError(
        ClientErrorCode.CertificateNotOnDevice,
        `本机没有序列号为 ${normalised} 的证书，请先下载证书`,
      );
    }
    return record;
  }

  private async load(serial: string): Promise<StoredCertificate | null> {
    const text = await this.storage.get(this.recordKey(serial));
    if (text === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const fields = ['serial', 'share', 'publicKey', 'certificatePem', 'deviceToken'] as const;
    if (!isObject(value) || !fields.every((name) => typeof value[name] === 'string')) {
      throw new McertError(
        ClientErrorCode.StorageCorrupted,
        `本机保存的证书 ${serial} 已损坏，请重新下载证书`,
      );
    }
    const record = value as unknown as StoredCertificate;
    return {
      serial: record.serial,
      share: record.share,
      publicKey: record.publicKey,
      certificatePem: record.certificatePem,
      deviceToken: record.deviceToken,
    };
  }

  private async serials(): Promise<string[]> {
    const text = await this.storage.get(this.indexKey());
    if (text === null) return [];
    try {
      const value: unknown = JSON.parse(text);
      if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value;
    } catch {
      // Reported below.
    }
    throw new McertError(
      ClientErrorCode.StorageCorrupted,
      '本机保存的证书列表已损坏，请重新下载证书',
    );
  }

  /**
   * Writes `next` (a renewal of `previous`: the same key under a new certificate) and then
   * removes `previous`, so that an interruption leaves the key stored under one or both
   * serials, never under none.
   */
  private async replace(previous: string, next: StoredCertificate): Promise<void> {
    await this.save(next);
    const update = this.indexUpdate.then(async () => {
      const serials = (await this.serials()).filter((serial) => serial !== previous);
      await this.storage.set(this.indexKey(), JSON.stringify(serials));
    });
    this.indexUpdate = update.catch(() => undefined);
    await update;
    await this.storage.remove(this.recordKey(previous));
  }

  /** Writes the record (exactly its five fields), then adds its serial to the index. */
  private async save(record: StoredCertificate): Promise<void> {
    const stored: StoredCertificate = {
      serial: record.serial,
      share: record.share,
      publicKey: record.publicKey,
      certificatePem: record.certificatePem,
      deviceToken: record.deviceToken,
    };
    await this.storage.set(this.recordKey(record.serial), JSON.stringify(stored));
    const update = this.indexUpdate.then(async () => {
      const serials = await this.serials();
      if (serials.indexOf(record.serial) < 0) {
        serials.push(record.serial);
        await this.storage.set(this.indexKey(), JSON.stringify(serials));
      }
    });
    this.indexUpdate = update.catch(() => undefined);
    await update;
  }
}
