//! The CA's records and its storage trait. `store/` implements the trait with sea-orm.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::CaError;
use crate::failure::StorageError;
use crate::{
    audit::{AuditDraft, AuditEntry},
    domain::{CertificateSerial, DomainError, PersonName, PhoneNumber, ResidentId, UnitName, Uscc},
    notify::NoticeDraft,
};

/// How a certificate is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// Key split between phone and server.
    Mobile,
    /// USB key.
    Physical,
}

impl MediaType {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Physical => "physical",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Mobile, Self::Physical]
            .into_iter()
            .find(|media| media.as_str() == value)
    }

    /// The seed's wording (介质类型 in seed 000's 权限授权 table).
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Mobile => "手机CA",
            Self::Physical => "实体CA",
        }
    }
}

/// Primary certificate of an employer, or a sub-certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The first active certificate of the employer.
    Primary,
    /// Any later one; acts only within granted items.
    Sub,
}

impl Role {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Sub => "sub",
        }
    }
}

/// Lifecycle state in the registry (expiry is derived from `not_after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateStatus {
    /// Recorded, not yet signed (or signing was interrupted).
    Pending,
    /// Signed and in force.
    Active,
    /// Revoked.
    Revoked,
    /// Never signed and never will be: an enrolment that was retried or given up. The serial is
    /// not reused and OCSP answers `unknown` for it.
    Abandoned,
}

impl CertificateStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Abandoned => "abandoned",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "revoked" => Some(Self::Revoked),
            "abandoned" => Some(Self::Abandoned),
            _ => None,
        }
    }
}

/// RFC 5280 §5.3.1 reasons that mcert issues (no certificateHold: revocation is final).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// unspecified (0)
    Unspecified,
    /// keyCompromise (1)
    KeyCompromise,
    /// affiliationChanged (3): holder left, or employer/holder details changed.
    AffiliationChanged,
    /// superseded (4): replaced, e.g. re-downloaded on a new phone.
    Superseded,
    /// cessationOfOperation (5): cancelled (注销).
    CessationOfOperation,
    /// privilegeWithdrawn (9)
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// All reasons, for help texts.
    pub const ALL: [Self; 6] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::PrivilegeWithdrawn,
    ];

    /// RFC 5280 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
        }
    }

    /// Parses the RFC 5280 name.
    pub fn parse(value: &str) -> Result<Self, CaError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == value)
            .ok_or_else(|| CaError::UnknownReason {
                given: value.to_string(),
            })
    }

    /// The CRL/OCSP encoding.
    pub fn crl_reason(self) -> x509_cert::ext::pkix::crl::CrlReason {
        use x509_cert::ext::pkix::crl::CrlReason;
        match self {
            Self::Unspecified => CrlReason::Unspecified,
            Self::KeyCompromise => CrlReason::KeyCompromise,
            Self::AffiliationChanged => CrlReason::AffiliationChanged,
            Self::Superseded => CrlReason::Superseded,
            Self::CessationOfOperation => CrlReason::CessationOfOperation,
            Self::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        }
    }
}

/// Why a certificate is revoked, in the words of seed 000 §五(一) and FAQ (二): the causes an
/// agent, a holder or staff choose from, each recorded beside its RFC 5280 reason and told to
/// the employment platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationCause {
    /// 证书使用人变更 (the agent changed).
    HolderChanged,
    /// 证书使用人手机号变更.
    PhoneChanged,
    /// 单位名称变更.
    EmployerRenamed,
    /// 不再使用.
    NoLongerNeeded,
    /// 手机丢失或密钥泄露.
    KeyCompromise,
}

impl RevocationCause {
    /// Every cause, in the order a form lists them.
    pub const ALL: [Self; 5] = [
        Self::HolderChanged,
        Self::PhoneChanged,
        Self::EmployerRenamed,
        Self::NoLongerNeeded,
        Self::KeyCompromise,
    ];

    /// Stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HolderChanged => "holder_changed",
            Self::PhoneChanged => "phone_changed",
            Self::EmployerRenamed => "employer_renamed",
            Self::NoLongerNeeded => "no_longer_needed",
            Self::KeyCompromise => "key_compromise",
        }
    }

    /// Parses the wire form.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }

    /// The cause as the forms and the SMS name it.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::HolderChanged => "证书使用人变更",
            Self::PhoneChanged => "证书使用人手机号变更",
            Self::EmployerRenamed => "单位名称变更",
            Self::NoLongerNeeded => "不再使用",
            Self::KeyCompromise => "手机丢失或密钥泄露",
        }
    }

    /// The RFC 5280 reason the CRL and OCSP give.
    pub fn reason(self) -> RevocationReason {
        match self {
            Self::HolderChanged | Self::PhoneChanged | Self::EmployerRenamed => {
                RevocationReason::AffiliationChanged
            }
            Self::NoLongerNeeded => RevocationReason::CessationOfOperation,
            Self::KeyCompromise => RevocationReason::KeyCompromise,
        }
    }
}

/// Employer fields the CA needs.
#[derive(Debug, Clone)]
pub struct UnitDraft {
    /// Unified social credit code.
    pub uscc: Uscc,
    /// Name.
    pub name: UnitName,
}

