//! The server half of split keys as stored, and its storage trait (`store/` implements it).

use chrono::{DateTime, Utc};

use crate::failure::StorageError;
use crate::{
    audit::AuditDraft, ca::CertificateRecord, domain::CertificateSerial, notify::NoticeDraft,
};

/// A split key's server-side record.
#[derive(Clone)]
pub struct KeyShareRecord {
    /// The certificate the key belongs to.
    pub certificate: CertificateRecord,
    /// P1 = [d1⁻¹]G (SEC1 uncompressed) sealed under the master key: what PIN proofs are
    /// checked against, and so what an offline PIN search would need.
    pub sealed_phone_share: Vec<u8>,
    /// d2 sealed under the master key.
    pub sealed_server_share: Vec<u8>,
    /// SM3 (hex) of the phone's device token, once enrolment completed.
    pub device_token_hash: Option<String>,
    /// Consecutive wrong PIN proofs.
    pub failed_pin_attempts: u32,
    /// When the key locked, if it did.
    pub locked_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for KeyShareRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyShareRecord")
            .field("serial", &self.certificate.serial)
            .field("failed_pin_attempts", &self.failed_pin_attempts)
            .field("locked_at", &self.locked_at)
            .finish_non_exhaustive()
    }
}

/// The server half of a new key, stored with its pending certificate.
#[derive(Clone)]
pub struct NewKeyShare {
    /// P1 (SEC1 uncompressed) sealed under the master key.
    pub sealed_phone_share: Vec<u8>,
    /// d2 sealed under the master key.
    pub sealed_server_share: Vec<u8>,
}

impl std::fmt::Debug for NewKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewKeyShare { .. }")
    }
}

/// Outcome of a counted wrong PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFailure {
    /// Not locked yet; this many wrong PINs may still be tried.
    Remaining(u32),
    /// Locked, by this failure or before it.
    Locked,
}

/// Storage of split keys. Counter updates are single conditional statements, so concurrent
/// attempts from two copies of one phone cannot exceed the limit.
#[async_trait::async_trait]
pub trait KeyShareStore: Send + Sync + std::fmt::Debug {
    /// The key of a certificate, with the certificate.
    async fn key_share(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<KeyShareRecord>, StorageError>;
    /// Counts one wrong PIN unless the key is locked, appending `failure_audit` (the signature
    /// log's entry) in the same transaction; the `limit`-th locks it and appends `lock_audit`
    /// too.
    async fn record_pin_failure(
        &self,
        serial: &CertificateSerial,
        limit: u32,
        failure_audit: AuditDraft,
        lock_audit: AuditDraft,
    ) -> Result<PinFailure, StorageError>;
    /// Appends a completed signature to the signature log (the audit chain).
    async fn log_signature(&self, entry: AuditDraft) -> Result<(), StorageError>;
    /// Resets the counter after a right PIN; false if the key is locked (nothing changes).
    async fn record_pin_success(&self, serial: &CertificateSerial) -> Result<bool, StorageError>;
    /// Unlocks a locked key (the holder re-verified), resetting the counter, with `audit` in
    /// the same transaction; false if it was not locked.
    async fn unlock(
        &self,
        serial: &CertificateSerial,
        audit: AuditDraft,
        notice: Option<NoticeDraft>,
    ) -> Result<bool, StorageError>;
}
