//! Mobile key enrolment: a one-time ticket names the employer and holder; the phone sends its
//! public share P1; the server creates d2, computes the joint key P, records the pending
//! certificate and the key share in one transaction, and opens a co-signing session over the
//! canonical key-enrolment message. The first co-signed signature proves the split key works
//! and the chosen PIN unlocks it; only then is the certificate signed and activated.
//!
//! Tickets come from the mini-program download (one per approved application at a time, see
//! [`Enrolment::start_download`]), from `mcert-server admin enrol-ticket`, and from
//! `/dev/enrolment-tickets` in development mode.

mod records;
mod ticket;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use mcert_signer::{
    SignerError,
    message::{KeyCheck, KeyEnrolment, RenewalRequest, SignedMessage},
    parse_public_key,
};
use rand::RngCore as _;

pub use records::{Completion, DownloadLink, EnrolStore, NewTicket, TicketStatus};
pub use ticket::{Ticket, TicketError};

use crate::clock::Clock;
use crate::failure::StorageError;
use crate::failure::{Describe, Description, code};
use crate::{
    audit::{Actor, AuditDraft},
    ca::{
        Authority, CaError, HolderDraft, MediaType, RevocationReason, UnitDraft, issue_audit,
        profile, public_key_info,
    },
    certificates::{self, RenewalDraft, RenewalRecord},
    cosign::{CompletedSignature, CosignError, Cosigner, KeyStatus, OpenedSession, Purpose},
    domain::CertificateSerial,
    notify::NoticeDraft,
    providers::sms::CertificateChange,
    tokens,
};

/// How long a ticket may wait for its phone.
pub const TICKET_TTL: TimeDelta = TimeDelta::hours(72);
/// How long a download may take from its start to its first signature.
pub const DOWNLOAD_TICKET_TTL: TimeDelta = TimeDelta::hours(1);