impl UnitDraft {
    /// Parses the employer's code and name as a person typed them.
    pub fn parse(uscc: &str, name: &str) -> Result<Self, DomainError> {
        Ok(Self {
            uscc: Uscc::parse(uscc)?,
            name: UnitName::parse(name)?,
        })
    }
}

/// Holder fields.
#[derive(Debug, Clone)]
pub struct HolderDraft {
    /// Name.
    pub name: PersonName,
    /// Resident ID number.
    pub id_number: ResidentId,
    /// Mobile phone.
    pub phone: PhoneNumber,
}

impl HolderDraft {
    /// Parses the holder's name, ID number and phone as a person typed them.
    pub fn parse(name: &str, id_number: &str, phone: &str) -> Result<Self, DomainError> {
        Ok(Self {
            name: PersonName::parse(name)?,
            id_number: ResidentId::parse(id_number)?,
            phone: PhoneNumber::parse(phone)?,
        })
    }
}

/// A certificate about to be signed.
#[derive(Debug, Clone)]
pub struct PendingCertificate {
    /// Serial.
    pub serial: CertificateSerial,
    /// Employer.
    pub unit: UnitDraft,
    /// Holder.
    pub holder: HolderDraft,
    /// Carrier.
    pub media: MediaType,
    /// Subject, human-readable.
    pub subject: String,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// The exact bytes that will be signed.
    pub tbs_der: Vec<u8>,
    /// Validity start.
    pub not_before: DateTime<Utc>,
    /// Validity end.
    pub not_after: DateTime<Utc>,
}

/// A certificate in the registry.
#[derive(Debug, Clone)]
pub struct CertificateRecord {
    /// Row id.
    pub id: i64,
    /// Serial.
    pub serial: CertificateSerial,
    /// Employer code.
    pub uscc: String,
    /// Employer name.
    pub unit_name: String,
    /// Holder name.
    pub holder_name: String,
    /// The holder's resident ID number.
    pub holder_id_number: String,
    /// The holder's phone (11 digits): where notices about the certificate go.
    pub holder_phone: String,
    /// Carrier.
    pub media: MediaType,
    /// Primary or sub.
    pub role: Role,
    /// State.
    pub status: CertificateStatus,
    /// Validity start.
    pub not_before: DateTime<Utc>,
    /// Validity end.
    pub not_after: DateTime<Utc>,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// The exact bytes that are (or will be) signed.
    pub tbs_der: Vec<u8>,
    /// Signed certificate, once active.
    pub der: Option<Vec<u8>>,
    /// Revocation, if revoked.
    pub revocation: Option<RevocationRecord>,
}

#[cfg(test)]
impl CertificateRecord {
    /// An active mobile certificate `id` of the test employer, valid from a day before `now`
    /// for a year: what the rules' unit tests start from.
    #[allow(clippy::unwrap_used)]
    pub(crate) fn sample(id: i64, role: Role, now: DateTime<Utc>) -> Self {
        Self {
            id,
            serial: CertificateSerial::parse(&format!("7{id:031X}")).unwrap(),
            uscc: "91440300708461136T".into(),
            unit_name: "昆明测试科技有限公司".into(),
            holder_name: "张三".into(),
            holder_id_number: "11010519491231002X".into(),
            holder_phone: "13800138000".into(),
            media: MediaType::Mobile,
            role,
            status: CertificateStatus::Active,
            not_before: now - chrono::TimeDelta::days(1),
            not_after: now + chrono::TimeDelta::days(364),
            public_key: vec![],
            tbs_der: vec![],
            der: None,
            revocation: None,
        }
    }
}

/// A revocation.
#[derive(Debug, Clone)]
pub struct RevocationRecord {
    /// Serial.
    pub serial: CertificateSerial,
    /// Why.
    pub reason: RevocationReason,
    /// The cause chosen, when a person revoked it (not for a supersession).
    pub cause: Option<RevocationCause>,
    /// When.
    pub revoked_at: DateTime<Utc>,
}

/// A revocation about to be stored, with what is written in its transaction.
#[derive(Debug, Clone)]
pub struct RevocationDraft {
    /// Serial.
    pub serial: CertificateSerial,
    /// Why.
    pub reason: RevocationReason,
    /// The cause chosen, when a person revokes it.
    pub cause: Option<RevocationCause>,
    /// When.
    pub revoked_at: DateTime<Utc>,
    /// Who, as the audit log names them.
    pub revoked_by: String,
    /// The audit entry.
    pub audit: AuditDraft,
    /// The holder's SMS notice, if they are told.
    pub notice: Option<NoticeDraft>,
}

