//! The signature log: every co-signature a mobile key completed and every wrong PIN proof, as
//! the co-signer appended them to the audit chain ([`SIGNATURE_MADE`], [`SIGNATURE_PIN_FAILED`]).
//! A USB key cannot say what it signed; a split key can, because the server takes part in each
//! signature. The holder reads their certificate's history, staff search it by certificate,
//! employer or time, and `admin audit-verify` checks the chain it is part of.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{SIGNATURE_MADE, SIGNATURE_PIN_FAILED};
use crate::{
    audit::AuditEntry,
    ca::CertStore,
    domain::CertificateSerial,
    failure::{Describe, Description, StorageError, code},
    people::{People, PeopleError, WxUserRecord},
};

/// Most entries one answer holds.
pub const MAX_ENTRIES: u64 = 200;

/// One entry of the log.
#[derive(Debug, Clone)]
pub struct SignatureEntry {
    /// Its place in the audit chain.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The certificate.
    pub serial: String,
    /// Whether the key signed, or a wrong PIN was refused.
    pub signed: bool,
    /// What the co-signer recorded: `purpose`, `cosign_session`, `message_sm3`, and
    /// `login_session` + `portal`, `portal` + `grantee` + `grant_id`, or `new_serial` by
    /// purpose.
    pub detail: serde_json::Value,
}

impl SignatureEntry {
    fn of(entry: AuditEntry) -> Self {
        Self {
            seq: entry.seq,
            at: entry.occurred_at,
            signed: entry.action == SIGNATURE_MADE,
            detail: serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null),
            serial: entry.subject,
        }
    }
}

/// Why the log was not shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Not one of the signed-in person's certificates.
    #[error("certificate not held by this person")]
    NotHeld,
    /// The mini-program account.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Describe for LogError {
    fn describe(&self) -> Description {
        match self {
            Self::NotHeld => Description::new(
                code::CERTIFICATE_NOT_HELD,
                "该证书不是您本人下载的证书，不能查看它的签名记录",
            ),
            Self::People(e) => e.describe(),
            Self::Storage(e) => e.describe(),
        }
    }
}

/// A staff search of the log.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// One certificate.
    pub serial: Option<CertificateSerial>,
    /// Every certificate of one employer.
    pub uscc: Option<String>,
    /// From.
    pub since: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub until: Option<DateTime<Utc>>,
}

/// Reading the signature log.
#[derive(Debug)]
pub struct SignatureLog {
    store: Arc<dyn CertStore>,
    people: Arc<People>,
}

impl SignatureLog {
    /// Over the audit chain and the mini-program accounts.
    pub fn new(store: Arc<dyn CertStore>, people: Arc<People>) -> Self {
        Self { store, people }
    }

    /// What the signed-in person's certificate `serial` signed, newest first: what its key
    /// signed, under this certificate and under those it renewed (年审延期 keeps the key).
    pub async fn of_holder(
        &self,
        user: &WxUserRecord,
        serial: &str,
    ) -> Result<Vec<SignatureEntry>, LogError> {
        let serial = CertificateSerial::parse(serial.trim()).map_err(|_| LogError::NotHeld)?;
        let (all, _) = self.people.certificates(user).await?;
        let held = all
            .iter()
            .find(|certificate| certificate.serial == serial)
            .ok_or(LogError::NotHeld)?;
        let same_key = all
            .iter()
            .filter(|certificate| certificate.public_key == held.public_key)
            .map(|certificate| certificate.serial.to_string())
            .collect();
        self.entries(Some(same_key), None, None).await
    }

    /// Staff search, newest first; an employer without certificates has an empty log.
    pub async fn search(&self, query: LogQuery) -> Result<Vec<SignatureEntry>, LogError> {
        let mut serials: Option<Vec<String>> = query.serial.map(|s| vec![s.to_string()]);
        if let Some(uscc) = &query.uscc {
            let of_employer: Vec<String> = self
                .store
                .employer_certificates(uscc)
                .await?
                .into_iter()
                .map(|certificate| certificate.serial.to_string())
                .collect();
            serials = Some(match serials {
                Some(one) => one
                    .into_iter()
                    .filter(|serial| of_employer.contains(serial))
                    .collect(),
                None => of_employer,
            });
        }
        self.entries(serials, query.since, query.until).await
    }

    async fn entries(
        &self,
        serials: Option<Vec<String>>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<SignatureEntry>, LogError> {
        Ok(self
            .store
            .audit_entries_about(
                &[SIGNATURE_MADE, SIGNATURE_PIN_FAILED],
                serials.as_deref(),
                since,
                until,
                MAX_ENTRIES,
            )
            .await?
            .into_iter()
            .map(SignatureEntry::of)
            .collect())
    }
}
