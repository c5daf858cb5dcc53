//! A new primary (主证书) chosen by staff. Revoking an employer's primary does not promote a
//! sub-certificate by itself (DESIGN.md §4): until staff choose, with a reason, which active
//! certificate becomes the primary, the employer has none and its sub-certificates keep only
//! their grants.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Standing;
use crate::{
    audit::{Actor, AuditDraft},
    ca::{CertStore, CertificateRecord, Role},
    clock::Clock,
    domain::CertificateSerial,
    failure::{Describe, Description, StorageError, code},
};

/// Why a certificate cannot be made its employer's primary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppointError {
    /// No such certificate.
    #[error("certificate not found")]
    NotFound,
    /// The employer still has a primary that is not revoked or expired.
    #[error("the employer's primary {serial} is still in force")]
    PrimaryInForce {
        /// Its serial.
        serial: String,
    },
    /// It is the primary already.
    #[error("already the primary")]
    AlreadyPrimary,
    /// The candidate is revoked, expired or not yet downloaded.
    #[error("the candidate is {standing}")]
    NotInForce {
        /// Where it stands.
        standing: Standing,
    },
    /// Staff must say why.
    #[error("reason missing")]
    ReasonMissing,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Describe for AppointError {
    fn describe(&self) -> Description {
        match self {
            Self::NotFound => Description::new(
                code::CERTIFICATE_NOT_FOUND,
                "未找到该证书，请核对证书序列号",
            ),
            Self::PrimaryInForce { serial } => Description::new(
                code::PRIMARY_IN_FORCE,
                format!(
                    "本单位的主证书（序列号 {serial}）仍然有效：须先废除原主证书，才能指定新的主证书"
                ),
            ),
            Self::AlreadyPrimary => {
                Description::new(code::PRIMARY_ALREADY, "该证书已经是本单位的主证书")
            }
            Self::NotInForce { standing } => Description::new(
                code::PRIMARY_CANDIDATE_NOT_IN_FORCE,
                format!(
                    "该证书{}，不能设为主证书；请选择一张已激活的证书",
                    standing.label_zh()
                ),
            ),
            Self::ReasonMissing => Description::new(
                code::PRIMARY_REASON_MISSING,
                "请填写指定新主证书的原因（200 字以内），该原因记入审计日志",
            ),
            Self::Storage(e) => e.describe(),
        }
    }
}

/// Whether `candidate` may become its employer's primary at `now`, given all the employer's
/// certificates: it must be an active sub-certificate, and no other primary may be in force or
/// on its way (pending, not yet valid, active).
pub fn check_appointment(
    candidate: &CertificateRecord,
    employer: &[CertificateRecord],
    now: DateTime<Utc>,
) -> Result<(), AppointError> {
    if candidate.role == Role::Primary {
        return Err(AppointError::AlreadyPrimary);
    }
    let standing = Standing::of(candidate, now);
    if !standing.in_force() {
        return Err(AppointError::NotInForce { standing });
    }
    if let Some(primary) = employer.iter().find(|certificate| {
        certificate.role == Role::Primary
            && certificate.id != candidate.id
            && matches!(
                Standing::of(certificate, now),
                Standing::Pending | Standing::NotYetValid | Standing::Active
            )
    }) {
        return Err(AppointError::PrimaryInForce {
            serial: primary.serial.to_string(),
        });
    }
    Ok(())
}

/// Staff appointing a new primary.
#[derive(Debug)]
pub struct Primaries {
    store: Arc<dyn CertStore>,
    clock: Arc<dyn Clock>,
}

impl Primaries {
    /// The service over the certificate registry.
    pub fn new(store: Arc<dyn CertStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Makes certificate `serial` its employer's primary (audited `certificate.primary` with the
    /// reason and the former primary, if any); what it is afterwards.
    pub async fn appoint(
        &self,
        serial: &CertificateSerial,
        reason: &str,
        actor: &Actor,
    ) -> Result<CertificateRecord, AppointError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(AppointError::ReasonMissing);
        }
        let candidate = self
            .store
            .find_by_serial(serial)
            .await?
            .ok_or(AppointError::NotFound)?;
        let employer = self.store.employer_certificates(&candidate.uscc).await?;
        check_appointment(&candidate, &employer, self.clock.now())?;
        let former: Vec<String> = employer
            .iter()
            .filter(|certificate| certificate.role == Role::Primary)
            .map(|certificate| certificate.serial.to_string())
            .collect();
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "certificate.primary",
            subject: serial.to_string(),
            detail: serde_json::json!({
                "uscc": candidate.uscc,
                "reason": reason,
                "former_primaries": former,
            }),
        };
        if !self.store.appoint_primary(&candidate, audit).await? {
            // Another primary appeared meanwhile (a concurrent appointment or download).
            let employer = self.store.employer_certificates(&candidate.uscc).await?;
            check_appointment(&candidate, &employer, self.clock.now())?;
            return Err(AppointError::AlreadyPrimary);
        }
        self.store
            .find_by_serial(serial)
            .await?
            .ok_or(AppointError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeDelta;

    use super::*;
    use crate::ca::CertificateStatus;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn certificate(id: i64, role: Role, status: CertificateStatus) -> CertificateRecord {
        CertificateRecord {
            status,
            ..CertificateRecord::sample(id, role, now())
        }
    }

    #[test]
    fn a_sub_becomes_primary_only_once_the_old_primary_is_gone() {
        let sub = certificate(2, Role::Sub, CertificateStatus::Active);
        let primary = certificate(1, Role::Primary, CertificateStatus::Active);
        assert!(matches!(
            check_appointment(&sub, &[primary.clone(), sub.clone()], now()),
            Err(AppointError::PrimaryInForce { .. })
        ));
        let revoked = CertificateRecord {
            status: CertificateStatus::Revoked,
            ..primary
        };
        assert!(check_appointment(&sub, &[revoked.clone(), sub.clone()], now()).is_ok());
        let expired = CertificateRecord {
            not_after: now() - TimeDelta::days(1),
            ..revoked
        };
        assert!(
            check_appointment(
                &sub,
                &[
                    CertificateRecord {
                        status: CertificateStatus::Active,
                        ..expired
                    },
                    sub.clone()
                ],
                now()
            )
            .is_ok()
        );
    }

    #[test]
    fn only_an_active_sub_can_be_chosen() {
        let revoked = certificate(3, Role::Sub, CertificateStatus::Revoked);
        assert!(matches!(
            check_appointment(&revoked, &[], now()),
            Err(AppointError::NotInForce {
                standing: Standing::Revoked
            })
        ));
        let primary = certificate(1, Role::Primary, CertificateStatus::Active);
        assert!(matches!(
            check_appointment(&primary, &[], now()),
            Err(AppointError::AlreadyPrimary)
        ));
    }
}
