//! 年审延期 (seed 000 §五(三), seed 003 第三条, seed 001 §六(四)): a certificate is followed by
//! a new one for another year, from 30 days before it expires, while the employer's name and
//! USCC and the holder's name and phone are what the certificate says.
//!
//! - A **mobile** certificate's holder asks in the mini-program with the PIN: the server
//!   records the new certificate (same split key, new serial, valid until a year after the old
//!   one ends) in the persist-before-sign transaction of any enrolment, and opens a co-signing
//!   session over a `renewal_request` that the old certificate signs. The signature activates
//!   the new certificate and supersedes the old one in one transaction: no moment when neither
//!   or both may log in.
//! - A **USB-key** certificate is renewed by staff from the token's new CSR
//!   (`mcert-server admin renew`), the same way at once.
//!
//! A free certificate renews free; a billable one's renewal is recorded with the fee due
//! ([`crate::billing::renewal`]), which staff mark paid until the ordering portal takes
//! payments.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use mcert_signer::message::{RenewalRequest, SignedMessage};

use crate::{
    applications::{ApplicationRecord, ApplicationStore},
    audit::{Actor, AuditDraft},
    billing::{self, Charge},
    ca::{Authority, CaError, CertificateRecord, MediaType, RevocationDraft, RevocationReason},
    certificates::{Standing, expiry::date_zh},
    clock::Clock,
    cosign::{CompletedSignature, CosignError, OpenedSession},
    domain::{CertificateSerial, DomainError},
    enrol::{DownloadLink, EnrolError, Enrolment},
    failure::{Describe, Description, StorageError, code},
    people::{People, PeopleError, PersonRecord, WxUserRecord},
    staff::Reviewer,
};

/// How long before expiry a renewal may be asked for (seed 003: 到期前 30 天起).
pub const RENEWAL_WINDOW: TimeDelta = TimeDelta::days(30);
/// How much longer the renewed certificate runs than the one it follows.
pub const RENEWAL_TERM: TimeDelta = TimeDelta::days(365);

/// What may not have changed for a renewal (seed 000 §五(三) 证书年审延期的条件).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Particular {
    /// 用人单位名称.
    EmployerName,
    /// 统一社会信用代码.
    Uscc,
    /// 证书使用人姓名.
    HolderName,
    /// 证书使用人电话号码.
    HolderPhone,
}

impl Particular {
    /// The seed's words.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::EmployerName => "用人单位名称",
            Self::Uscc => "统一社会信用代码",
            Self::HolderName => "证书使用人姓名",
            Self::HolderPhone => "证书使用人手机号",
        }
    }
}

/// The employer and holder as the records say now, to compare with the certificate.
#[derive(Debug, Clone)]
pub struct Current {
    /// The employer's USCC.
    pub uscc: String,
    /// The employer's name.
    pub unit_name: String,
    /// The holder's name.
    pub holder_name: String,
    /// The phones the holder may be reached at now: the application's agent phone if it is
    /// still bound to the holder in the mini-program.
    pub holder_phones: Vec<String>,
}

impl Current {
    /// What the approved `application` and the mini-program `person` with their bound `phones`
    /// say now.
    pub fn of(application: &ApplicationRecord, person: &PersonRecord, phones: &[String]) -> Self {
        let enterprise = application.enterprise.as_ref();
        let agent_phone = application.agent.as_ref().map(|agent| agent.phone.clone());
        Self {
            uscc: enterprise.map(|e| e.uscc.clone()).unwrap_or_default(),
            unit_name: enterprise.map(|e| e.name.clone()).unwrap_or_default(),
            holder_name: person.name.clone(),
            holder_phones: agent_phone
                .filter(|phone| phones.contains(phone))
                .into_iter()
                .collect(),
        }
    }

    /// The first particular of `certificate` that is no longer so.
    pub fn changed(&self, certificate: &CertificateRecord) -> Option<Particular> {
        if certificate.uscc != self.uscc {
            Some(Particular::Uscc)
        } else if certificate.unit_name != self.unit_name {
            Some(Particular::EmployerName)
        } else if certificate.holder_name != self.holder_name {
            Some(Particular::HolderName)
        } else if !self.holder_phones.contains(&certificate.holder_phone) {
            Some(Particular::HolderPhone)
        } else {
            None
        }
    }
}

