//! The certificate authority: its keys, holder certificates, revocation, CRL and OCSP.
//! Storage is behind `CertStore`, the signing key behind `CaSigner`, keys at rest behind
//! `KeyWrap`; nothing here knows about HTTP or the database library.

mod audit_check;
mod builder;
mod crl;
mod csr;
mod error;
mod key_wrap;
mod ocsp;
pub mod oids;
pub mod profile;
mod records;
mod signer;
mod token_keys;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use der::{Decode, Encode, EncodePem, pem::LineEnding};
use x509_cert::Certificate;

pub use audit_check::{AuditCheck, check_audit_chain};
pub use builder::{Issuer, RevocationUrls, Subject, key_identifier};
pub use csr::{VerifiedCsr, verify_csr};
pub use error::CaError;
pub use key_wrap::{KeyWrap, MasterKey};
pub use records::*;
pub use signer::{CaSigner, SoftwareSm2Signer, public_key_info};
pub use token_keys::{Jwk, Jwks, NewTokenKey, TokenKeys};

use crate::clock::Clock;
use crate::failure::StorageError;
use crate::{
    audit::{Actor, AuditDraft},
    domain::CertificateSerial,
    notify::NoticeDraft,
    providers::sms::CertificateChange,
};

const CA_ORGANIZATION: &str = "mcert";
const ROOT_NAME: &str = "mcert Root CA";
const ISSUING_NAME: &str = "mcert Issuing CA";
const SEAL_MAKER_NAME: &str = "mcert 电子印章制作者";

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The registry record (role decided at recording time).
    pub record: CertificateRecord,
    /// DER.
    pub der: Vec<u8>,
}

impl IssuedCertificate {
    /// PEM text.
    pub fn pem(&self) -> Result<String, CaError> {
        Ok(Certificate::from_der(&self.der)?.to_pem(LineEnding::LF)?)
    }
}

/// The CA as seal maker (印章制作者, GB/T 38540): its certificate under the issuing CA and its
/// key, which signs `SES_SealInfo` and nothing else.
#[derive(Debug)]
pub struct SealMaker {
    /// The seal maker's certificate.
    pub certificate: Certificate,
    signer: SoftwareSm2Signer,
}

impl SealMaker {
    /// The SM2-with-SM3 signature over `message` (the DER of a seal's `SES_SealInfo`), DER
    /// `SEQUENCE { r, s }`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CaError> {
        Ok(self.signer.sign(message)?.raw_bytes().to_vec())
    }
}

/// The running CA.
#[derive(Debug)]
pub struct Authority {
    store: Arc<dyn CertStore>,
    root: Certificate,
    issuing: Certificate,
    issuing_signer: Box<dyn CaSigner>,
    issuer: Issuer,
    urls: RevocationUrls,
    token_keys: TokenKeys,
    /// Opens the phones' encrypted co-signing rounds.
    transport: Arc<mcert_signer::transport::TransportSecret>,
    /// Signs the employers' seals.
    seal_maker: SealMaker,
    /// Derived from the root key: makes login subjects opaque and stable (see
    /// [`Authority::subject_id`]).
    subject_key: zeroize::Zeroizing<[u8; 32]>,
    crl_validity: TimeDelta,
    crl_lock: tokio::sync::Mutex<()>,
    clock: Arc<dyn Clock>,
}