/// Why an enrolment step was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolError {
    /// The ticket is unknown, expired or already used for an active certificate.
    #[error("enrolment ticket invalid: {reason}")]
    TicketInvalid {
        /// Which of the three (logged).
        reason: &'static str,
    },
    /// A newer enrolment with the same ticket replaced this one before it completed.
    #[error("enrolment superseded by a newer attempt")]
    Superseded,
    /// From co-signing.
    #[error(transparent)]
    Cosign(#[from] CosignError),
    /// From the CA.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A new ticket, shown once.
#[derive(Debug, Clone)]
pub struct IssuedTicket {
    /// What the phone enters.
    pub ticket: Ticket,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// An enrolment waiting for its first signature.
#[derive(Debug, Clone)]
pub struct StartedEnrolment {
    /// The pending certificate.
    pub serial: CertificateSerial,
    /// P, SEC1 uncompressed: the key that goes in the certificate.
    pub public_key: Vec<u8>,
    /// The co-signing session over the key-enrolment message.
    pub session: OpenedSession,
}

/// A key enrolment completed: the certificate is active, and the phone keeps the PEM and the
/// device token.
#[derive(Debug, Clone)]
pub struct Activated {
    /// Serial.
    pub serial: CertificateSerial,
    /// The signed certificate, PEM.
    pub certificate_pem: String,
    /// The phone's credential for key checks (shown once; stored hashed).
    pub device_token: String,
}

/// The enrolment and key-management service.
#[derive(Debug)]
pub struct Enrolment {
    authority: Arc<Authority>,
    store: Arc<dyn EnrolStore>,
    cosigner: Arc<Cosigner>,
    clock: Arc<dyn Clock>,
}

impl Enrolment {
    /// The service over the CA, its store and the co-signer; tickets expire by `clock`.
    pub fn new(
        authority: Arc<Authority>,
        store: Arc<dyn EnrolStore>,
        cosigner: Arc<Cosigner>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            authority,
            store,
            cosigner,
            clock,
        }
    }

    /// A certificate of the registry (`CertificateNotFound` if there is none).
    pub async fn certificate(
        &self,
        serial: &CertificateSerial,
    ) -> Result<crate::ca::CertificateRecord, EnrolError> {
        Ok(self.authority.certificate(serial).await?)
    }

    /// The co-signer, for the signing steps.
    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    /// Creates a ticket for `holder` of `unit` (see [`create_ticket`]).
    pub async fn create_ticket(
        &self,
        unit: UnitDraft,
        holder: HolderDraft,
        actor: &Actor,
    ) -> Result<IssuedTicket, EnrolError> {
        create_ticket(self.store.as_ref(), unit, holder, actor, self.clock.now()).await
    }

    /// Starts enrolling the phone share `p1` (SEC1) under `ticket`.
    #[tracing::instrument(skip_all)]
    pub async fn start(&self, ticket: &Ticket, p1: &[u8]) -> Result<StartedEnrolment, EnrolError> {
        self.start_with(&ticket.hash(), p1, &Actor::Phone).await
    }

    /// Starts the enrolment of a mini-program download: the certificate of `unit` for `holder`
    /// (the verified agent of the approved application `link`), with the phone share `p1`.
    /// Concurrent downloads of one application share one ticket: the later start abandons the
    /// earlier, so at most one of them activates.
    #[tracing::instrument(skip_all, fields(application = link.application_id))]
    pub async fn start_download(
        &self,
        unit: UnitDraft,
        holder: HolderDraft,
        link: DownloadLink,
        p1: &[u8],
    ) -> Result<StartedEnrolment, EnrolError> {
        let ticket_hash = self.download_ticket(unit, holder, link).await?;
        self.start_with(&ticket_hash, p1, &Actor::Person(link.person_id))
            .await
    }

    /// The application's open download ticket (stored now if it has none): downloads and
    /// renewals of one application share it, so a later start abandons an earlier one.
    async fn download_ticket(
        &self,
        unit: UnitDraft,
        holder: HolderDraft,
        link: DownloadLink,
    ) -> Result<String, EnrolError> {
        self.store
            .download_ticket(NewTicket {
                ticket_hash: String::new(),
                unit,
                holder,
                created_by: format!("person:{}", link.person_id),
                expires_at: self.clock.now() + DOWNLOAD_TICKET_TTL,
                download: Some(link),
            })
            .await
    }

    async fn start_with(
        &self,
        ticket_hash: &str,
        p1: &[u8],
        actor: &Actor,
    ) -> Result<StartedEnrolment, EnrolError> {
        let p1 =
            parse_public_key(p1).map_err(|source| CosignError::Malformed { what: "p1", source })?;
        let ticket_hash = ticket_hash.to_string();
        let (unit, holder) = self
            .store
            .open_ticket(&ticket_hash, self.clock.now())
            .await?;
        // d2 is sealed under the serial, so the serial is drawn before the TBS (which needs P).
        let serial = CertificateSerial::random(&mut rand::rngs::OsRng);
        let created = self.cosigner.create_server_share(&serial, &p1)?;
        let public_key = created.public_key;
        let pending = self.authority.prepare(
            &profile::MOBILE_HOLDER,
            MediaType::Mobile,
            public_key_info(&public_key)?,
            unit,
            holder,
            serial.clone(),
        )?;
        let audit = issue_audit(&profile::MOBILE_HOLDER, &pending, actor);
        let record = self
            .store
            .start_enrolment(&ticket_hash, pending, created.stored, audit)
            .await?;
        let public_key = sec1(&public_key);
        let message = SignedMessage::KeyEnrolment(KeyEnrolment {
            serial: serial.to_string(),
            public_key: public_key_array(&public_key)?,
            uscc: record.uscc.clone(),
            unit_name: record.unit_name.clone(),
            holder_name: record.holder_name.clone(),
            issued_at: self.clock.now().timestamp(),
        })
        .encode()
        .map_err(|source| CosignError::Malformed {
            what: "enrolment message",
            source,
        })?;
        let session = self
            .cosigner
            .open(&serial, Purpose::KeyEnrolment, message)
            .await?;
        Ok(StartedEnrolment {
            serial,
            public_key,
            session,
        })
    }

    /// Completes a key enrolment whose first signature verified: signs and activates the
    /// certificate, and supersedes the application's certificate on an earlier phone.
    pub async fn activate(&self, completed: CompletedSignature) -> Result<Activated, EnrolError> {
        let record = self.authority.certificate(&completed.serial).await?;
        let der = self.authority.sign_tbs(&record.tbs_der)?;
        let device_token = tokens::random_token(32);
        let audit = AuditDraft {
            actor: Actor::Phone,
            action: "certificate.activate",
            subject: completed.serial.to_string(),
            detail: serde_json::json!({
                "media": MediaType::Mobile.as_str(),
                "proof": "co-signed key enrolment",
            }),
        };
        // A download on a new phone replaces the application's certificate on the old one, in
        // the activation's transaction, and the holder hears of it: a download they did not make
        // is how a stolen session shows.
        let others = self.store.other_downloads(&completed.serial).await?;
        let superseded = certificates::superseded_by_download(&others, self.clock.now());
        let mut supersedes = Vec::with_capacity(superseded.len());
        for old in &superseded {
            supersedes.push(
                self.authority
                    .revocation(old, RevocationReason::Superseded, &Actor::Phone)
                    .await?,
            );
        }
        let notice = if superseded.is_empty() {
            None
        } else {
            NoticeDraft::certificate_changed(&record, CertificateChange::DownloadedAgain)
        };
        self.store
            .complete_enrolment(
                &completed.serial,
                Completion {
                    der: der.clone(),
                    device_token_hash: tokens::digest(&device_token),
                    supersedes,
                    audit,
                    notice,
                    renewal: None,
                },
            )
            .await?;
        if !superseded.is_empty() {
            self.authority.publish_revocations().await;
        }
        let certificate_pem = crate::ca::IssuedCertificate { record, der }.pem()?;
        Ok(Activated {
            serial: completed.serial,
            certificate_pem,
            device_token,
        })
    }

    /// Starts renewing the mobile certificate `previous` (年审延期) for the holder of the
    /// download `link`: records the certificate that follows it (the same key, its server share
    /// sealed again under the new serial, valid until `not_after`) and its key share in the
    /// persist-before-sign transaction of every enrolment, then opens the co-signing session in
    /// which `previous` signs the `renewal_request`. The new certificate, pending, and the
    /// session.
    #[tracing::instrument(skip_all, fields(previous = %previous.serial))]
    pub async fn start_renewal(
        &self,
        previous: &crate::ca::CertificateRecord,
        link: DownloadLink,
        not_after: DateTime<Utc>,
    ) -> Result<(crate::ca::CertificateRecord, OpenedSession), EnrolError> {
        let unit = UnitDraft::parse(&previous.uscc, &previous.unit_name).map_err(CaError::from)?;
        let holder = HolderDraft::parse(
            &previous.holder_name,
            &previous.holder_id_number,
            &previous.holder_phone,
        )
        .map_err(CaError::from)?;
        let ticket_hash = self.download_ticket(unit, holder, link).await?;
        let serial = CertificateSerial::random(&mut rand::rngs::OsRng);
        let share = self
            .cosigner
            .reseal_share(&previous.serial, &serial)
            .await?;
        let public_key =
            <spki::SubjectPublicKeyInfoOwned as der::Decode>::from_der(&previous.public_key)
                .map_err(|_| CosignError::Corrupt {
                    what: "certificate public key",
                })?;
        let pending =
            self.authority
                .prepare_renewal(previous, public_key, serial.clone(), not_after)?;
        let mut audit = issue_audit(
            &profile::MOBILE_HOLDER,
            &pending,
            &Actor::Person(link.person_id),
        );
        audit.detail["renews"] = previous.serial.as_str().into();
        let record = self
            .store
            .start_enrolment(&ticket_hash, pending, share, audit)
            .await?;
        let message = SignedMessage::RenewalRequest(RenewalRequest {
            serial: previous.serial.to_string(),
            new_serial: serial.to_string(),
            uscc: record.uscc.clone(),
            unit_name: record.unit_name.clone(),
            holder_name: record.holder_name.clone(),
            not_after: record.not_after.timestamp(),
            issued_at: self.clock.now().timestamp(),
        })
        .encode()
        .map_err(|source| CosignError::Malformed {
            what: "renewal request",
            source,
        })?;
        let session = self
            .cosigner
            .open(&previous.serial, Purpose::Renewal, message)
            .await?;
        Ok((record, session))
    }

    /// Completes a renewal whose `renewal_request` the old certificate signed: signs and
    /// activates `next`, which keeps the phone's device token, and writes `renewal` (the old
    /// certificate superseded) in the same transaction. The renewal's record and the new
    /// certificate's PEM.
    pub async fn activate_renewal(
        &self,
        next: &crate::ca::CertificateRecord,
        renewal: RenewalDraft,
    ) -> Result<(RenewalRecord, String), EnrolError> {
        let previous = self
            .cosigner
            .key_share(&renewal.previous.serial)
            .await?
            .ok_or(EnrolError::Superseded)?;
        let device_token_hash = previous
            .device_token_hash
            .ok_or(CosignError::DeviceTokenInvalid)?;
        let der = self.authority.sign_tbs(&next.tbs_der)?;
        let audit = AuditDraft {
            actor: Actor::Phone,
            action: "certificate.activate",
            subject: next.serial.to_string(),
            detail: serde_json::json!({
                "media": MediaType::Mobile.as_str(),
                "proof": "co-signed renewal request",
            }),
        };
        // Downloads on other phones are superseded as by any download; the renewed certificate
        // itself by the renewal.
        let others = self.store.other_downloads(&next.serial).await?;
        let mut supersedes = Vec::new();
        for old in certificates::superseded_by_download(&others, self.clock.now()) {
            if old != renewal.previous.serial {
                supersedes.push(
                    self.authority
                        .revocation(&old, RevocationReason::Superseded, &Actor::Phone)
                        .await?,
                );
            }
        }
        let notice = NoticeDraft::certificate_changed(next, CertificateChange::Renewed);
        let record = self
            .store
            .complete_enrolment(
                &next.serial,
                Completion {
                    der: der.clone(),
                    device_token_hash,
                    supersedes,
                    audit,
                    notice,
                    renewal: Some(renewal),
                },
            )
            .await?
            .ok_or(EnrolError::Superseded)?;
        self.authority.publish_revocations().await;
        let certificate_pem = crate::ca::IssuedCertificate {
            record: next.clone(),
            der,
        }
        .pem()?;
        Ok((record, certificate_pem))
    }

    /// Opens a PIN-check session for the phone holding `device_token`.
    pub async fn key_check(
        &self,
        serial: &CertificateSerial,
        device_token: &str,
        purpose: Purpose,
    ) -> Result<OpenedSession, EnrolError> {
        let share = self.cosigner.authenticate(serial, device_token).await?;
        if share.locked_at.is_some() {
            return Err(CosignError::KeyLocked.into());
        }
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let message = SignedMessage::KeyCheck(KeyCheck {
            serial: serial.to_string(),
            purpose: purpose.as_str().to_string(),
            nonce,
            issued_at: self.clock.now().timestamp(),
        })
        .encode()
        .map_err(|source| CosignError::Malformed {
            what: "key check message",
            source,
        })?;
        Ok(self.cosigner.open(serial, purpose, message).await?)
    }

    /// The key's status for the phone holding `device_token`.
    pub async fn key_status(
        &self,
        serial: &CertificateSerial,
        device_token: &str,
    ) -> Result<KeyStatus, EnrolError> {
        let share = self.cosigner.authenticate(serial, device_token).await?;
        Ok(Cosigner::status(&share))
    }
}

fn sec1(public_key: &sm2::PublicKey) -> Vec<u8> {
    use sm2::elliptic_curve::sec1::ToEncodedPoint as _;
    public_key.to_encoded_point(false).as_bytes().to_vec()
}

fn public_key_array(sec1: &[u8]) -> Result<[u8; 65], EnrolError> {
    sec1.try_into().map_err(|_| {
        EnrolError::Cosign(CosignError::Malformed {
            what: "public key",
            source: SignerError::InvalidLength {
                expected: 65,
                actual: sec1.len(),
            },
        })
    })
}

/// Creates a ticket for `holder` of `unit`, valid for [`TICKET_TTL`] from `now`, audited.
pub async fn create_ticket(
    store: &dyn EnrolStore,
    unit: UnitDraft,
    holder: HolderDraft,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<IssuedTicket, EnrolError> {
    let ticket = Ticket::random();
    let expires_at = now + TICKET_TTL;
    let audit = AuditDraft {
        actor: actor.clone(),
        action: "enrolment.ticket",
        subject: unit.uscc.as_str().to_string(),
        detail: serde_json::json!({
            "holder": holder.name.as_str(),
            "phone": holder.phone.masked(),
            "expires_at": expires_at,
        }),
    };
    store
        .insert_ticket(
            NewTicket {
                ticket_hash: ticket.hash(),
                unit,
                holder,
                created_by: actor.to_string(),
                expires_at,
                download: None,
            },
            audit,
        )
        .await?;
    Ok(IssuedTicket { ticket, expires_at })
}

impl Describe for EnrolError {
    fn describe(&self) -> Description {
        match self {
            Self::TicketInvalid { .. } => Description::new(
                code::ENROLMENT_TICKET_INVALID,
                "下载码无效、已过期或已使用，请联系经办机构重新获取",
            ),
            Self::Superseded => Description::new(
                code::ENROLMENT_SUPERSEDED,
                "该证书下载已在另一次操作中重新开始，本次下载作废，请以最新一次为准",
            ),
            Self::Cosign(e) => e.describe(),
            Self::Ca(e) => e.describe(),
            Self::Storage(e) => e.describe(),
        }
    }
}
