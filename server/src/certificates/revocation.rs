//! 证书废除 (seed 000 §五(一), FAQ (二)): who may revoke a certificate, and for which cause.
//! The agent revokes a certificate of their own application on the application site, signed
//! in with the applying phone and an SMS code; staff revoke any certificate with a cause. Either
//! way the CA revokes at once (CRL, OCSP, sessions ended, the platform told with the reason, the
//! holder's SMS), through [`Authority::revoke_for`].

use std::sync::Arc;

use crate::{
    applicants::ApplicantRecord,
    applications::ApplicationStore,
    audit::Actor,
    ca::{Authority, CaError, CertStore, CertificateRecord, RevocationCause, RevocationRecord},
    domain::CertificateSerial,
    failure::{Describe, Description, StorageError, code},
};

/// Why a revocation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeError {
    /// A cause that is not one of [`RevocationCause::ALL`].
    #[error("unknown revocation cause {given}")]
    CauseUnknown {
        /// What was sent.
        given: String,
    },
    /// Not an application of this applicant.
    #[error("application not found")]
    ApplicationNotFound,
    /// Not a certificate of this application.
    #[error("certificate {serial} is not one of the application's")]
    NotOfApplication {
        /// The serial asked for.
        serial: CertificateSerial,
    },
    /// The CA refused (already revoked, not active).
    #[error(transparent)]
    Ca(#[from] CaError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Describe for RevokeError {
    fn describe(&self) -> Description {
        match self {
            Self::CauseUnknown { given } => Description::new(
                code::REVOCATION_CAUSE_UNKNOWN,
                format!(
                    "废除原因“{given}”无效，请从以下原因中选择：{}",
                    RevocationCause::ALL
                        .iter()
                        .map(|cause| format!("{}（{}）", cause.label_zh(), cause.as_str()))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            ),
            Self::ApplicationNotFound => Description::new(
                code::APPLICATION_NOT_FOUND,
                "未找到该申请，请用申请时的手机号登录后重试",
            ),
            Self::NotOfApplication { serial } => Description::new(
                code::CERTIFICATE_NOT_FOUND,
                format!("证书 {serial} 不是本申请下载的证书，不能在此废除"),
            ),
            Self::Ca(e) => e.describe(),
            Self::Storage(e) => e.describe(),
        }
    }
}

/// Revocation by the agent and by staff.
#[derive(Debug)]
pub struct Revocations {
    authority: Arc<Authority>,
    certificates: Arc<dyn CertStore>,
    applications: Arc<dyn ApplicationStore>,
}

impl Revocations {
    /// Over the CA and the registries it checks ownership in.
    pub fn new(
        authority: Arc<Authority>,
        certificates: Arc<dyn CertStore>,
        applications: Arc<dyn ApplicationStore>,
    ) -> Self {
        Self {
            authority,
            certificates,
            applications,
        }
    }

    /// The cause named `given`.
    pub fn cause(given: &str) -> Result<RevocationCause, RevokeError> {
        RevocationCause::parse(given.trim()).ok_or_else(|| RevokeError::CauseUnknown {
            given: given.to_string(),
        })
    }

    /// The certificates downloaded for `applicant`'s application `application_id`, oldest
    /// first, whatever their state.
    pub async fn of_application(
        &self,
        applicant: &ApplicantRecord,
        application_id: i64,
    ) -> Result<Vec<CertificateRecord>, RevokeError> {
        match self.applications.application(application_id).await? {
            Some(application) if application.applicant_id == applicant.id => {}
            _ => return Err(RevokeError::ApplicationNotFound),
        }
        Ok(self
            .certificates
            .application_certificates(application_id)
            .await?)
    }

    /// The agent revokes `serial`, a certificate of their application `application_id`, for
    /// `cause` (audited as the applicant).
    pub async fn by_applicant(
        &self,
        applicant: &ApplicantRecord,
        application_id: i64,
        serial: &CertificateSerial,
        cause: RevocationCause,
    ) -> Result<RevocationRecord, RevokeError> {
        let held = self.of_application(applicant, application_id).await?;
        if !held.iter().any(|certificate| &certificate.serial == serial) {
            return Err(RevokeError::NotOfApplication {
                serial: serial.clone(),
            });
        }
        Ok(self
            .authority
            .revoke_for(serial, cause, &Actor::Applicant(applicant.id))
            .await?)
    }

    /// Staff revoke `serial` for `cause`.
    pub async fn by_staff(
        &self,
        serial: &CertificateSerial,
        cause: RevocationCause,
        actor: &Actor,
    ) -> Result<RevocationRecord, RevokeError> {
        Ok(self.authority.revoke_for(serial, cause, actor).await?)
    }
}