impl Authority {
    /// Opens the CA stored in `store`, creating root, issuing CA and token key on first use.
    /// `public_base` is the URL relying parties reach mcert at (CRL and OCSP pointers); `clock`
    /// dates certificates, revocations, CRLs and OCSP answers.
    pub async fn open(
        store: Arc<dyn CertStore>,
        key_wrap: &dyn KeyWrap,
        public_base: &str,
        crl_validity: TimeDelta,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CaError> {
        let base = public_base.trim_end_matches('/');
        let urls = RevocationUrls {
            crl: format!("{base}/pki/crl"),
            ocsp: format!("{base}/pki/ocsp"),
        };
        if store.authority_keys(KeyPurpose::Issuing).await?.is_empty() {
            match store
                .insert_authority_keys(
                    create_authority_keys(key_wrap, &urls, clock.now())?,
                    create_audit(),
                )
                .await
            {
                Ok(()) => tracing::info!("created a new root CA, issuing CA and token key"),
                Err(StorageError::Conflict { .. }) => {
                    tracing::info!("another instance created the CA first; using its keys")
                }
                Err(e) => return Err(e.into()),
            }
        }
        let current = |keys: Vec<AuthorityKeyRecord>, purpose: KeyPurpose| {
            keys.into_iter()
                .find(|k| k.current)
                .ok_or(CaError::Storage(StorageError::Corrupt {
                    what: "authority_keys",
                    detail: format!("no current {} key", purpose.as_str()),
                }))
        };
        let root_record = current(
            store.authority_keys(KeyPurpose::Root).await?,
            KeyPurpose::Root,
        )?;
        let issuing_record = current(
            store.authority_keys(KeyPurpose::Issuing).await?,
            KeyPurpose::Issuing,
        )?;
        let token_records = store.authority_keys(KeyPurpose::Token).await?;
        // A CA created before the co-signing round was encrypted has no transport key yet.
        ensure_key(store.as_ref(), KeyPurpose::Transport, || {
            transport_record(key_wrap, clock.now())
        })
        .await?;
        let transport_current = current(
            store.authority_keys(KeyPurpose::Transport).await?,
            KeyPurpose::Transport,
        )?;

        let certificate = |record: &AuthorityKeyRecord| -> Result<Certificate, CaError> {
            let der = record.certificate_der.as_deref().ok_or(CaError::Storage(
                StorageError::Corrupt {
                    what: "authority_keys",
                    detail: format!("{} key has no certificate", record.purpose.as_str()),
                },
            ))?;
            Ok(Certificate::from_der(der)?)
        };
        let root = certificate(&root_record)?;
        let issuing = certificate(&issuing_record)?;
        // Opening the root key too proves the master key before anything is served.
        let root_secret = key_wrap.decrypt(
            root_record.key_id.as_bytes(),
            &root_record.sealed_private_key,
        )?;
        let subject_key = zeroize::Zeroizing::new(mcert_signer::sm3_digest(
            &[b"mcert/subject/v1".as_slice(), root_secret.as_slice()].concat(),
        ));
        let secret = key_wrap.decrypt(
            issuing_record.key_id.as_bytes(),
            &issuing_record.sealed_private_key,
        )?;
        let issuing_signer = SoftwareSm2Signer::from_secret_bytes(&secret)?;
        let issuer = Issuer {
            name: issuing.tbs_certificate.subject.clone(),
            key_identifier: key_identifier(&issuing.tbs_certificate.subject_public_key_info),
        };

        let token_current = current(token_records.clone(), KeyPurpose::Token)?;
        let token_secret = key_wrap.decrypt(
            token_current.key_id.as_bytes(),
            &token_current.sealed_private_key,
        )?;
        let published: Vec<(String, Vec<u8>)> = token_records
            .iter()
            .map(|k| (k.key_id.clone(), k.public_key.clone()))
            .collect();
        let token_keys = TokenKeys::new(token_current.key_id.clone(), &token_secret, &published)?;
        let transport_secret = key_wrap.decrypt(
            transport_current.key_id.as_bytes(),
            &transport_current.sealed_private_key,
        )?;
        let transport = transport_secret
            .as_slice()
            .try_into()
            .ok()
            .and_then(|bytes| mcert_signer::transport::TransportSecret::from_bytes(bytes).ok())
            .ok_or(CaError::Storage(StorageError::Corrupt {
                what: "authority_keys",
                detail: "transport key is not an SM2 scalar".to_string(),
            }))?;

        // A CA created before electronic seals has no seal maker yet.
        ensure_key(store.as_ref(), KeyPurpose::SealMaker, || {
            seal_maker_record(key_wrap, &issuer, &issuing_signer, &urls, clock.now())
        })
        .await?;
        let maker_record = current(
            store.authority_keys(KeyPurpose::SealMaker).await?,
            KeyPurpose::SealMaker,
        )?;
        let seal_maker = SealMaker {
            certificate: certificate(&maker_record)?,
            signer: SoftwareSm2Signer::from_secret_bytes(&key_wrap.decrypt(
                maker_record.key_id.as_bytes(),
                &maker_record.sealed_private_key,
            )?)?,
        };
        Ok(Self {
            store,
            root,
            issuing,
            issuing_signer: Box::new(issuing_signer),
            issuer,
            urls,
            seal_maker,
            token_keys,
            transport: Arc::new(transport),
            subject_key,
            crl_validity,
            crl_lock: tokio::sync::Mutex::new(()),
            clock,
        })
    }

    /// Issuing CA then root, PEM.
    pub fn chain_pem(&self) -> Result<String, CaError> {
        Ok(format!(
            "{}{}",
            self.issuing.to_pem(LineEnding::LF)?,
            self.root.to_pem(LineEnding::LF)?
        ))
    }

    /// The root certificate.
    pub fn root(&self) -> &Certificate {
        &self.root
    }

    /// The issuing CA certificate.
    pub fn issuing(&self) -> &Certificate {
        &self.issuing
    }

    /// The seal maker.
    pub fn seal_maker(&self) -> &SealMaker {
        &self.seal_maker
    }

    /// The token-signing keys.
    pub fn token_keys(&self) -> &TokenKeys {
        &self.token_keys
    }

    /// The key that opens the phones' encrypted co-signing rounds.
    pub fn transport_key(&self) -> Arc<mcert_signer::transport::TransportSecret> {
        self.transport.clone()
    }

    /// The `sub` of a login: stable for one holder of one employer, opaque (HMAC-SM3 under a key
    /// derived from the root key, so an ID number cannot be guessed back from it).
    pub fn subject_id(&self, uscc: &str, id_number: &str) -> Result<String, CaError> {
        use hmac::Mac as _;
        let mut mac =
            hmac::Hmac::<sm3::Sm3>::new_from_slice(self.subject_key.as_slice()).map_err(|_| {
                CaError::Crypto {
                    detail: "subject key",
                }
            })?;
        mac.update(uscc.as_bytes());
        mac.update(b":");
        mac.update(id_number.to_ascii_uppercase().as_bytes());
        Ok(hex::encode(&mac.finalize().into_bytes()[..16]))
    }

    /// Issues a USB-key certificate from the token's CSR (proof of possession checked).
    #[tracing::instrument(skip_all, fields(uscc = %unit.uscc))]
    pub async fn issue_physical(
        &self,
        csr: &[u8],
        unit: UnitDraft,
        holder: HolderDraft,
        actor: &Actor,
    ) -> Result<IssuedCertificate, CaError> {
        let request = verify_csr(csr)?;
        self.issue(
            &profile::PHYSICAL_HOLDER,
            MediaType::Physical,
            request.public_key_info,
            unit,
            holder,
            actor,
        )
        .await
    }

    /// Issues a holder certificate for `public_key`: records it (pending, with the exact bytes
    /// to sign) in one transaction with the audit entry, then signs and activates it.
    pub async fn issue(
        &self,
        profile: &profile::Profile,
        media: MediaType,
        public_key: spki::SubjectPublicKeyInfoOwned,
        unit: UnitDraft,
        holder: HolderDraft,
        actor: &Actor,
    ) -> Result<IssuedCertificate, CaError> {
        let serial = CertificateSerial::random(&mut rand::rngs::OsRng);
        let pending = self.prepare(profile, media, public_key, unit, holder, serial)?;
        let audit = issue_audit(profile, &pending, actor);
        let serial = pending.serial.clone();
        let mut record = self.store.record_pending(pending, audit).await?;
        let der = self.sign_tbs(&record.tbs_der)?;
        self.store.activate(&serial, der.clone()).await?;
        record.status = CertificateStatus::Active;
        record.der = Some(der.clone());
        Ok(IssuedCertificate { record, der })
    }

    /// Builds the to-be-signed bytes of a holder certificate under `serial` (drawn with
    /// [`CertificateSerial::random`]), ready to be recorded as pending. Nothing is stored or
    /// signed.
    pub fn prepare(
        &self,
        profile: &profile::Profile,
        media: MediaType,
        public_key: spki::SubjectPublicKeyInfoOwned,
        unit: UnitDraft,
        holder: HolderDraft,
        serial: CertificateSerial,
    ) -> Result<PendingCertificate, CaError> {
        self.pending(profile, media, public_key, (unit, holder), serial, None)
    }

    /// The to-be-signed bytes of the certificate that renews `previous` (年审延期): its employer
    /// and holder, `public_key` (the same key for a mobile certificate, the new token's for a USB
    /// key), valid from now until `not_after`, under the new `serial`. Nothing is stored or
    /// signed.
    pub fn prepare_renewal(
        &self,
        previous: &CertificateRecord,
        public_key: spki::SubjectPublicKeyInfoOwned,
        serial: CertificateSerial,
        not_after: DateTime<Utc>,
    ) -> Result<PendingCertificate, CaError> {
        let unit = UnitDraft::parse(&previous.uscc, &previous.unit_name)?;
        let holder = HolderDraft::parse(
            &previous.holder_name,
            &previous.holder_id_number,
            &previous.holder_phone,
        )?;
        let profile = match previous.media {
            MediaType::Mobile => &profile::MOBILE_HOLDER,
            MediaType::Physical => &profile::PHYSICAL_HOLDER,
        };
        self.pending(
            profile,
            previous.media,
            public_key,
            (unit, holder),
            serial,
            Some(not_after),
        )
    }

    fn pending(
        &self,
        profile: &profile::Profile,
        media: MediaType,
        public_key: spki::SubjectPublicKeyInfoOwned,
        (unit, holder): (UnitDraft, HolderDraft),
        serial: CertificateSerial,
        until: Option<DateTime<Utc>>,
    ) -> Result<PendingCertificate, CaError> {
        let subject = Subject::Holder {
            unit_name: unit.name.as_str(),
            uscc: unit.uscc.as_str(),
            holder_name: holder.name.as_str(),
        }
        .to_name()?;
        let now = self.clock.now();
        let not_after = match until {
            Some(until) => until,
            None => {
                now + TimeDelta::from_std(profile.validity)
                    .map_err(|_| CaError::Crypto { detail: "validity" })?
            }
        };
        let tbs = builder::build_tbs(
            builder::TbsRequest {
                profile,
                serial: &serial,
                subject: subject.clone(),
                public_key: public_key.clone(),
                issuer: &self.issuer,
                not_before: now.into(),
                until: until.map(Into::into),
                urls: Some(&self.urls),
            },
            self.issuing_signer.as_ref(),
        )?;
        Ok(PendingCertificate {
            serial,
            unit,
            holder,
            media,
            subject: subject.to_string(),
            public_key: public_key.to_der()?,
            tbs_der: tbs.to_der()?,
            not_before: tbs_time(&tbs.validity.not_before),
            not_after: tbs_time(&tbs.validity.not_after).min(not_after),
        })
    }

    /// Signs recorded to-be-signed bytes with the issuing CA key; the caller activates.
    pub fn sign_tbs(&self, tbs_der: &[u8]) -> Result<Vec<u8>, CaError> {
        let tbs = x509_cert::TbsCertificate::from_der(tbs_der)?;
        Ok(builder::sign_certificate(tbs, self.issuing_signer.as_ref())?.to_der()?)
    }

    /// Looks a certificate up.
    pub async fn certificate(
        &self,
        serial: &CertificateSerial,
    ) -> Result<CertificateRecord, CaError> {
        self.store
            .find_by_serial(serial)
            .await?
            .ok_or_else(|| CaError::CertificateNotFound {
                serial: serial.clone(),
            })
    }

    /// Revokes at once (OCSP answers from the registry) and issues a new CRL. The holder is
    /// told by SMS in the same transaction, except for a certificate superseded by a download
    /// on a new phone: that download's own notice says so.
    #[tracing::instrument(skip(self), fields(serial = %serial))]
    pub async fn revoke(
        &self,
        serial: &CertificateSerial,
        reason: RevocationReason,
        actor: &Actor,
    ) -> Result<RevocationRecord, CaError> {
        let draft = self.revocation(serial, reason, actor).await?;
        let revocation = self.store.revoke(draft).await?;
        self.publish_revocations().await;
        Ok(revocation)
    }

    /// [`Authority::revoke`] for a cause a person chose (seed 000 §五(一)): its RFC 5280
    /// reason goes in the CRL and OCSP, the cause itself beside it, in the audit entry and to
    /// the employment platform.
    #[tracing::instrument(skip(self), fields(serial = %serial))]
    pub async fn revoke_for(
        &self,
        serial: &CertificateSerial,
        cause: RevocationCause,
        actor: &Actor,
    ) -> Result<RevocationRecord, CaError> {
        let mut draft = self.revocation(serial, cause.reason(), actor).await?;
        draft.cause = Some(cause);
        draft.audit.detail["cause"] = cause.as_str().into();
        let revocation = self.store.revoke(draft).await?;
        self.publish_revocations().await;
        Ok(revocation)
    }

    /// What revoking `serial` now writes: the revocation with its audit entry and, unless it
    /// is superseded by a download (whose own notice says so), the holder's SMS notice. For a
    /// store transaction that revokes beside other changes; call
    /// [`Authority::publish_revocations`] after it commits.
    pub async fn revocation(
        &self,
        serial: &CertificateSerial,
        reason: RevocationReason,
        actor: &Actor,
    ) -> Result<RevocationDraft, CaError> {
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "certificate.revoke",
            subject: serial.to_string(),
            detail: serde_json::json!({ "reason": reason.as_str() }),
        };
        let notice = match reason {
            RevocationReason::Superseded => None,
            _ => {
                let record = self.certificate(serial).await?;
                NoticeDraft::certificate_changed(&record, CertificateChange::Revoked)
            }
        };
        Ok(RevocationDraft {
            serial: serial.clone(),
            reason,
            cause: None,
            revoked_at: self.clock.now(),
            revoked_by: actor.to_string(),
            audit,
            notice,
        })
    }

