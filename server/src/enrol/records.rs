//! Enrolment tickets and the storage trait for enrolment (`store/` implements it).

use chrono::{DateTime, Utc};

use super::EnrolError;
use crate::{
    audit::AuditDraft,
    ca::{CertificateRecord, HolderDraft, PendingCertificate, RevocationDraft, UnitDraft},
    certificates::{RenewalDraft, RenewalRecord},
    cosign::NewKeyShare,
    domain::CertificateSerial,
    notify::NoticeDraft,
};

/// A ticket about to be stored.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// SM3 of the ticket, hex.
    pub ticket_hash: String,
    /// The employer.
    pub unit: UnitDraft,
    /// The holder the certificate is for.
    pub holder: HolderDraft,
    /// Who created it.
    pub created_by: String,
    /// Last moment it may start an enrolment.
    pub expires_at: DateTime<Utc>,
    /// For a mini-program download: the approved application and the verified person.
    pub download: Option<DownloadLink>,
}

/// What a download ticket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadLink {
    /// The approved application.
    pub application_id: i64,
    /// The verified person downloading.
    pub person_id: i64,
}

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStatus {
    /// May start (or restart) an enrolment.
    Open,
    /// Its certificate is active.
    Completed,
}

impl TicketStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Completed => "completed",
        }
    }
}

/// Storage for enrolment. Each method is one transaction.
#[async_trait::async_trait]
pub trait EnrolStore: Send + Sync + std::fmt::Debug {
    /// Stores a new ticket with its audit entry.
    async fn insert_ticket(&self, ticket: NewTicket, audit: AuditDraft) -> Result<(), EnrolError>;
    /// The employer and holder of an open, unexpired ticket; `TicketInvalid` otherwise.
    async fn open_ticket(
        &self,
        ticket_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(UnitDraft, HolderDraft), EnrolError>;
    /// Checks the ticket again (open, unexpired), abandons its unfinished earlier attempt,
    /// records the pending certificate, the key share and the audit entry, and links the
    /// ticket to the new certificate.
    async fn start_enrolment(
        &self,
        ticket_hash: &str,
        pending: PendingCertificate,
        share: NewKeyShare,
        audit: AuditDraft,
    ) -> Result<CertificateRecord, EnrolError>;
    /// The hash of the application's open download ticket, storing `ticket` (whose hash is
    /// ignored) if it has none. Concurrent downloads of one application share the ticket, so
    /// starting one abandons the other and exactly one certificate results.
    async fn download_ticket(&self, ticket: NewTicket) -> Result<String, EnrolError>;
    /// The other certificates downloaded for the same application as `serial` (the phones a
    /// new download may replace), signed or not.
    async fn other_downloads(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Vec<CertificateRecord>, EnrolError>;
    /// Activates the pending certificate `serial` with `completion`'s signed bytes, stores the
    /// device token hash, completes the ticket, revokes the certificates it supersedes (a
    /// renewal's previous certificate first, then the application's other downloads), appends
    /// the audit entry and queues the holder's notice, and for a download queues the
    /// `activated` event for the employment platform, all in one transaction. `Superseded` if
    /// the certificate is no longer pending (a newer attempt abandoned it). The renewal's record
    /// if it is one.
    async fn complete_enrolment(
        &self,
        serial: &CertificateSerial,
        completion: Completion,
    ) -> Result<Option<RenewalRecord>, EnrolError>;
}

/// What activating an enrolled certificate writes (see [`EnrolStore::complete_enrolment`]).
#[derive(Debug, Clone)]
pub struct Completion {
    /// The signed certificate.
    pub der: Vec<u8>,
    /// SM3 (hex) of the phone's device token: a new one for a download, the old
    /// certificate's for a renewal (the phone keeps its token).
    pub device_token_hash: String,
    /// The application's downloads on other phones that it replaces.
    pub supersedes: Vec<RevocationDraft>,
    /// `certificate.activate`.
    pub audit: AuditDraft,
    /// The holder's SMS.
    pub notice: Option<NoticeDraft>,
    /// A renewal's supersession, row and audit entry.
    pub renewal: Option<RenewalDraft>,
}