/// When `certificate`'s renewal window opens.
pub fn window_opens(certificate: &CertificateRecord) -> DateTime<Utc> {
    certificate.not_after - RENEWAL_WINDOW
}

/// Whether `certificate` may be renewed at `now` (its particulars aside): in force and within
/// the window. The renewed certificate's end of validity if so.
pub fn check(
    certificate: &CertificateRecord,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, RenewError> {
    let standing = Standing::of(certificate, now);
    if !standing.in_force() {
        return Err(RenewError::NotInForce {
            standing,
            not_after: certificate.not_after,
        });
    }
    if now < window_opens(certificate) {
        return Err(RenewError::TooEarly {
            not_after: certificate.not_after,
            opens_at: window_opens(certificate),
        });
    }
    Ok(certificate.not_after + RENEWAL_TERM)
}

/// A renewal as recorded once it took effect.
#[derive(Debug, Clone)]
pub struct RenewalRecord {
    /// Id (what staff mark paid).
    pub id: i64,
    /// The new certificate.
    pub serial: CertificateSerial,
    /// The certificate it follows (superseded).
    pub previous_serial: CertificateSerial,
    /// The employer.
    pub uscc: String,
    /// The employer's name.
    pub unit_name: String,
    /// The new certificate's end of validity.
    pub not_after: DateTime<Utc>,
    /// The fee due, if the certificate is billable.
    pub fee_yuan: Option<u32>,
    /// When it took effect.
    pub renewed_at: DateTime<Utc>,
    /// When staff recorded the fee paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// Who did.
    pub paid_by: Option<String>,
}

/// What a renewal writes in the transaction that activates the new certificate: the old one's
/// supersession, the renewal's row with its fee, and the audit entry.
#[derive(Debug, Clone)]
pub struct RenewalDraft {
    /// The old certificate's revocation (superseded).
    pub previous: RevocationDraft,
    /// The application both belong to (none for a USB key issued by staff).
    pub application_id: Option<i64>,
    /// The fee due.
    pub fee_yuan: Option<u32>,
    /// `certificate.renew`.
    pub audit: AuditDraft,
}

/// Storage of renewals (`store/renewal_store.rs`). Writing one belongs to the transaction that
/// activates its certificate (`EnrolStore::complete_enrolment`, [`RenewalStore::activate`]).
#[async_trait::async_trait]
pub trait RenewalStore: Send + Sync + std::fmt::Debug {
    /// The application a certificate was downloaded for, if any.
    async fn application_of(&self, serial: &CertificateSerial)
    -> Result<Option<i64>, StorageError>;
    /// Records the pending certificate that renews `previous` (taking its role), with the audit
    /// entry.
    async fn record_pending(
        &self,
        pending: crate::ca::PendingCertificate,
        previous: &CertificateSerial,
        audit: AuditDraft,
    ) -> Result<CertificateRecord, CaError>;
    /// Activates the renewing certificate `serial` with its signed bytes and writes `renewal`,
    /// in one transaction.
    async fn activate(
        &self,
        serial: &CertificateSerial,
        der: Vec<u8>,
        renewal: RenewalDraft,
    ) -> Result<RenewalRecord, CaError>;
    /// The renewals, newest first, at most `limit`; only those with a fee not yet paid if
    /// `unpaid`.
    async fn renewals(&self, unpaid: bool, limit: u64) -> Result<Vec<RenewalRecord>, StorageError>;
    /// One renewal.
    async fn renewal(&self, id: i64) -> Result<Option<RenewalRecord>, StorageError>;
    /// Records renewal `id`'s fee paid by `staff` at `at`, with the audit entry; false if it
    /// owes nothing or was paid already.
    async fn mark_paid(
        &self,
        id: i64,
        staff: &str,
        at: DateTime<Utc>,
        audit: AuditDraft,
    ) -> Result<bool, StorageError>;
}

/// Why a renewal was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenewError {
    /// Not one of the signed-in person's certificates.
    #[error("certificate not held by this person")]
    NotHeld,
    /// Revoked, expired or not active.
    #[error("certificate is {standing}, not in force")]
    NotInForce {
        /// Where it stands.
        standing: Standing,
        /// Its end of validity.
        not_after: DateTime<Utc>,
    },
    /// Earlier than 30 days before expiry.
    #[error("renewal opens at {opens_at}")]
    TooEarly {
        /// Its end of validity.
        not_after: DateTime<Utc>,
        /// When the window opens.
        opens_at: DateTime<Utc>,
    },
    /// The employer's or holder's particulars changed.
    #[error("{0:?} changed")]
    Changed(Particular),
    /// A mobile certificate asked for with a CSR, or a USB key's in the mini-program.
    #[error("a {media} certificate is not renewed this way")]
    WrongMedia {
        /// The certificate's medium.
        media: &'static str,
    },
    /// The signed message is not the renewal request the server opened.
    #[error("signed renewal request does not match")]
    Mismatch,
    /// No such renewal.
    #[error("renewal not found")]
    NotFound,
    /// Nothing to pay.
    #[error("renewal owes nothing")]
    NothingDue,
    /// From the CA.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// From enrolment.
    #[error(transparent)]
    Enrol(#[from] EnrolError),
    /// From the mini-program account.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// From co-signing.
    #[error(transparent)]
    Cosign(#[from] CosignError),
    /// Stored data does not parse.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Describe for RenewError {
    fn describe(&self) -> Description {
        match self {
            Self::NotHeld => Description::new(
                code::CERTIFICATE_NOT_HELD,
                "该证书不是您本人下载的证书，不能在此年审延期",
            ),
            Self::NotInForce {
                standing: Standing::Expired,
                not_after,
            } => Description::new(
                code::RENEWAL_NOT_IN_FORCE,
                format!(
                    "证书已于{}过期，不能再年审延期，请在申请网页重新申请证书",
                    date_zh(*not_after)
                ),
            ),
            Self::NotInForce { standing, .. } => Description::new(
                code::RENEWAL_NOT_IN_FORCE,
                format!(
                    "证书状态为“{}”，只有已激活且在有效期内的证书可以年审延期",
                    standing.label_zh()
                ),
            ),
            Self::TooEarly {
                not_after,
                opens_at,
            } => Description::new(
                code::RENEWAL_TOO_EARLY,
                format!(
                    "证书有效期至{}，到期前 30 天起才可年审延期，请于{}起再办理",
                    date_zh(*not_after),
                    date_zh(*opens_at)
                ),
            ),
            Self::Changed(particular) => Description::new(
                code::RENEWAL_DETAILS_CHANGED,
                format!(
                    "{}已发生变更，不能年审延期。请先在申请网页用申请时的手机号登录，点“证书废除”废除\
                     当前证书，再按新的信息重新申请",
                    particular.label_zh()
                ),
            ),
            Self::WrongMedia { media } if *media == MediaType::Mobile.as_str() => Description::new(
                code::RENEWAL_WRONG_MEDIA,
                "手机证书由证书使用人在小程序中输入 PIN 码年审延期",
            ),
            Self::WrongMedia { .. } => Description::new(
                code::RENEWAL_WRONG_MEDIA,
                "实体证书（USB Key）的年审延期请携带 Key 到云南CA公司办理",
            ),
            Self::Mismatch => Description::new(
                code::RENEWAL_REQUEST_MISMATCH,
                "签名的年审延期申请与本次操作不一致，请重新发起年审延期",
            ),
            Self::NotFound => Description::new(
                code::RENEWAL_NOT_FOUND,
                "未找到该年审延期记录，请刷新后重试",
            ),
            Self::NothingDue => Description::new(
                code::RENEWAL_NOTHING_DUE,
                "该年审延期为免费办理或已登记缴费，无需再登记",
            ),
            Self::Ca(e) => e.describe(),
            Self::Enrol(e) => e.describe(),
            Self::People(e) => e.describe(),
            Self::Cosign(e) => e.describe(),
            Self::Domain(e) => e.describe(),
            Self::Storage(e) => e.describe(),
        }
    }
}

/// A renewal waiting for the holder's signature.
#[derive(Debug, Clone)]
pub struct StartedRenewal {
    /// The new certificate (pending).
    pub serial: CertificateSerial,
    /// Its end of validity.
    pub not_after: DateTime<Utc>,
    /// The co-signing session over the `renewal_request`, signed with the old certificate.
    pub session: OpenedSession,
}

/// A renewal that took effect.
#[derive(Debug, Clone)]
pub struct Renewed {
    /// What was recorded.
    pub renewal: RenewalRecord,
    /// The new certificate, PEM.
    pub certificate_pem: String,
}

/// What renewals need beside the CA.
#[derive(Debug)]
pub struct RenewalParts {
    /// The renewals.
    pub store: Arc<dyn RenewalStore>,
    /// The applications, for what the employer and holder are now and the charge.
    pub applications: Arc<dyn ApplicationStore>,
    /// The mini-program accounts.
    pub people: Arc<People>,
    /// Mobile keys: the new certificate's share and its activation.
    pub enrolment: Arc<Enrolment>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

/// 年审延期 by the holder (mobile), and the fees due.
#[derive(Debug)]
pub struct Renewals {
    authority: Arc<Authority>,
    parts: RenewalParts,
}

impl Renewals {
    /// Over the CA and its parts.
    pub fn new(authority: Arc<Authority>, parts: RenewalParts) -> Self {
        Self { authority, parts }
    }

    /// The holder asks to renew their certificate `serial`: checks the window and the
    /// particulars, records the new certificate and opens the co-signing session over the
    /// `renewal_request` ([`Renewals::complete`] finishes it).
    pub async fn start_by_holder(
        &self,
        user: &WxUserRecord,
        serial: &str,
    ) -> Result<StartedRenewal, RenewError> {
        let certificate = self
            .parts
            .people
            .held(user, serial)
            .await?
            .ok_or(RenewError::NotHeld)?;
        if certificate.media != MediaType::Mobile {
            return Err(RenewError::WrongMedia {
                media: certificate.media.as_str(),
            });
        }
        let not_after = check(&certificate, self.parts.clock.now())?;
        let (person, phones) = self.parts.people.person_of(user).await?;
        let application = application_of(
            self.parts.store.as_ref(),
            self.parts.applications.as_ref(),
            &certificate.serial,
        )
        .await?;
        // A mobile certificate held in the mini-program was downloaded for an application.
        let application = application.ok_or(RenewError::NotHeld)?;
        if let Some(changed) = Current::of(&application, &person, &phones).changed(&certificate) {
            return Err(RenewError::Changed(changed));
        }
        let link = DownloadLink {
            application_id: application.id,
            person_id: person.id,
        };
        let (record, session) = self
            .parts
            .enrolment
            .start_renewal(&certificate, link, not_after)
            .await?;
        Ok(StartedRenewal {
            serial: record.serial,
            not_after: record.not_after,
            session,
        })
    }

    /// A verified signature over a `renewal_request`: activates the new certificate it names
    /// and supersedes the one that signed it.
    pub async fn complete(&self, completed: CompletedSignature) -> Result<Renewed, RenewError> {
        let Ok(SignedMessage::RenewalRequest(request)) = SignedMessage::decode(&completed.message)
        else {
            return Err(RenewError::Mismatch);
        };
        let RenewalRequest {
            serial, new_serial, ..
        } = &request;
        if CertificateSerial::parse(serial).ok().as_ref() != Some(&completed.serial) {
            return Err(RenewError::Mismatch);
        }
        let new_serial = CertificateSerial::parse(new_serial).map_err(|_| RenewError::Mismatch)?;
        let previous = self.authority.certificate(&completed.serial).await?;
        let next = self.authority.certificate(&new_serial).await?;
        if next.public_key != previous.public_key || next.not_after.timestamp() != request.not_after
        {
            return Err(RenewError::Mismatch);
        }
        let application = application_of(
            self.parts.store.as_ref(),
            self.parts.applications.as_ref(),
            &new_serial,
        )
        .await?;
        let draft = draft(
            &self.authority,
            &previous,
            &new_serial,
            application.as_ref(),
            &Actor::Phone,
        )
        .await?;
        let (renewal, certificate_pem) =
            self.parts.enrolment.activate_renewal(&next, draft).await?;
        Ok(Renewed {
            renewal,
            certificate_pem,
        })
    }

    /// Staff renew the USB-key certificate `serial` from the token's new `csr` now (see
    /// [`renew_physical`], which the CLI calls).
    pub async fn physical(
        &self,
        serial: &CertificateSerial,
        csr: &[u8],
        actor: &Actor,
    ) -> Result<Renewed, RenewError> {
        renew_physical(
            &self.authority,
            self.parts.store.as_ref(),
            self.parts.applications.as_ref(),
            (serial, csr),
            actor,
            self.parts.clock.now(),
        )
        .await
    }

    /// The renewals for staff, newest first; only those whose fee is unpaid if `unpaid`.
    pub async fn list(&self, unpaid: bool) -> Result<Vec<RenewalRecord>, RenewError> {
        Ok(self.parts.store.renewals(unpaid, 200).await?)
    }

    /// Staff record renewal `id`'s fee paid (until the ordering portal takes payments),
    /// audited.
    pub async fn mark_paid(&self, staff: &Reviewer, id: i64) -> Result<RenewalRecord, RenewError> {
        let renewal = self
            .parts
            .store
            .renewal(id)
            .await?
            .ok_or(RenewError::NotFound)?;
        let audit = AuditDraft {
            actor: staff.actor(),
            action: "renewal.paid",
            subject: renewal.serial.to_string(),
            detail: serde_json::json!({ "renewal": id, "fee_yuan": renewal.fee_yuan }),
        };
        let now = self.parts.clock.now();
        if !self
            .parts
            .store
            .mark_paid(id, staff.username(), now, audit)
            .await?
        {
            return Err(RenewError::NothingDue);
        }
        self.parts
            .store
            .renewal(id)
            .await?
            .ok_or(RenewError::NotFound)
    }
}

/// The application `serial` was downloaded for, if any.
async fn application_of(
    store: &dyn RenewalStore,
    applications: &dyn ApplicationStore,
    serial: &CertificateSerial,
) -> Result<Option<ApplicationRecord>, RenewError> {
    let Some(id) = store.application_of(serial).await? else {
        return Ok(None);
    };
    Ok(applications.application(id).await?)
}

/// What a renewal of `previous` into `serial` by `actor` writes beside the new certificate's
/// activation: `previous` superseded, the fee its `application`'s charge makes due, the audit
/// entry.
async fn draft(
    authority: &Authority,
    previous: &CertificateRecord,
    serial: &CertificateSerial,
    application: Option<&ApplicationRecord>,
    actor: &Actor,
) -> Result<RenewalDraft, RenewError> {
    let charge = application.map_or(Charge::Free, |a| {
        Charge::stored(a.billable.unwrap_or(false), a.fee_yuan)
    });
    let fee_yuan = billing::renewal(charge).fee_yuan();
    Ok(RenewalDraft {
        previous: authority
            .revocation(&previous.serial, RevocationReason::Superseded, actor)
            .await?,
        application_id: application.map(|a| a.id),
        fee_yuan,
        audit: AuditDraft {
            actor: actor.clone(),
            action: "certificate.renew",
            subject: serial.to_string(),
            detail: serde_json::json!({
                "previous": previous.serial.as_str(),
                "media": previous.media.as_str(),
                "fee_yuan": fee_yuan,
            }),
        },
    })
}

/// Staff renew the USB-key certificate `serial` from the token's new `csr` (DER or PEM) at
/// `now` (`mcert-server admin renew`): the new certificate (the token's new key, the same
/// employer and holder, valid until a year after the old one ends) is active at once and the
/// old one superseded in the same transaction.
pub async fn renew_physical(
    authority: &Authority,
    store: &dyn RenewalStore,
    applications: &dyn ApplicationStore,
    (serial, csr): (&CertificateSerial, &[u8]),
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Renewed, RenewError> {
    let previous = authority.certificate(serial).await?;
    if previous.media != MediaType::Physical {
        return Err(RenewError::WrongMedia {
            media: previous.media.as_str(),
        });
    }
    let not_after = check(&previous, now)?;
    let request = crate::ca::verify_csr(csr)?;
    let new_serial = CertificateSerial::random(&mut rand::rngs::OsRng);
    let pending = authority.prepare_renewal(
        &previous,
        request.public_key_info,
        new_serial.clone(),
        not_after,
    )?;
    let mut audit = crate::ca::issue_audit(&crate::ca::profile::PHYSICAL_HOLDER, &pending, actor);
    audit.detail["renews"] = previous.serial.as_str().into();
    let record = store
        .record_pending(pending, &previous.serial, audit)
        .await?;
    let der = authority.sign_tbs(&record.tbs_der)?;
    let application = application_of(store, applications, &previous.serial).await?;
    let draft = draft(
        authority,
        &previous,
        &new_serial,
        application.as_ref(),
        actor,
    )
    .await?;
    let renewal = store.activate(&new_serial, der.clone(), draft).await?;
    authority.publish_revocations().await;
    let certificate_pem = crate::ca::IssuedCertificate { record, der }.pem()?;
    Ok(Renewed {
        renewal,
        certificate_pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::Role;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn certificate_ending_in(days: i64) -> CertificateRecord {
        let mut certificate = CertificateRecord::sample(1, Role::Primary, now());
        certificate.not_after = now() + TimeDelta::days(days);
        certificate
    }

    fn current(certificate: &CertificateRecord) -> Current {
        Current {
            uscc: certificate.uscc.clone(),
            unit_name: certificate.unit_name.clone(),
            holder_name: certificate.holder_name.clone(),
            holder_phones: vec![certificate.holder_phone.clone()],
        }
    }

    #[test]
    fn the_window_opens_thirty_days_before_expiry() {
        let early = certificate_ending_in(40);
        assert!(matches!(
            check(&early, now()),
            Err(RenewError::TooEarly { opens_at, .. }) if opens_at == now() + TimeDelta::days(10)
        ));
        let due = certificate_ending_in(20);
        assert_eq!(
            check(&due, now()).unwrap(),
            due.not_after + TimeDelta::days(365),
            "a year after the old certificate ends: renewing early loses nothing"
        );
        assert!(check(&certificate_ending_in(30), now()).is_ok());
    }

    #[test]
    fn only_a_certificate_in_force_renews() {
        let expired = certificate_ending_in(0);
        assert!(matches!(
            check(&expired, now()),
            Err(RenewError::NotInForce {
                standing: Standing::Expired,
                ..
            })
        ));
        let mut revoked = certificate_ending_in(20);
        revoked.status = crate::ca::CertificateStatus::Revoked;
        assert!(matches!(
            check(&revoked, now()),
            Err(RenewError::NotInForce {
                standing: Standing::Revoked,
                ..
            })
        ));
    }

    #[test]
    fn a_changed_particular_is_named() {
        let certificate = certificate_ending_in(20);
        assert_eq!(current(&certificate).changed(&certificate), None);
        let mut now_ = current(&certificate);
        now_.holder_phones.clear();
        assert_eq!(now_.changed(&certificate), Some(Particular::HolderPhone));
        let mut now_ = current(&certificate);
        now_.unit_name = "昆明新名称科技有限公司".into();
        assert_eq!(now_.changed(&certificate), Some(Particular::EmployerName));
        let mut now_ = current(&certificate);
        now_.uscc = "91530100MA6K000001".into();
        assert_eq!(now_.changed(&certificate), Some(Particular::Uscc));
    }

    #[test]
    fn refusals_say_when_and_what_to_do() {
        let early = certificate_ending_in(40);
        let error = check(&early, now()).unwrap_err().describe();
        assert_eq!(error.code, code::RENEWAL_TOO_EARLY);
        assert!(
            error.message.contains("2027年6月11日起"),
            "{}",
            error.message
        );
        let changed = RenewError::Changed(Particular::HolderPhone).describe();
        assert!(changed.message.contains("证书废除"), "{}", changed.message);
    }
}
