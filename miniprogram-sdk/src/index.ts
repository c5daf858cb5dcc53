/**
 * mcert SDK for WeChat mini-programs and Node: the `mcert-signer` WebAssembly module (the
 * phone's half of every SM2 signature, built from `wasm-signer/`) wrapped in typed calls, and
 * a client for mcert's split-key HTTP API on top of it.
 *
 * In a mini-program:
 *
 * ```js
 * const signer = await loadSigner({
 *   module: '/wasm/mcert_signer.wasm',
 *   instantiate: (path, imports) => WXWebAssembly.instantiate(path, imports),
 * });
 * const client = new McertClient({
 *   signer,
 *   request: wxRequest(wx),
 *   storage: wxStorage(wx),
 *   entropy: wxEntropy(wx),
 *   baseUrl: 'https://mcert.example.cn',
 * });
 * ```
 *
 * In Node: `loadSigner({ module: bytes, instantiate: WebAssembly.instantiate })`,
 * `fetchRequest(fetch)`, `webCryptoEntropy(crypto)`.
 */

export {
  ABI_VERSION,
  MAX_ENTROPY_LENGTH,
  MIN_ENTROPY_LENGTH,
  PARTIALS_LENGTH,
  POINT_LENGTH,
  PROOF_LENGTH,
  SEALED_PARTIALS_LENGTH,
  SEALED_ROUND_LENGTH,
  SHARE_LENGTH,
  TAG_LENGTH,
  loadSigner,
} from './signer';
export type {
  CosignRound,
  GeneratedShare,
  GrantChangeFields,
  GrantedItemFields,
  RenewalRequestFields,
  RevocationRequestFields,
  InstantiateResult,
  KeyCheckFields,
  KeyEnrolmentFields,
  LoadSignerOptions,
  LoginChallengeFields,
  MessageDescription,
  PdfSignedAttributesFields,
  Pin,
  SealSignFields,
  Signer,
  SignerImports,
} from './signer';
export {
  AbiVersionMismatchError,
  ClientErrorCode,
  ErrorCode,
  McertApiError,
  McertError,
  McertNetworkError,
  ServerErrorCode,
  SignerError,
  describeErrorCode,
  describeErrorCodeZh,
} from './errors';
export type { ErrorCodeValue } from './errors';
export { McertClient, checkPinFormat, initiatorText } from './client';
export type {
  CertificateInfo,
  CosignOutcome,
  CosignResult,
  CosignSession,
  Employer,
  EmployerSeal,
  GrantCatalogueItem,
  GrantChangeInput,
  GrantOverview,
  GrantPortal,
  GrantSaved,
  ItemGrantInput,
  KeyStatus,
  LoginCertificate,
  LoginInitiator,
  LoginPortal,
  LoginQr,
  LoginScan,
  McertClientOptions,
  Scan,
  SealDocument,
  SealEmployer,
  SealOutcome,
  SealPicture,
  SealScan,
  MpSession,
  Person,
  PhoneBinding,
  PhoneCodeSent,
  PortalGrant,
  RealNameInput,
  Renewal,
  Reverification,
  Revocation,
  RevocationCause,
  ServerCertificate,
  SignatureRecord,
  SubCertificate,
  UnlockInput,
} from './client';
export {
  WxApiError,
  fetchRequest,
  memoryStorage,
  webCryptoEntropy,
  wxEntropy,
  wxRequest,
  wxStorage,
} from './host';
export type {
  EntropySource,
  FetchLike,
  HttpRequest,
  HttpResponse,
  KeyValueStorage,
  RequestFunction,
  WebCryptoLike,
  WxFailure,
  WxRandomApi,
  WxRequestApi,
  WxStorageApi,
} from './host';
export { base64Decode, base64Encode } from './base64';
export { utf8Decode, utf8Encode } from './utf8';
