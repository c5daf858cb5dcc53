//! What can go wrong in the certificate authority. No HTTP knowledge here: `crate::error`
//! maps these to status codes and Chinese messages.

use crate::domain::{CertificateSerial, DomainError};

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

/// Errors of the certificate authority core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// CA keys exist but no master key was configured or found on disk.
    #[error("master key missing: set MCERT_MASTER_KEY or restore {path}")]
    MasterKeyMissing {
        /// Where the key file was looked for.
        path: String,
    },
    /// The master key does not open the stored CA keys.
    #[error("master key does not open the stored CA keys")]
    MasterKeyWrong,
    /// The master key is not 32 hexadecimal digits.
    #[error("master key must be 32 hexadecimal digits (128 bits)")]
    MasterKeyFormat,
    /// The master key file could not be read or written.
    #[error("master key file {path}")]
    MasterKeyFile {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The CSR is not a DER or PEM PKCS#10 request.
    #[error("malformed certificate request: {detail}")]
    CsrMalformed {
        /// The parser's complaint.
        detail: String,
    },
    /// The CSR's signature does not verify under its own key (no proof of possession).
    #[error("certificate request signature does not verify")]
    CsrSignatureInvalid,
    /// The CSR's key or signature algorithm is not SM2 / SM2-with-SM3.
    #[error("unsupported algorithm {oid} in certificate request (SM2 required)")]
    CsrAlgorithm {
        /// The algorithm found.
        oid: String,
    },
    /// A holder or unit field is invalid.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The unit is registered under another name.
    #[error("unit {uscc} is registered as {registered_name}")]
    UnitNameMismatch {
        /// The code.
        uscc: String,
        /// The name on record.
        registered_name: String,
    },
    /// No certificate with that serial.
    #[error("no certificate with serial {serial}")]
    CertificateNotFound {
        /// The serial asked for.
        serial: CertificateSerial,
    },
    /// The certificate was revoked before.
    #[error("certificate {serial} already revoked at {revoked_at}")]
    AlreadyRevoked {
        /// The serial.
        serial: CertificateSerial,
        /// When it was revoked.
        revoked_at: chrono::DateTime<chrono::Utc>,
    },
    /// The certificate is not active (still pending, never signed).
    #[error("certificate {serial} is not active")]
    NotActive {
        /// The serial.
        serial: CertificateSerial,
    },
    /// The revocation reason is not one mcert issues.
    #[error("unknown revocation reason {given}")]
    UnknownReason {
        /// What was given.
        given: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A signature or key operation failed.
    #[error("cryptographic operation failed: {detail}")]
    Crypto {
        /// What failed.
        detail: &'static str,
    },
    /// An ASN.1 structure could not be encoded.
    #[error("ASN.1 encoding failed")]
    Encoding(#[from] der::Error),
}
