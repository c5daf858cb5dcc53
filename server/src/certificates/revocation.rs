//! 证书废除 (seed 000 §五(一), FAQ (二)): who may revoke a certificate, and for which cause.
//! The agent revokes a certificate of their own application on the application site, signed
//! in with the applying phone and an SMS code; the holder revokes it in the mini-program with
//! the PIN (a co-signed `revocation_request`); staff revoke any certificate with a cause. Every
//! way the CA revokes at once (CRL, OCSP, sessions ended, the platform told with the reason, the
//! holder's SMS), through [`Authority::revoke_for`].

use std::sync::Arc;

use mcert_signer::message::{RevocationRequest, SignedMessage};

use crate::{
    applicants::ApplicantRecord,
    applications::ApplicationStore,
    audit::Actor,
    ca::{Authority, CaError, CertStore, CertificateRecord, RevocationCause, RevocationRecord},
    certificates::Standing,
    clock::Clock,
    cosign::{CompletedSignature, CosignError, Cosigner, OpenedSession, Purpose},
    domain::CertificateSerial,
    failure::{Describe, Description, StorageError, code},
    people::{People, PeopleError, WxUserRecord},
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
    /// Not one of the signed-in person's certificates.
    #[error("certificate not held by this person")]
    NotHeld,
    /// The signed message is not a revocation request the server opened for its signer.
    #[error("signed revocation request does not match")]
    Mismatch,
    /// The CA refused (already revoked, not active).
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The mini-program account.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// Opening the co-signing session.
    #[error(transparent)]
    Cosign(#[from] CosignError),
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
            Self::NotHeld => Description::new(
                code::CERTIFICATE_NOT_HELD,
                "该证书不是您本人下载的证书，不能在此废除",
            ),
            Self::Mismatch => Description::new(
                code::REVOCATION_REQUEST_MISMATCH,
                "签名的废除申请与本次操作不一致，请重新发起废除",
            ),
            Self::Ca(e) => e.describe(),
            Self::People(e) => e.describe(),
            Self::Cosign(e) => e.describe(),
            Self::Storage(e) => e.describe(),
        }
    }
}

/// What a revocation needs beside the CA: who holds what, and the phone's co-signing.
#[derive(Debug)]
pub struct RevocationParts {
    /// The registry of certificates.
    pub certificates: Arc<dyn CertStore>,
    /// The applications, for the agent's ownership.
    pub applications: Arc<dyn ApplicationStore>,
    /// The mini-program accounts, for the holder's ownership.
    pub people: Arc<People>,
    /// The server's half of the holder's signature.
    pub cosigner: Arc<Cosigner>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

/// Revocation by the agent, the holder and staff.
#[derive(Debug)]
pub struct Revocations {
    authority: Arc<Authority>,
    parts: RevocationParts,
}

impl Revocations {
    /// Over the CA and what ownership and signatures are checked with.
    pub fn new(authority: Arc<Authority>, parts: RevocationParts) -> Self {
        Self { authority, parts }
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
        match self.parts.applications.application(application_id).await? {
            Some(application) if application.applicant_id == applicant.id => {}
            _ => return Err(RevokeError::ApplicationNotFound),
        }
        Ok(self
            .parts
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

    /// The holder asks to revoke their certificate `serial` for `cause` in the mini-program:
    /// a co-signing session over the canonical `revocation_request`, which the PIN completes
    /// ([`Revocations::complete`]).
    pub async fn start_by_holder(
        &self,
        user: &WxUserRecord,
        serial: &str,
        cause: RevocationCause,
    ) -> Result<OpenedSession, RevokeError> {
        let certificate = self
            .parts
            .people
            .held(user, serial)
            .await?
            .ok_or(RevokeError::NotHeld)?;
        let serial = certificate.serial.clone();
        let now = self.parts.clock.now();
        if let Some(revocation) = &certificate.revocation {
            return Err(CaError::AlreadyRevoked {
                serial,
                revoked_at: revocation.revoked_at,
            }
            .into());
        }
        if !Standing::of(&certificate, now).in_force() {
            return Err(CaError::NotActive { serial }.into());
        }
        let message = SignedMessage::RevocationRequest(RevocationRequest {
            serial: serial.to_string(),
            uscc: certificate.uscc.clone(),
            unit_name: certificate.unit_name.clone(),
            cause: cause.as_str().to_string(),
            issued_at: now.timestamp(),
        })
        .encode()
        .map_err(|source| CosignError::Malformed {
            what: "revocation request",
            source,
        })?;
        Ok(self
            .parts
            .cosigner
            .open(&serial, Purpose::Revocation, message)
            .await?)
    }

    /// A verified signature over a `revocation_request`: revokes the certificate that signed
    /// it, for the cause it names (audited as the phone).
    pub async fn complete(
        &self,
        completed: CompletedSignature,
    ) -> Result<RevocationRecord, RevokeError> {
        let Ok(SignedMessage::RevocationRequest(request)) =
            SignedMessage::decode(&completed.message)
        else {
            return Err(RevokeError::Mismatch);
        };
        if CertificateSerial::parse(&request.serial).ok().as_ref() != Some(&completed.serial) {
            return Err(RevokeError::Mismatch);
        }
        let cause = RevocationCause::parse(&request.cause).ok_or(RevokeError::Mismatch)?;
        Ok(self
            .authority
            .revoke_for(&completed.serial, cause, &Actor::Phone)
            .await?)
    }
}
