//! How errors describe themselves, for whoever shows them (the JSON API, the hosted pages, the
//! command line): each error type implements [`Describe`], giving a stable [`Code`] from the one
//! catalogue ([`code`]), its [`ErrorKind`] and a Chinese message a person can act on. Only
//! `crate::error` knows HTTP: it turns a kind into a status. The storage error every core
//! module shares, [`StorageError`], lives here too, free of any storage library's types.

use std::borrow::Cow;

/// What sort of failure an error is; the HTTP layer maps each to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is wrong; the caller can correct it (400).
    BadInput,
    /// No or wrong credentials (401).
    Unauthenticated,
    /// Known caller, not allowed (403).
    Forbidden,
    /// No such thing (404).
    NotFound,
    /// The method is not one the endpoint takes (405).
    MethodNotAllowed,
    /// The current state does not allow it (409).
    Conflict,
    /// It existed and is gone for good (410).
    Gone,
    /// The request is too large (413).
    TooLarge,
    /// The body is not of a type the endpoint reads (415).
    UnsupportedMediaType,
    /// Well formed, but its content cannot be used (422).
    Unprocessable,
    /// Locked until someone unlocks it (423).
    Locked,
    /// Too many tries; wait (429).
    RateLimited,
    /// A fault of ours (500).
    Internal,
    /// The service is not configured for it (501).
    NotImplemented,
    /// An outside service answered with a refusal we cannot pass on (502).
    Upstream,
    /// Something we depend on is unavailable for now; retry later (503).
    Unavailable,
}

/// A stable, machine-readable error code with the kind it normally has. Made only by the
/// catalogue in [`code`], so that [`code::ALL`] lists every code the service can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    name: &'static str,
    kind: ErrorKind,
}

impl Code {
    /// The code as clients see it (`pin_incorrect`).
    pub const fn name(self) -> &'static str {
        self.name
    }

    /// The kind it has unless a description says otherwise.
    pub const fn kind(self) -> ErrorKind {
        self.kind
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// What an error says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// The stable code.
    pub code: Code,
    /// The kind, usually the code's own.
    pub kind: ErrorKind,
    /// What happened and what to do, in Chinese.
    pub message: Cow<'static, str>,
    /// Tries left, for errors that count them (a wrong PIN).
    pub remaining_attempts: Option<u32>,
    /// The input field the message is about (a form shows it next to that field).
    pub field: Option<&'static str>,
}

impl Description {
    /// `code` with its own kind and `message`.
    pub fn new(code: Code, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            kind: code.kind,
            message: message.into(),
            remaining_attempts: None,
            field: None,
        }
    }

    /// The same, of another kind (a code that means another status in one place).
    #[must_use]
    pub fn of_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// The same, telling how many tries are left.
    #[must_use]
    pub fn with_remaining_attempts(mut self, remaining: u32) -> Self {
        self.remaining_attempts = Some(remaining);
        self
    }

    /// The same, about the input field `field`.
    #[must_use]
    pub fn in_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// A fault of ours: the message hides the cause, which the caller logs.
    pub fn internal() -> Self {
        Self::new(
            code::INTERNAL_ERROR,
            "服务器内部错误，请稍后重试；如持续出现请联系客服",
        )
    }
}

/// An error that can say what it is, in a stable code, a kind and Chinese.
pub trait Describe {
    /// The description of this error.
    fn describe(&self) -> Description;
}

/// A storage failure, without the storage library's types.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database could not be reached or refused the statement.
    #[error("database unavailable")]
    Unavailable {
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A concurrent writer won a uniqueness race; the caller may retry.
    #[error("concurrent update on {what}")]
    Conflict {
        /// Which record collided.
        what: &'static str,
    },
    /// A stored value no longer parses: the row was edited outside mcert.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Which record.
        what: &'static str,
        /// What failed to parse.
        detail: String,
    },
}