/// One of the CA's own keys, private half sealed.
#[derive(Debug, Clone)]
pub struct AuthorityKeyRecord {
    /// Identifier (also the JWKS `kid` for token keys).
    pub key_id: String,
    /// `root`, `issuing`, `token` or `transport`.
    pub purpose: KeyPurpose,
    /// `SM2` or `ES256`.
    pub algorithm: String,
    /// Public key, SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// Sealed private key.
    pub sealed_private_key: Vec<u8>,
    /// The CA certificate, for root and issuing keys.
    pub certificate_der: Option<Vec<u8>>,
    /// Whether this is the key in use for its purpose (older token keys stay for JWKS).
    pub current: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// What a CA key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Trust anchor.
    Root,
    /// Signs holder certificates, CRLs and OCSP responses.
    Issuing,
    /// Signs ID tokens (ES256).
    Token,
    /// Opens the phones' encrypted co-signing rounds (SM2 key agreement); its public key is
    /// published at `GET /api/v1/mp/transport-key` and pinned by the mini-program.
    Transport,
    /// Signs the employers' electronic seals (`SESeal`) as the seal maker; its certificate is
    /// issued by the issuing CA.
    SealMaker,
}

impl KeyPurpose {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Issuing => "issuing",
            Self::Token => "token",
            Self::Transport => "transport",
            Self::SealMaker => "seal_maker",
        }
    }
}

/// A stored CRL.
#[derive(Debug, Clone)]
pub struct CrlRecord {
    /// cRLNumber.
    pub number: i64,
    /// thisUpdate.
    pub this_update: DateTime<Utc>,
    /// nextUpdate.
    pub next_update: DateTime<Utc>,
    /// The signed CRL.
    pub der: Vec<u8>,
}

/// Storage of the CA's records. Every state change that the audit log must show takes an
/// `AuditDraft` and writes both in one transaction.
#[async_trait::async_trait]
pub trait CertStore: Send + Sync + std::fmt::Debug {
    /// Whether any CA key exists (decides whether a missing master key may be created).
    async fn has_authority_keys(&self) -> Result<bool, StorageError>;
    /// Keys for a purpose, current first.
    async fn authority_keys(
        &self,
        purpose: KeyPurpose,
    ) -> Result<Vec<AuthorityKeyRecord>, StorageError>;
    /// Stores new CA keys in one transaction; `Conflict` if another instance created them first.
    async fn insert_authority_keys(
        &self,
        keys: Vec<AuthorityKeyRecord>,
        audit: AuditDraft,
    ) -> Result<(), StorageError>;
    /// Records a certificate before it is signed, the employer with it (created if new; a
    /// different registered name is `UnitNameMismatch`), and the audit entry. The role is
    /// primary if the employer has no other live certificate.
    async fn record_pending(
        &self,
        pending: PendingCertificate,
        audit: AuditDraft,
    ) -> Result<CertificateRecord, CaError>;
    /// Stores the signature result and marks the certificate active.
    async fn activate(&self, serial: &CertificateSerial, der: Vec<u8>) -> Result<(), StorageError>;
    /// Looks a certificate up.
    async fn find_by_serial(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<CertificateRecord>, StorageError>;
    /// Every certificate of the employer `uscc`, oldest first.
    async fn employer_certificates(
        &self,
        uscc: &str,
    ) -> Result<Vec<CertificateRecord>, StorageError>;
    /// The certificates whose holder is named `holder_name`, newest first, at most `limit`.
    async fn holder_certificates(
        &self,
        holder_name: &str,
        limit: u64,
    ) -> Result<Vec<CertificateRecord>, StorageError>;
    /// Every certificate downloaded for the application `application_id`, oldest first.
    async fn application_certificates(
        &self,
        application_id: i64,
    ) -> Result<Vec<CertificateRecord>, StorageError>;
    /// Makes the active sub-certificate `candidate` its employer's primary with its audit entry,
    /// under the employer's lock; false if it is no longer an active sub-certificate or another
    /// primary of the employer is pending or active by then.
    async fn appoint_primary(
        &self,
        candidate: &CertificateRecord,
        audit: AuditDraft,
    ) -> Result<bool, StorageError>;
    /// Revokes an active certificate, with its audit entry and the holder's notice, in one
    /// transaction; a certificate downloaded for an application also queues its `revoked`
    /// event for the employment platform in that transaction.
    async fn revoke(&self, revocation: RevocationDraft) -> Result<RevocationRecord, CaError>;
    /// Every revocation, for the CRL.
    async fn revocations(&self) -> Result<Vec<RevocationRecord>, StorageError>;
    /// The newest CRL.
    async fn latest_crl(&self) -> Result<Option<CrlRecord>, StorageError>;
    /// Stores a CRL; `Conflict` if that number exists (another instance was first).
    async fn insert_crl(&self, crl: CrlRecord) -> Result<(), StorageError>;
    /// Appends an audit entry on its own.
    async fn append_audit(&self, audit: AuditDraft) -> Result<AuditEntry, StorageError>;
    /// The signature log: the audit entries of `actions` about the certificates `serials`
    /// (every certificate if `None`), from `since` until before `until`, newest first, at most
    /// `limit`.
    async fn audit_entries_about(
        &self,
        actions: &[&str],
        serials: Option<&[String]>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StorageError>;
    /// Audit entries from `after_seq` (exclusive), at most `limit`, in order.
    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StorageError>;
    /// Health check.
    async fn ping(&self) -> Result<(), StorageError>;
}