    /// Issues a new CRL after revocations were stored. A failure is logged, not returned: the
    /// revocations stand, OCSP already reports them, and the periodic task issues the CRL.
    pub async fn publish_revocations(&self) {
        if let Err(error) = self.regenerate_crl().await {
            tracing::error!(error = %error, "CRL regeneration after revocation failed");
        }
    }

    /// The current CRL, issuing a new one when none exists or the newest is past half-life.
    pub async fn current_crl(&self) -> Result<Vec<u8>, CaError> {
        if let Some(crl) = self.store.latest_crl().await?
            && self.clock.now() < crl.this_update + self.crl_validity / 2
        {
            return Ok(crl.der);
        }
        Ok(self.regenerate_crl().await?.der)
    }

    /// Issues a new CRL from the registry's revocations.
    pub async fn regenerate_crl(&self) -> Result<CrlRecord, CaError> {
        let _one_at_a_time = self.crl_lock.lock().await;
        loop {
            let number = self.store.latest_crl().await?.map_or(1, |c| c.number + 1);
            let revocations = self.store.revocations().await?;
            let this_update = self.clock.now();
            let next_update = this_update + self.crl_validity;
            let der = crl::build_crl(
                number,
                this_update,
                next_update,
                &revocations,
                &self.issuer,
                self.issuing_signer.as_ref(),
            )?;
            let record = CrlRecord {
                number,
                this_update,
                next_update,
                der,
            };
            match self.store.insert_crl(record.clone()).await {
                Ok(()) => return Ok(record),
                // Another instance issued this number; build the next one from fresh data.
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Answers an OCSP request (DER in, DER out). Malformed requests get the RFC 6960
    /// `malformedRequest` status, storage failures `tryLater`.
    pub async fn ocsp(&self, request_der: &[u8]) -> Vec<u8> {
        let Some(request) = ocsp::parse_request(request_der) else {
            return ocsp::error_response(x509_ocsp::OcspResponse::malformed_request());
        };
        let mut answers = Vec::new();
        for single in &request.tbs_request.request_list {
            let cert_id = single.req_cert.clone();
            let known = if !ocsp::names_issuer(&cert_id, &self.issuing) {
                ocsp::Known::Unknown
            } else {
                match CertificateSerial::from_bytes(cert_id.serial_number.as_bytes()) {
                    Err(_) => ocsp::Known::Unknown,
                    Ok(serial) => match self.store.find_by_serial(&serial).await {
                        Ok(record) => ocsp::Known::from_status(
                            record.as_ref().map(|r| (r.status, r.revocation.as_ref())),
                        ),
                        Err(error) => {
                            tracing::error!(error = %error, "OCSP lookup failed");
                            return ocsp::error_response(x509_ocsp::OcspResponse::try_later());
                        }
                    },
                }
            };
            answers.push((cert_id, known));
        }
        match ocsp::build_response(
            &request,
            answers,
            &self.issuing,
            self.issuing_signer.as_ref(),
            self.clock.now(),
        ) {
            Ok(der) => der,
            Err(error) => {
                tracing::error!(error = %error, "OCSP signing failed");
                ocsp::error_response(x509_ocsp::OcspResponse::internal_error())
            }
        }
    }

    /// Health of the registry.
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.store.ping().await
    }
}

fn tbs_time(time: &x509_cert::time::Time) -> DateTime<Utc> {
    DateTime::<Utc>::from(time.to_system_time())
}

fn create_audit() -> AuditDraft {
    AuditDraft {
        actor: Actor::System,
        action: "authority.create",
        subject: ISSUING_NAME.into(),
        detail: serde_json::json!({
            "root": ROOT_NAME,
            "issuing": ISSUING_NAME,
            "seal_maker": SEAL_MAKER_NAME,
        }),
    }
}

/// Creates the key of `purpose` with `make` unless one exists (a CA created before the key's
/// feature has none yet). Instances starting together race here: the loser's transaction fails
/// (on the existence check, on the audit chain's next sequence number, or on SQLite's single
/// writer while the winner's transaction is open) and it uses the winner's key once that is
/// committed.
async fn ensure_key(
    store: &dyn CertStore,
    purpose: KeyPurpose,
    make: impl Fn() -> Result<AuthorityKeyRecord, CaError>,
) -> Result<(), CaError> {
    const ATTEMPTS: u32 = 10;
    for attempt in 1..=ATTEMPTS {
        if !store.authority_keys(purpose).await?.is_empty() {
            return Ok(());
        }
        let created = store
            .insert_authority_keys(vec![make()?], key_audit(purpose))
            .await;
        match created {
            Ok(()) => {
                tracing::info!(purpose = purpose.as_str(), "created an authority key");
                return Ok(());
            }
            Err(e) if attempt == ATTEMPTS => return Err(e.into()),
            Err(e) => {
                tracing::info!(error = %e, attempt, purpose = purpose.as_str(), "key not created; looking again");
                // Backoff under contention at start-up, not a wait for time to pass.
                tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
            }
        }
    }
    Ok(())
}

fn key_audit(purpose: KeyPurpose) -> AuditDraft {
    AuditDraft {
        actor: Actor::System,
        action: match purpose {
            KeyPurpose::SealMaker => "authority.seal_maker_key.create",
            _ => "authority.transport_key.create",
        },
        subject: ISSUING_NAME.into(),
        detail: serde_json::json!({ "purpose": purpose.as_str() }),
    }
}

/// The seal maker's key and certificate (issued by the issuing CA), sealed like the CA keys.
fn seal_maker_record(
    key_wrap: &dyn KeyWrap,
    issuer: &Issuer,
    issuing_signer: &dyn CaSigner,
    urls: &RevocationUrls,
    now: DateTime<Utc>,
) -> Result<AuthorityKeyRecord, CaError> {
    let (signer, secret) = SoftwareSm2Signer::generate()?;
    let tbs = builder::build_tbs(
        builder::TbsRequest {
            profile: &profile::SEAL_MAKER,
            serial: &CertificateSerial::random(&mut rand::rngs::OsRng),
            subject: Subject::Authority {
                organization: CA_ORGANIZATION,
                common_name: SEAL_MAKER_NAME,
            }
            .to_name()?,
            public_key: signer.public_key_info().clone(),
            issuer,
            not_before: now.into(),
            until: None,
            urls: Some(urls),
        },
        issuing_signer,
    )?;
    let certificate = builder::sign_certificate(tbs, issuing_signer)?.to_der()?;
    let key_id = format!(
        "{}-{}",
        KeyPurpose::SealMaker.as_str(),
        hex::encode(key_identifier(signer.public_key_info()))
    );
    Ok(AuthorityKeyRecord {
        sealed_private_key: key_wrap.encrypt(key_id.as_bytes(), &secret)?,
        key_id,
        purpose: KeyPurpose::SealMaker,
        algorithm: "SM2".to_string(),
        public_key: signer.public_key_info().to_der()?,
        certificate_der: Some(certificate),
        current: true,
        created_at: now,
    })
}

/// A new co-signing transport key (SM2), sealed under the master key like the CA keys.
fn transport_record(
    key_wrap: &dyn KeyWrap,
    now: DateTime<Utc>,
) -> Result<AuthorityKeyRecord, CaError> {
    use rand::RngCore as _;
    use spki::EncodePublicKey as _;
    let mut entropy = zeroize::Zeroizing::new([0u8; 64]);
    rand::rngs::OsRng.fill_bytes(entropy.as_mut_slice());
    let secret =
        mcert_signer::transport::TransportSecret::generate(entropy.as_slice()).map_err(|_| {
            CaError::Crypto {
                detail: "transport key generation",
            }
        })?;
    let public_key = secret
        .public_key()
        .to_public_key_der()
        .map_err(|_| CaError::Crypto {
            detail: "transport key encoding",
        })?
        .into_vec();
    let key_id = format!(
        "transport-{}",
        hex::encode(&mcert_signer::sm3_digest(&public_key)[..10])
    );
    Ok(AuthorityKeyRecord {
        sealed_private_key: key_wrap.encrypt(key_id.as_bytes(), secret.to_bytes().as_slice())?,
        key_id,
        purpose: KeyPurpose::Transport,
        algorithm: "SM2".to_string(),
        public_key,
        certificate_der: None,
        current: true,
        created_at: now,
    })
}

/// Creates root, issuing CA (signed by root), the first token key, the co-signing transport key
/// and the seal maker (certified by the issuing CA), sealed.
fn create_authority_keys(
    key_wrap: &dyn KeyWrap,
    urls: &RevocationUrls,
    now: DateTime<Utc>,
) -> Result<Vec<AuthorityKeyRecord>, CaError> {
    let (root_signer, root_secret) = SoftwareSm2Signer::generate()?;
    let root_name = Subject::Authority {
        organization: CA_ORGANIZATION,
        common_name: ROOT_NAME,
    }
    .to_name()?;
    let root_issuer = Issuer {
        name: root_name.clone(),
        key_identifier: key_identifier(root_signer.public_key_info()),
    };
    let root_cert = self_or_signed(
        &profile::ROOT,
        root_name,
        root_signer.public_key_info().clone(),
        &root_issuer,
        &root_signer,
        now,
    )?;

    let (issuing_signer, issuing_secret) = SoftwareSm2Signer::generate()?;
    let issuing_name = Subject::Authority {
        organization: CA_ORGANIZATION,
        common_name: ISSUING_NAME,
    }
    .to_name()?;
    let issuing_cert = self_or_signed(
        &profile::ISSUING_CA,
        issuing_name,
        issuing_signer.public_key_info().clone(),
        &root_issuer,
        &root_signer,
        now,
    )?;

    let maker = seal_maker_record(
        key_wrap,
        &Issuer {
            name: Certificate::from_der(&issuing_cert)?
                .tbs_certificate
                .subject,
            key_identifier: key_identifier(issuing_signer.public_key_info()),
        },
        &issuing_signer,
        urls,
        now,
    )?;
    let token = TokenKeys::generate()?;
    let record = |purpose: KeyPurpose,
                  key_id: String,
                  algorithm: &str,
                  public_key: Vec<u8>,
                  secret: &[u8],
                  cert: Option<Vec<u8>>|
     -> Result<AuthorityKeyRecord, CaError> {
        Ok(AuthorityKeyRecord {
            sealed_private_key: key_wrap.encrypt(key_id.as_bytes(), secret)?,
            key_id,
            purpose,
            algorithm: algorithm.to_string(),
            public_key,
            certificate_der: cert,
            current: true,
            created_at: now,
        })
    };
    let sm2_kid = |purpose: KeyPurpose, spki: &spki::SubjectPublicKeyInfoOwned| {
        format!("{}-{}", purpose.as_str(), hex::encode(key_identifier(spki)))
    };
    Ok(vec![
        record(
            KeyPurpose::Root,
            sm2_kid(KeyPurpose::Root, root_signer.public_key_info()),
            "SM2",
            root_signer.public_key_info().to_der()?,
            &root_secret,
            Some(root_cert),
        )?,
        record(
            KeyPurpose::Issuing,
            sm2_kid(KeyPurpose::Issuing, issuing_signer.public_key_info()),
            "SM2",
            issuing_signer.public_key_info().to_der()?,
            &issuing_secret,
            Some(issuing_cert),
        )?,
        record(
            KeyPurpose::Token,
            token.kid,
            "ES256",
            token.spki,
            &token.secret,
            None,
        )?,
        transport_record(key_wrap, now)?,
        maker,
    ])
}

fn self_or_signed(
    profile: &profile::Profile,
    subject: x509_cert::name::Name,
    public_key: spki::SubjectPublicKeyInfoOwned,
    issuer: &Issuer,
    signer: &dyn CaSigner,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, CaError> {
    let serial = CertificateSerial::random(&mut rand::rngs::OsRng);
    let tbs = builder::build_tbs(
        builder::TbsRequest {
            profile,
            serial: &serial,
            subject,
            public_key,
            issuer,
            not_before: now.into(),
            until: None,
            urls: None,
        },
        signer,
    )?;
    Ok(builder::sign_certificate(tbs, signer)?.to_der()?)
}

/// The audit entry that records a pending certificate.
pub fn issue_audit(
    profile: &profile::Profile,
    pending: &PendingCertificate,
    actor: &Actor,
) -> AuditDraft {
    AuditDraft {
        actor: actor.clone(),
        action: "certificate.issue",
        subject: pending.serial.to_string(),
        detail: serde_json::json!({
            "profile": profile.name,
            "media": pending.media.as_str(),
            "uscc": pending.unit.uscc.as_str(),
            "subject": pending.subject,
        }),
    }
}
