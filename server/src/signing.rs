//! What a finished co-signature completes: the one place that maps each co-signing purpose to
//! the service that completes it. The phone's last step (`…/signature`) is the same for every
//! purpose; the server has verified the signature over the message it wrote itself
//! (`cosign`), and here the signature takes effect: a key enrolment activates its certificate,
//! a PIN check is reported, a login is confirmed. A new purpose (a grant change, a revocation
//! request, a renewal, a seal and its PDF signature) adds its arm here and nothing else in the HTTP layer.

use std::sync::Arc;

use crate::{
    ca::RevocationRecord,
    certificates::{RenewError, RenewalRecord, Renewals, Revocations, RevokeError},
    cosign::{CosignError, Cosigner, Purpose},
    domain::CertificateSerial,
    enrol::{EnrolError, Enrolment},
    failure::{Describe, Description},
    grants::phone::{PhoneGrantError, PhoneGrants, SavedGrant},
    login::{LoginError, Logins},
    seals::sealing::{SealStep, Sealing, SealingError},
};

/// What the phone is told when its signature took effect.
#[derive(Debug, Clone)]
pub struct Finished {
    /// What the signature was for.
    pub purpose: Purpose,
    /// The certificate that signed.
    pub serial: CertificateSerial,
    /// A key enrolment's certificate, PEM.
    pub certificate_pem: Option<String>,
    /// A key enrolment's device token (shown once).
    pub device_token: Option<String>,
    /// A grant change's saved set.
    pub grant: Option<SavedGrant>,
    /// A revocation request's revocation.
    pub revocation: Option<RevocationRecord>,
    /// A renewal request's renewal (the new certificate is `serial`, its PEM
    /// `certificate_pem`).
    pub renewal: Option<RenewalRecord>,
    /// A PDF seal's next co-signing session (the stamped PDF's signed attributes).
    pub next: Option<crate::cosign::OpenedSession>,
}

impl Finished {
    fn of(purpose: Purpose, serial: CertificateSerial) -> Self {
        Self {
            purpose,
            serial,
            certificate_pem: None,
            device_token: None,
            grant: None,
            revocation: None,
            renewal: None,
            next: None,
        }
    }
}

/// Why a signature did not take effect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// The signature itself (session, order, verification).
    #[error(transparent)]
    Cosign(#[from] CosignError),
    /// Activating an enrolled certificate.
    #[error(transparent)]
    Enrol(#[from] EnrolError),
    /// Confirming a login.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// Saving a grant change.
    #[error(transparent)]
    Grant(#[from] PhoneGrantError),
    /// Revoking at the holder's request.
    #[error(transparent)]
    Revoke(#[from] RevokeError),
    /// Renewing at the holder's request.
    #[error(transparent)]
    Renew(#[from] RenewError),
    /// Sealing a document.
    #[error(transparent)]
    Seal(#[from] SealingError),
}

impl Describe for SigningError {
    fn describe(&self) -> Description {
        match self {
            Self::Cosign(e) => e.describe(),
            Self::Enrol(e) => e.describe(),
            Self::Login(e) => e.describe(),
            Self::Grant(e) => e.describe(),
            Self::Revoke(e) => e.describe(),
            Self::Renew(e) => e.describe(),
            Self::Seal(e) => e.describe(),
        }
    }
}

/// The completion of co-signatures.
#[derive(Debug)]
pub struct Signing {
    cosigner: Arc<Cosigner>,
    enrolment: Arc<Enrolment>,
    logins: Arc<Logins>,
    grants: Arc<PhoneGrants>,
    revocations: Arc<Revocations>,
    renewals: Arc<Renewals>,
    sealing: Arc<Sealing>,
}

impl Signing {
    /// Over the co-signer and the services that signatures complete.
    pub fn new(
        cosigner: Arc<Cosigner>,
        enrolment: Arc<Enrolment>,
        logins: Arc<Logins>,
        grants: Arc<PhoneGrants>,
        revocations: Arc<Revocations>,
        renewals: Arc<Renewals>,
        sealing: Arc<Sealing>,
    ) -> Self {
        Self {
            cosigner,
            enrolment,
            logins,
            grants,
            revocations,
            renewals,
            sealing,
        }
    }

    /// Step 3 of co-signing (the server verifies the phone's signature), then what the
    /// signature was for.
    #[tracing::instrument(skip(self, signature))]
    pub async fn finish(
        &self,
        session_id: &str,
        signature: &[u8],
    ) -> Result<Finished, SigningError> {
        let signed = self.cosigner.finish(session_id, signature).await?;
        let purpose = signed.purpose;
        match purpose {
            Purpose::KeyEnrolment => {
                let activated = self.enrolment.activate(signed).await?;
                Ok(Finished {
                    purpose,
                    serial: activated.serial,
                    certificate_pem: Some(activated.certificate_pem),
                    device_token: Some(activated.device_token),
                    grant: None,
                    revocation: None,
                    renewal: None,
                    next: None,
                })
            }
            Purpose::VerifyPin | Purpose::ChangePin => Ok(Finished::of(purpose, signed.serial)),
            Purpose::Login => {
                let serial = signed.serial.clone();
                self.logins.complete(signed).await?;
                Ok(Finished::of(purpose, serial))
            }
            Purpose::GrantChange => {
                let serial = signed.serial.clone();
                let saved = self.grants.complete(signed).await?;
                Ok(Finished {
                    grant: Some(saved),
                    ..Finished::of(purpose, serial)
                })
            }
            Purpose::Revocation => {
                let serial = signed.serial.clone();
                let revocation = self.revocations.complete(signed).await?;
                Ok(Finished {
                    revocation: Some(revocation),
                    ..Finished::of(purpose, serial)
                })
            }
            Purpose::Renewal => {
                let renewed = self.renewals.complete(signed).await?;
                Ok(Finished {
                    certificate_pem: Some(renewed.certificate_pem),
                    renewal: Some(renewed.renewal.clone()),
                    ..Finished::of(purpose, renewed.renewal.serial)
                })
            }
            Purpose::Seal | Purpose::SealPdf => {
                let serial = signed.serial.clone();
                let next = match self.sealing.complete(signed).await? {
                    SealStep::Sealed => None,
                    SealStep::PdfNext(opened) => Some(opened),
                };
                Ok(Finished {
                    next,
                    ..Finished::of(purpose, serial)
                })
            }
        }
    }
}