impl Describe for StorageError {
    fn describe(&self) -> Description {
        match self {
            Self::Unavailable { .. } => {
                Description::new(code::STORAGE_UNAVAILABLE, "数据库暂时无法访问，请稍后重试")
            }
            Self::Conflict { .. } => {
                Description::new(code::CONCURRENT_UPDATE, "数据正被同时修改，请稍后重试")
            }
            Self::Corrupt { .. } => Description::internal(),
        }
    }
}

macro_rules! catalogue {
    ($($(#[$doc:meta])* $id:ident = $name:literal, $kind:ident;)*) => {
        $($(#[$doc])* pub const $id: Code = Code { name: $name, kind: ErrorKind::$kind };)*
        /// Every code, in the order of this catalogue.
        pub const ALL: &[Code] = &[$($id),*];
    };
}

/// The catalogue of error codes. A code never changes its meaning; clients (the SDK, portals)
/// rely on it. The OpenAPI document lists them with their HTTP statuses.
pub mod code {
    use super::{Code, ErrorKind};

    catalogue! {
        // Shared.
        /// A fault of ours.
        INTERNAL_ERROR = "internal_error", Internal;
        /// The database is unreachable.
        STORAGE_UNAVAILABLE = "storage_unavailable", Unavailable;
        /// A concurrent writer won; retry.
        CONCURRENT_UPDATE = "concurrent_update", Conflict;
        /// The short-lived store is unreachable.
        KV_UNAVAILABLE = "kv_unavailable", Unavailable;
        /// The master key is missing or wrong.
        MASTER_KEY_ERROR = "master_key_error", Internal;
        /// The body is not of the expected shape.
        BAD_REQUEST = "bad_request", BadInput;

        // The request's form (HTTP).
        /// A path segment does not parse.
        PATH_INVALID = "path_invalid", BadInput;
        /// The query does not parse.
        QUERY_INVALID = "query_invalid", BadInput;
        /// The body is not JSON.
        CONTENT_TYPE_UNSUPPORTED = "content_type_unsupported", UnsupportedMediaType;
        /// The body is too large.
        BODY_TOO_LARGE = "body_too_large", TooLarge;
        /// The body cannot be read.
        BODY_UNREADABLE = "body_unreadable", BadInput;
        /// No endpoint at this path.
        ENDPOINT_NOT_FOUND = "endpoint_not_found", NotFound;
        /// The endpoint does not take this method.
        METHOD_NOT_ALLOWED = "method_not_allowed", MethodNotAllowed;
        /// Refused before any handler (the status is passed on).
        REQUEST_REFUSED = "request_refused", BadInput;

        // Input values.
        /// USCC of the wrong length.
        USCC_LENGTH = "uscc_length", BadInput;
        /// USCC with a character it cannot have.
        USCC_CHARACTER = "uscc_character", BadInput;
        /// USCC whose region digits are not digits.
        USCC_REGION = "uscc_region", BadInput;
        /// USCC whose check character is wrong.
        USCC_CHECKSUM = "uscc_checksum", BadInput;
        /// ID number of the wrong length.
        ID_NUMBER_LENGTH = "id_number_length", BadInput;
        /// ID number with a character it cannot have.
        ID_NUMBER_CHARACTER = "id_number_character", BadInput;
        /// ID number with an impossible birth date.
        ID_NUMBER_BIRTH_DATE = "id_number_birth_date", BadInput;
        /// ID number whose check digit is wrong.
        ID_NUMBER_CHECKSUM = "id_number_checksum", BadInput;
        /// Not a mainland mobile number.
        PHONE_INVALID = "phone_invalid", BadInput;
        /// Not a person's name.
        PERSON_NAME_INVALID = "person_name_invalid", BadInput;
        /// Not an employer's name.
        UNIT_NAME_INVALID = "unit_name_invalid", BadInput;
        /// Not a certificate serial.
        SERIAL_INVALID = "serial_invalid", BadInput;
        /// A zero serial.
        SERIAL_NOT_POSITIVE = "serial_not_positive", BadInput;
        /// A serial of the wrong length.
        SERIAL_LENGTH = "serial_length", BadInput;
        /// Text the application form cannot print.
        TEXT_UNPRINTABLE = "text_unprintable", BadInput;

        // The certificate authority.
        /// A CSR that does not parse.
        CSR_MALFORMED = "csr_malformed", BadInput;
        /// A CSR whose signature fails.
        CSR_SIGNATURE_INVALID = "csr_signature_invalid", BadInput;
        /// A CSR that is not SM2 with SM3.
        CSR_ALGORITHM_UNSUPPORTED = "csr_algorithm_unsupported", BadInput;
        /// The USCC is registered under another name.
        UNIT_NAME_MISMATCH = "unit_name_mismatch", Conflict;
        /// No certificate with this serial.
        CERTIFICATE_NOT_FOUND = "certificate_not_found", NotFound;
        /// Revoked already.
        CERTIFICATE_ALREADY_REVOKED = "certificate_already_revoked", Conflict;
        /// A revocation cause that is not one of those offered.
        REVOCATION_CAUSE_UNKNOWN = "revocation_cause_unknown", BadInput;
        /// A signature over something else than the revocation request the server opened.
        REVOCATION_REQUEST_MISMATCH = "revocation_request_mismatch", BadInput;
        /// Not activated.
        CERTIFICATE_NOT_ACTIVE = "certificate_not_active", Conflict;
        /// A seal name with a character the seal font cannot draw.
        SEAL_GLYPH_MISSING = "seal_glyph_missing", BadInput;
        /// A seal with no name.
        SEAL_NAME_EMPTY = "seal_name_empty", BadInput;
        /// No red stamp of a seal's size and shape in the form's image.
        STAMP_NOT_FOUND = "stamp_not_found", BadInput;
        /// No seal with this id (or not one the caller may see).
        SEAL_NOT_FOUND = "seal_not_found", NotFound;
        /// The seal is not waiting for staff to confirm its captured picture.
        SEAL_NOT_MAKING = "seal_not_making", Conflict;
        /// The employer has no seal made (none asked for, still being made, or failed).
        SEAL_NOT_MADE = "seal_not_made", Conflict;
        /// A made seal whose employer has no certificate in force to list in it.
        SEAL_NO_CERTIFICATE = "seal_no_certificate", Conflict;
        /// A seal rejected by staff without a reason.
        SEAL_REASON_REQUIRED = "seal_reason_required", BadInput;
        /// A sealing request for an employer the certificate is not of.
        SEAL_WRONG_EMPLOYER = "seal_wrong_employer", Forbidden;
        /// A sub-certificate without the item 单位文件资料授权签章 at the portal.
        SEAL_NOT_GRANTED = "seal_not_granted", Forbidden;
        /// A sealing request that is malformed (title, hash, placement, fields).
        SEAL_REQUEST_INVALID = "seal_request_invalid", BadInput;
        /// A document hash that is not 32 bytes of SM3 in hex.
        SEAL_HASH_INVALID = "seal_hash_invalid", BadInput;
        /// A signature over something else than the seal message the server opened.
        SEAL_MESSAGE_MISMATCH = "seal_message_mismatch", BadInput;
        /// A PDF over the size limit.
        PDF_TOO_LARGE = "pdf_too_large", TooLarge;
        /// Not a PDF, or one that does not parse.
        PDF_MALFORMED = "pdf_malformed", BadInput;
        /// An encrypted PDF.
        PDF_ENCRYPTED = "pdf_encrypted", BadInput;
        /// The placement names a page the PDF does not have.
        PDF_PAGE_MISSING = "pdf_page_missing", BadInput;
        /// The seal would not lie on the page.
        PDF_PLACEMENT_INVALID = "pdf_placement_invalid", BadInput;
        /// A PDF with more signatures than the verifier reads.
        PDF_TOO_MANY_SIGNATURES = "pdf_too_many_signatures", BadInput;
        /// Too many verifications from one address; wait a minute.
        SEAL_VERIFY_RATE_LIMITED = "seal_verify_rate_limited", RateLimited;
        /// A seal signature or stamped PDF that does not decode for verification.
        SEAL_SIGNATURE_MALFORMED = "seal_signature_malformed", BadInput;
        /// A renewal asked for before its window (30 days before expiry) opens.
        RENEWAL_TOO_EARLY = "renewal_too_early", Conflict;
        /// A renewal of a certificate that is revoked, expired or not yet in force.
        RENEWAL_NOT_IN_FORCE = "renewal_not_in_force", Conflict;
        /// The employer's or holder's details changed since issuance: revoke and apply anew.
        RENEWAL_DETAILS_CHANGED = "renewal_details_changed", Conflict;
        /// A signature over something else than the renewal request the server opened.
        RENEWAL_REQUEST_MISMATCH = "renewal_request_mismatch", BadInput;
        /// A certificate renewed the other way (mobile in the mini-program, USB key by staff).
        RENEWAL_WRONG_MEDIA = "renewal_wrong_media", Conflict;
        /// No renewal with this id.
        RENEWAL_NOT_FOUND = "renewal_not_found", NotFound;
        /// A renewal that owes nothing, or was recorded paid already.
        RENEWAL_NOTHING_DUE = "renewal_nothing_due", Conflict;
        /// Not a revocation reason.
        REVOCATION_REASON_UNKNOWN = "revocation_reason_unknown", BadInput;

        // Co-signing.
        /// No such co-signing session, or it expired.
        COSIGN_SESSION_NOT_FOUND = "cosign_session_not_found", NotFound;
        /// The step was taken already.
        COSIGN_OUT_OF_ORDER = "cosign_out_of_order", Conflict;
        /// A wrong PIN; tries are counted.
        PIN_INCORRECT = "pin_incorrect", Forbidden;
        /// Six wrong PINs locked the key.
        KEY_LOCKED = "key_locked", Locked;
        /// The certificate cannot be used (not active, revoked, expired).
        CERTIFICATE_NOT_USABLE = "certificate_not_usable", Conflict;
        /// Not a curve point.
        INVALID_POINT = "invalid_point", BadInput;
        /// A number out of range.
        INVALID_SCALAR = "invalid_scalar", BadInput;
        /// Data of the wrong length.
        INVALID_LENGTH = "invalid_length", BadInput;
        /// A signature that is not strict DER.
        SIGNATURE_MALFORMED = "signature_malformed", BadInput;
        /// A PIN proof that does not parse.
        INVALID_PROOF = "invalid_proof", BadInput;
        /// A co-signing round in the old clear format.
        COSIGN_PROTOCOL_OUTDATED = "cosign_protocol_outdated", BadInput;
        /// A sealed round that does not open.
        COSIGN_ROUND_UNDECRYPTABLE = "cosign_round_undecryptable", BadInput;
        /// The final signature does not verify.
        SIGNATURE_INVALID = "signature_invalid", BadInput;
        /// Not the phone the certificate was downloaded to.
        DEVICE_TOKEN_INVALID = "device_token_invalid", Unauthenticated;

        // Enrolment and downloads.
        /// A download code that is unknown, used or expired.
        ENROLMENT_TICKET_INVALID = "enrolment_ticket_invalid", NotFound;
        /// A download code of the wrong form.
        ENROLMENT_TICKET_MALFORMED = "enrolment_ticket_malformed", BadInput;
        /// The download started again elsewhere.
        ENROLMENT_SUPERSEDED = "enrolment_superseded", Conflict;
        /// No approved application names this person on a bound phone.
        NO_BINDING_INFO = "no_binding_info", NotFound;
        /// The application has not reached the employment platform yet.
        APPLICATION_NOT_SYNCED = "application_not_synced", Conflict;
        /// Unlocking a key that is not locked.
        KEY_NOT_LOCKED = "key_not_locked", Conflict;
        /// Downloading again needs a fresh face result and an SMS code.
        DOWNLOAD_REVERIFICATION_REQUIRED = "download_reverification_required", Forbidden;

        // QR login.
        /// Not a login QR code of this server.
        LOGIN_QR_INVALID = "login_qr_invalid", BadInput;
        /// No such login, or it expired long ago.
        LOGIN_NOT_FOUND = "login_not_found", NotFound;
        /// The QR code is past its two minutes.
        LOGIN_EXPIRED = "login_expired", Gone;
        /// Scanned by someone else or used.
        LOGIN_ALREADY_SCANNED = "login_already_scanned", Conflict;
        /// Not in the state the call needs.
        LOGIN_STATE = "login_state", Conflict;
        /// Another browser started this login.
        LOGIN_NOT_CREATOR = "login_not_creator", Forbidden;
        /// Not one of the person's certificates.
        CERTIFICATE_NOT_HELD = "certificate_not_held", Forbidden;
        /// The person holds no usable certificate.
        NO_CERTIFICATE = "no_certificate", NotFound;
        /// The tapped number is not the page's.
        LOGIN_MATCH_WRONG = "login_match_wrong", Forbidden;
        /// The signature is not over this login's challenge.
        LOGIN_CHALLENGE_MISMATCH = "login_challenge_mismatch", BadInput;
        /// Too many logins or scans.
        LOGIN_RATE_LIMITED = "login_rate_limited", RateLimited;
        /// Scopes the portal may not ask for.
        LOGIN_SCOPE_INVALID = "login_scope_invalid", BadInput;
        /// A login-session request body that is not the documented one.
        LOGIN_REQUEST_MALFORMED = "login_request_malformed", BadInput;
        /// A portal's credentials are wrong.
        CLIENT_UNAUTHORIZED = "client_unauthorized", Unauthenticated;

        // Staff.
        /// Wrong username or password.
        STAFF_CREDENTIALS_WRONG = "staff_credentials_wrong", Unauthenticated;
        /// Too many wrong passwords.
        STAFF_LOCKED = "staff_locked", Locked;
        /// Too many sign-ins from one address.
        STAFF_ADDRESS_LIMIT = "staff_address_limit", RateLimited;
        /// Too many sign-ins at once.
        STAFF_SIGN_IN_BUSY = "staff_sign_in_busy", Unavailable;
        /// A password too weak.
        STAFF_PASSWORD_WEAK = "staff_password_weak", BadInput;
        /// Not a username.
        STAFF_USERNAME_INVALID = "staff_username_invalid", BadInput;
        /// The username exists.
        STAFF_USERNAME_TAKEN = "staff_username_taken", Conflict;
        /// A portal registration or edit that is not acceptable.
        PORTAL_INVALID = "portal_invalid", BadInput;
        /// An administrator's action by a reviewer.
        STAFF_NOT_ADMINISTRATOR = "staff_not_administrator", Forbidden;
        /// No staff session.
        STAFF_NOT_SIGNED_IN = "staff_not_signed_in", Unauthenticated;
        /// A staff action without its reason.
        STAFF_REASON_MISSING = "staff_reason_missing", BadInput;

        // The mini-program's people.
        /// No mini-program session.
        MP_NOT_SIGNED_IN = "mp_not_signed_in", Unauthenticated;
        /// Real-name verification not passed.
        PERSON_NOT_VERIFIED = "person_not_verified", NotFound;
        /// The face check failed.
        FACE_FAILED = "face_failed", Forbidden;
        /// The face result is another person's or another WeChat user's.
        FACE_OTHER_PERSON = "face_other_person", Forbidden;
        /// The face result is too old.
        FACE_EXPIRED = "face_expired", Forbidden;
        /// The ID number is on record under another name.
        PERSON_NAME_MISMATCH = "person_name_mismatch", Conflict;
        /// The phone is not registered to the person.
        PHONE_NOT_OWNED = "phone_not_owned", Conflict;
        /// The phone is bound to another agent.
        PHONE_BOUND = "phone_bound", Conflict;
        /// The phone is not bound.
        PHONE_NOT_BOUND = "phone_not_bound", NotFound;

        // Applicants and applications.
        /// No applicant session.
        NOT_SIGNED_IN = "not_signed_in", Unauthenticated;
        /// No such application.
        APPLICATION_NOT_FOUND = "application_not_found", NotFound;
        /// The application cannot be edited now.
        APPLICATION_NOT_EDITABLE = "application_not_editable", Conflict;
        /// The agreement's reading time has not passed.
        AGREEMENT_COUNTDOWN = "agreement_countdown", Conflict;
        /// A step is missing.
        APPLICATION_STEP_MISSING = "application_step_missing", Conflict;
        /// A draft exists already.
        APPLICATION_DRAFT_EXISTS = "application_draft_exists", Conflict;
        /// A field is wrong.
        APPLICATION_FIELD_INVALID = "application_field_invalid", BadInput;
        /// A rejection without its reason.
        REJECT_REASON_MISSING = "reject_reason_missing", BadInput;
        /// An upload in the wrong field.
        UPLOAD_WRONG_PURPOSE = "upload_wrong_purpose", BadInput;
        /// No application has named the employer yet.
        EMPLOYER_UNKNOWN = "employer_unknown", NotFound;

        // Information changes (信息变更).
        /// No such information change.
        CHANGE_NOT_FOUND = "change_not_found", NotFound;
        /// Only an approved application's details change this way.
        CHANGE_APPLICATION_NOT_APPROVED = "change_application_not_approved", Conflict;
        /// A field that names the employer or the holder: revoke and apply anew.
        CHANGE_NEEDS_NEW_APPLICATION = "change_needs_new_application", Unprocessable;
        /// The change asks for the details as they are.
        CHANGE_NOTHING_CHANGED = "change_nothing_changed", BadInput;
        /// A new legal representative without a new licence.
        CHANGE_LICENCE_REQUIRED = "change_licence_required", BadInput;
        /// The application has a change waiting for review.
        CHANGE_OPEN_EXISTS = "change_open_exists", Conflict;
        /// The change was decided already.
        CHANGE_NOT_OPEN = "change_not_open", Conflict;

        // A new primary.
        /// The employer's primary is still in force.
        PRIMARY_IN_FORCE = "primary_in_force", Conflict;
        /// The certificate is the primary already.
        PRIMARY_ALREADY = "primary_already", Conflict;
        /// The chosen certificate is not active.
        PRIMARY_CANDIDATE_NOT_IN_FORCE = "primary_candidate_not_in_force", Conflict;
        /// No reason given for a new primary.
        PRIMARY_REASON_MISSING = "primary_reason_missing", BadInput;

        // Item grants.
        /// A portal's access token is unknown, expired or logged out.
        ACCESS_TOKEN_INVALID = "access_token_invalid", Unauthenticated;
        /// The access token was not issued with the `grants` scope.
        GRANT_SCOPE_MISSING = "grant_scope_missing", Forbidden;
        /// Only an employer's primary certificate in force grants items.
        GRANT_NOT_PRIMARY = "grant_not_primary", Forbidden;
        /// The grantee is not a certificate of this employer.
        GRANT_GRANTEE_UNKNOWN = "grant_grantee_unknown", NotFound;
        /// The grantee is the primary certificate.
        GRANT_GRANTEE_PRIMARY = "grant_grantee_primary", BadInput;
        /// The grantee is revoked, expired or not downloaded.
        GRANT_GRANTEE_NOT_IN_FORCE = "grant_grantee_not_in_force", Conflict;
        /// An item that is not in the portal's catalogue.
        GRANT_ITEM_UNKNOWN = "grant_item_unknown", BadInput;
        /// An item twice in one grant set.
        GRANT_ITEM_TWICE = "grant_item_twice", BadInput;
        /// A locked default left out of a grant set.
        GRANT_ITEM_LOCKED = "grant_item_locked", BadInput;
        /// A grant window that is empty or over.
        GRANT_WINDOW_INVALID = "grant_window_invalid", BadInput;
        /// The grant set changed since it was shown.
        GRANT_STALE = "grant_stale", Conflict;
        /// No portal has the client id a grant names.
        GRANT_PORTAL_UNKNOWN = "grant_portal_unknown", NotFound;
        /// A signed grant change is not one the server can save for its signer.
        GRANT_CHANGE_MISMATCH = "grant_change_mismatch", BadInput;

        // The employment platform.
        /// No sync is blocked on several accounts.
        MERGE_NOT_NEEDED = "merge_not_needed", Conflict;
        /// The account to keep is not one the platform named.
        MERGE_ACCOUNT_UNKNOWN = "merge_account_unknown", BadInput;
        /// The platform is unreachable.
        PLATFORM_UNAVAILABLE = "platform_unavailable", Unavailable;
        /// The platform refused the merge.
        PLATFORM_MERGE_REFUSED = "platform_merge_refused", Upstream;
        /// Nothing to push again.
        SYNC_NOT_REPUSHABLE = "sync_not_repushable", Conflict;

        // SMS codes.
        /// A new code too soon.
        OTP_RESEND_TOO_SOON = "otp_resend_too_soon", RateLimited;
        /// Ten codes today.
        OTP_DAILY_LIMIT = "otp_daily_limit", RateLimited;
        /// Too many codes from one address.
        OTP_ADDRESS_LIMIT = "otp_address_limit", RateLimited;
        /// Not six digits.
        OTP_MALFORMED = "otp_malformed", BadInput;
        /// A wrong code.
        OTP_INCORRECT = "otp_incorrect", BadInput;
        /// No code pending.
        OTP_EXPIRED = "otp_expired", BadInput;
        /// The SMS provider limits this number.
        SMS_RATE_LIMITED = "sms_rate_limited", RateLimited;
        /// The number cannot receive SMS.
        SMS_PHONE_INVALID = "sms_phone_invalid", BadInput;
        /// The provider refused the message.
        SMS_REJECTED = "sms_rejected", BadInput;
        /// The provider is unreachable.
        SMS_UNAVAILABLE = "sms_unavailable", Unavailable;
        /// SMS is not configured.
        SMS_MISCONFIGURED = "sms_misconfigured", Unavailable;

        // The slider check.
        /// The challenge expired.
        CAPTCHA_EXPIRED = "captcha_expired", NotFound;
        /// The drag or the work did not pass.
        CAPTCHA_FAILED = "captcha_failed", BadInput;
        /// No slider pass.
        CAPTCHA_REQUIRED = "captcha_required", BadInput;
        /// Too many challenges from one address.
        CAPTCHA_RATE_LIMITED = "captcha_rate_limited", RateLimited;

        // Uploads and recognition.
        /// A file over 6 MB.
        UPLOAD_TOO_LARGE = "upload_too_large", TooLarge;
        /// A request over the limit.
        UPLOAD_REQUEST_TOO_LARGE = "upload_request_too_large", TooLarge;
        /// Not exactly one purpose and one file field.
        UPLOAD_FIELDS_INVALID = "upload_fields_invalid", BadInput;
        /// An image too large in pixels.
        UPLOAD_DIMENSIONS_TOO_LARGE = "upload_dimensions_too_large", BadInput;
        /// Today's uploads are used up.
        UPLOAD_DAILY_LIMIT = "upload_daily_limit", RateLimited;
        /// An empty file.
        UPLOAD_EMPTY = "upload_empty", BadInput;
        /// Not a jpg or png by content.
        UPLOAD_NOT_IMAGE = "upload_not_image", BadInput;
        /// Not an upload purpose.
        UPLOAD_PURPOSE_UNKNOWN = "upload_purpose_unknown", BadInput;
        /// No such file.
        UPLOAD_NOT_FOUND = "upload_not_found", NotFound;
        /// Recognition of a document it cannot read.
        OCR_PURPOSE_UNSUPPORTED = "ocr_purpose_unsupported", BadInput;
        /// Recognition is not configured.
        OCR_NOT_CONFIGURED = "ocr_not_configured", NotImplemented;
        /// The recognition service is unreachable.
        OCR_UNAVAILABLE = "ocr_unavailable", Unavailable;
        /// Nothing readable in the image.
        OCR_UNREADABLE = "ocr_unreadable", Unprocessable;
        /// The recognition service refused.
        OCR_REFUSED = "ocr_refused", Upstream;
        /// Recognition is misconfigured.
        OCR_MISCONFIGURED = "ocr_misconfigured", Upstream;

        // WeChat.
        /// The `wx.login` code is invalid.
        WECHAT_CODE_INVALID = "wechat_code_invalid", BadInput;
        /// The `wx.login` code was used.
        WECHAT_CODE_USED = "wechat_code_used", BadInput;
        /// WeChat limits the calls.
        WECHAT_RATE_LIMITED = "wechat_rate_limited", RateLimited;
        /// WeChat flags the user as risky.
        WECHAT_RISKY_USER = "wechat_risky_user", Forbidden;
        /// The face result is invalid.
        WECHAT_FACE_RESULT_INVALID = "wechat_face_result_invalid", BadInput;
        /// WeChat is unreachable.
        WECHAT_UNAVAILABLE = "wechat_unavailable", Unavailable;
        /// WeChat refused.
        WECHAT_REFUSED = "wechat_refused", Unavailable;
        /// WeChat is not configured.
        WECHAT_MISCONFIGURED = "wechat_misconfigured", Unavailable;

        // The carrier check.
        /// Input the carrier check refuses.
        CARRIER_INPUT_INVALID = "carrier_input_invalid", BadInput;
        /// A number the check does not cover.
        CARRIER_NUMBER_UNSUPPORTED = "carrier_number_unsupported", BadInput;
        /// The check limits the calls.
        CARRIER_RATE_LIMITED = "carrier_rate_limited", RateLimited;
        /// The check is unreachable.
        CARRIER_UNAVAILABLE = "carrier_unavailable", Unavailable;
        /// The check refused.
        CARRIER_REFUSED = "carrier_refused", Unavailable;
        /// The check is not configured.
        CARRIER_MISCONFIGURED = "carrier_misconfigured", Unavailable;

        // The development server.
        /// The development clock moves forward only.
        DEV_CLOCK_NOT_FORWARD = "dev_clock_not_forward", BadInput;
        /// The development clock would move past its limit.
        DEV_CLOCK_TOO_FAR = "dev_clock_too_far", BadInput;
        /// The server runs without a development clock.
        DEV_CLOCK_OFF = "dev_clock_off", NotFound;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut names: Vec<&str> = code::ALL.iter().map(|c| c.name()).collect();
        assert!(
            names.iter().all(|n| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
        );
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a code is listed twice");
    }

    #[test]
    fn a_description_takes_the_kind_of_its_code_unless_told_otherwise() {
        let plain = Description::new(code::CERTIFICATE_NOT_HELD, "x");
        assert_eq!(plain.kind, ErrorKind::Forbidden);
        assert_eq!(plain.of_kind(ErrorKind::NotFound).kind, ErrorKind::NotFound);
        let storage = StorageError::Conflict { what: "t" }.describe();
        assert_eq!(storage.code, code::CONCURRENT_UPDATE);
    }
}
