//! The server's half of every mobile signature (DESIGN.md §5, bytes in `docs/split-key.md`).
//!
//! A co-signing session is opened by the server for a message it wrote itself (key enrolment,
//! key check; later login challenges and seal requests): the client never sends a digest. The
//! session lives in the kv store for [`SESSION_TTL`] and moves forward once: partials are issued
//! for one PIN proof (a wrong PIN may try again within the session, counted in the database),
//! then one signature is accepted. Six consecutive wrong PIN proofs lock the key.

pub mod log;
mod records;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use mcert_signer::{
    SignerError,
    cosign::{ClientRound, ServerPartials, ServerShare, verify_pin_proof},
    message_digest, parse_public_key,
    transport::TransportSecret,
};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use spki::DecodePublicKey as _;

pub use records::{KeyShareRecord, KeyShareStore, NewKeyShare, PinFailure};

use crate::clock::Clock;
use crate::failure::StorageError;
use crate::failure::{Describe, Description, code};
use crate::{
    audit::{Actor, AuditDraft},
    ca::{CaError, CertificateStatus, KeyWrap},
    certificates::Standing,
    domain::CertificateSerial,
    kv::{Kv, KvError},
    notify::NoticeDraft,
    tokens,
};

/// Consecutive wrong PIN proofs that lock a key, as a USB key does.
pub const MAX_PIN_FAILURES: u32 = 6;

/// How long a co-signing session may take from opening to the signature.
pub const SESSION_TTL: Duration = Duration::from_secs(5 * 60);

/// Bytes of server entropy handed to the signer crate per operation.
const ENTROPY_LEN: usize = 64;

/// The signature log's action for a completed co-signature (DESIGN.md §5: the server takes
/// part in every signature, so it can say what each key signed).
pub const SIGNATURE_MADE: &str = "signature.made";
/// The signature log's action for a wrong PIN proof.
pub const SIGNATURE_PIN_FAILED: &str = "signature.pin_failed";

/// What the signature log records of a co-signature: its purpose, the co-signing session, the
/// SM3 of the message and what the message belongs to (the login session and portal, the
/// grant's portal and grantee, the PIN check's purpose).
fn signature_detail(session_id: &str, purpose: Purpose, message: &[u8]) -> serde_json::Value {
    use mcert_signer::message::SignedMessage;
    let mut detail = serde_json::json!({
        "purpose": purpose.as_str(),
        "cosign_session": session_id,
        "message_sm3": hex::encode(mcert_signer::sm3_digest(message)),
    });
    match SignedMessage::decode(message) {
        Ok(SignedMessage::LoginChallenge(m)) => {
            detail["login_session"] = String::from_utf8_lossy(&m.session_id).into();
            detail["portal"] = m.client_id.into();
        }
        Ok(SignedMessage::GrantChange(m)) => {
            detail["portal"] = m.client_id.into();
            detail["grantee"] = m.grantee_serial.into();
            detail["grant_id"] = m.grant_id.into();
        }
        Ok(SignedMessage::RenewalRequest(m)) => {
            detail["new_serial"] = m.new_serial.into();
        }
        Ok(SignedMessage::SealSign(m)) => {
            detail["login_session"] = m.session_id.into();
            detail["seal"] = m.seal_id.into();
            detail["document"] = m.document_title.into();
            detail["document_hash"] = hex::encode(m.data_hash).into();
        }
        Ok(SignedMessage::PdfSignedAttributes(m)) => {
            detail["document_hash"] = hex::encode(m.message_digest).into();
        }
        _ => {}
    }
    detail
}

/// What a session's message is for; decides what happens once it is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The first signature of a new key, which activates its certificate.
    KeyEnrolment,
    /// A PIN check before the phone reports success to its user.
    VerifyPin,
    /// A PIN check before the phone re-masks its share under a new PIN.
    ChangePin,
    /// Approval of a scan-to-log-in request (a `login_challenge` message).
    Login,
    /// The primary holder's new item set for a sub-certificate (a `grant_change` message).
    GrantChange,
    /// The holder revokes the certificate (a `revocation_request` message).
    Revocation,
    /// The holder renews the certificate for another year (a `renewal_request` message).
    Renewal,
    /// An electronic seal on a document: the message is the DER of GB/T 38540 `TBS_Sign`.
    Seal,
    /// The stamped PDF's detached CMS signature: the message is the DER of its signed
    /// attributes, whose message digest is the seal's `dataHash`.
    SealPdf,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Self; 9] = [
        Self::KeyEnrolment,
        Self::VerifyPin,
        Self::ChangePin,
        Self::Login,
        Self::GrantChange,
        Self::Revocation,
        Self::Renewal,
        Self::Seal,
        Self::SealPdf,
    ];

    /// What the person did, as the signature history shows it.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::KeyEnrolment => "下载证书",
            Self::VerifyPin => "校验 PIN",
            Self::ChangePin => "修改 PIN",
            Self::Login => "扫码登录",
            Self::GrantChange => "事项授权",
            Self::Revocation => "证书废除",
            Self::Renewal => "年审延期",
            Self::Seal => "电子印章盖章",
            Self::SealPdf => "PDF 文件盖章",
        }
    }

    /// The purpose named `name` on the wire.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The name used on the wire and in the signed `key_check` message.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyEnrolment => "key_enrolment",
            Self::VerifyPin => "verify_pin",
            Self::ChangePin => "change_pin",
            Self::Login => "login",
            Self::GrantChange => "grant_change",
            Self::Revocation => "revocation_request",
            Self::Renewal => "renewal_request",
            Self::Seal => "seal",
            Self::SealPdf => "seal_pdf",
        }
    }
}

/// A session as stored in the kv store.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSession {
    serial: String,
    purpose: Purpose,
    /// The canonical message, hex.
    message: String,
    expires_at: DateTime<Utc>,
}

/// A freshly opened session, as the phone needs it.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// 128-bit random id, base64url (also the bytes the PIN proof is bound to).
    pub id: String,
    /// The canonical message to be signed.
    pub message: Vec<u8>,
    /// When the session stops accepting steps.
    pub expires_at: DateTime<Utc>,
}

/// A signature the server has verified over its own message.
#[derive(Debug, Clone)]
pub struct CompletedSignature {
    /// The co-signing session it completed.
    pub session_id: String,
    /// The signing certificate.
    pub serial: CertificateSerial,
    /// Why the message was signed.
    pub purpose: Purpose,
    /// The message.
    pub message: Vec<u8>,
    /// DER signature, a plain SM2 signature under the certificate's key.
    pub signature: Vec<u8>,
}

/// Why a co-signing step was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CosignError {
    /// Unknown or expired session id.
    #[error("co-signing session not found or expired")]
    SessionNotFound,
    /// The step was already taken (partials issued twice, or a signature before partials).
    #[error("co-signing step out of order")]
    OutOfOrder,
    /// The PIN proof did not verify; counted.
    #[error("wrong PIN, {remaining} attempts left")]
    PinIncorrect {
        /// Attempts left before the key locks.
        remaining: u32,
    },
    /// The key is locked after too many wrong PINs.
    #[error("key locked")]
    KeyLocked,
    /// The certificate cannot sign now (revoked, expired, abandoned, or not yet enrolled).
    #[error("certificate {serial} cannot sign: {standing}")]
    NotUsable {
        /// The certificate.
        serial: CertificateSerial,
        /// Where it stands.
        standing: Standing,
    },
    /// Client input does not parse (point, scalar, proof, signature encoding); not counted.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// Which input.
        what: &'static str,
        /// The parser's verdict.
        source: SignerError,
    },
    /// The sealed round was written for another wire version (version 1 sent Q1 and the PIN
    /// proof in clear); not counted.
    #[error("co-signing round version {version} is no longer accepted")]
    RoundOutdated {
        /// The version the client used.
        version: u8,
    },
    /// The sealed round does not open: altered, sealed to another transport key or for another
    /// session; not counted.
    #[error("sealed co-signing round does not open")]
    RoundUndecryptable,
    /// The final signature does not verify under the certificate's key.
    #[error("signature does not verify")]
    SignatureInvalid,
    /// The device token does not match the key.
    #[error("device token does not match")]
    DeviceTokenInvalid,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Unsealing or key handling failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The kv store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// Stored data does not decode.
    #[error("stored {what} is corrupt")]
    Corrupt {
        /// What.
        what: &'static str,
    },
}

/// Key state as the key's holder sees it.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    /// Certificate serial.
    pub serial: CertificateSerial,
    /// Registry status.
    pub status: CertificateStatus,
    /// Locked after wrong PINs.
    pub locked: bool,
    /// Wrong PINs that may still be tried.
    pub remaining_attempts: u32,
}

/// The co-signing service.
pub struct Cosigner {
    store: Arc<dyn KeyShareStore>,
    kv: Arc<dyn Kv>,
    key_wrap: Arc<dyn KeyWrap>,
    transport: Arc<TransportSecret>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner").finish_non_exhaustive()
    }
}

fn session_key(id: &str) -> String {
    format!("cosign:{id}")
}

/// Present while the session waits for a PIN proof.
fn round_key(id: &str) -> String {
    format!("cosign:{id}:round")
}

/// Present while the session waits for the final signature.
fn signature_key(id: &str) -> String {
    format!("cosign:{id}:signature")
}

fn entropy() -> [u8; ENTROPY_LEN] {
    let mut bytes = [0u8; ENTROPY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The label d2 is sealed under: binds the sealed blob to its certificate.
pub fn share_label(serial: &CertificateSerial) -> Vec<u8> {
    format!("key-share:{serial}").into_bytes()
}

/// The label P1 is sealed under.
fn phone_share_label(serial: &CertificateSerial) -> Vec<u8> {
    format!("phone-share:{serial}").into_bytes()
}

/// The server's half of a new key, ready to store, and the joint public key P.
#[derive(Debug)]
pub struct CreatedShare {
    /// P1 and d2, sealed.
    pub stored: NewKeyShare,
    /// P = [d2⁻¹]P1 − G, for the certificate.
    pub public_key: sm2::PublicKey,
}

fn public_key_of(spki_der: &[u8]) -> Result<sm2::PublicKey, CosignError> {
    sm2::PublicKey::from_public_key_der(spki_der).map_err(|_| CosignError::Corrupt {
        what: "certificate public key",
    })
}

impl Cosigner {
    /// A co-signer over the key-share registry, the kv store, the master key and the transport
    /// key that opens the phones' sealed rounds; sessions expire by `clock`.
    pub fn new(
        store: Arc<dyn KeyShareStore>,
        kv: Arc<dyn Kv>,
        key_wrap: Arc<dyn KeyWrap>,
        transport: Arc<TransportSecret>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            kv,
            key_wrap,
            transport,
            clock,
        }
    }

    /// Creates the server share d2 for a phone's P1 and computes the joint key P.
    pub fn create_server_share(
        &self,
        serial: &CertificateSerial,
        p1: &sm2::PublicKey,
    ) -> Result<CreatedShare, CosignError> {
        use sm2::elliptic_curve::sec1::ToEncodedPoint as _;
        let d2 = ServerShare::generate(&entropy()).map_err(|source| CosignError::Malformed {
            what: "server entropy",
            source,
        })?;
        let public_key = d2
            .joint_public_key(p1)
            .map_err(|source| CosignError::Malformed { what: "p1", source })?;
        let p1 = p1.to_encoded_point(false);
        Ok(CreatedShare {
            stored: NewKeyShare {
                sealed_phone_share: self
                    .key_wrap
                    .encrypt(&phone_share_label(serial), p1.as_bytes())?,
                sealed_server_share: self
                    .key_wrap
                    .encrypt(&share_label(serial), d2.to_bytes().as_ref())?,
            },
            public_key,
        })
    }

    /// The server's half of `from`'s key sealed again under `to`, a new certificate of the same
    /// key (a renewal): the shares are bound to their certificate, so they are opened and
    /// sealed anew rather than copied.
    pub async fn reseal_share(
        &self,
        from: &CertificateSerial,
        to: &CertificateSerial,
    ) -> Result<NewKeyShare, CosignError> {
        let share = self
            .store
            .key_share(from)
            .await?
            .ok_or(CosignError::SessionNotFound)?;
        let p1 = self
            .key_wrap
            .decrypt(&phone_share_label(from), &share.sealed_phone_share)?;
        let d2 = self
            .key_wrap
            .decrypt(&share_label(from), &share.sealed_server_share)?;
        Ok(NewKeyShare {
            sealed_phone_share: self.key_wrap.encrypt(&phone_share_label(to), &p1)?,
            sealed_server_share: self.key_wrap.encrypt(&share_label(to), &d2)?,
        })
    }

    /// Opens a session for `message`, which the caller built from its own state.
    pub async fn open(
        &self,
        serial: &CertificateSerial,
        purpose: Purpose,
        message: Vec<u8>,
    ) -> Result<OpenedSession, CosignError> {
        let id = tokens::random_token(16);
        let expires_at = self.clock.now()
            + chrono::TimeDelta::from_std(SESSION_TTL).unwrap_or(chrono::TimeDelta::minutes(5));
        let stored = StoredSession {
            serial: serial.to_string(),
            purpose,
            message: hex::encode(&message),
            expires_at,
        };
        let json =
            serde_json::to_vec(&stored).map_err(|_| CosignError::Corrupt { what: "session" })?;
        self.kv
            .put_if_absent(&session_key(&id), &json, SESSION_TTL)
            .await?;
        self.kv
            .put_if_absent(&round_key(&id), b"1", SESSION_TTL)
            .await?;
        Ok(OpenedSession {
            id,
            message,
            expires_at,
        })
    }

    async fn session(&self, id: &str) -> Result<(StoredSession, Vec<u8>), CosignError> {
        let bytes = self
            .kv
            .get(&session_key(id))
            .await?
            .ok_or(CosignError::SessionNotFound)?;
        let stored: StoredSession =
            serde_json::from_slice(&bytes).map_err(|_| CosignError::Corrupt { what: "session" })?;
        let message =
            hex::decode(&stored.message).map_err(|_| CosignError::Corrupt { what: "session" })?;
        Ok((stored, message))
    }

    fn remaining_ttl(&self, expires_at: DateTime<Utc>) -> Duration {
        (expires_at - self.clock.now())
            .to_std()
            .unwrap_or(Duration::from_secs(1))
            .max(Duration::from_secs(1))
    }

    /// Step 2 of DESIGN.md §5: opens the phone's sealed round, checks the PIN proof (a failure
    /// is counted), then returns `r ‖ s2 ‖ s3` over the digest of the session's own message,
    /// sealed for the phone (`docs/split-key.md`, "Encrypted round").
    #[tracing::instrument(skip(self, sealed_round), fields(session = %id))]
    pub async fn partials(&self, id: &str, sealed_round: &[u8]) -> Result<Vec<u8>, CosignError> {
        let (stored, message) = self.session(id).await?;
        // Open and parse before taking any state: malformed input changes nothing.
        let (round, channel) = self
            .transport
            .open_round(id.as_bytes(), sealed_round)
            .map_err(|source| match source {
                SignerError::UnsupportedRoundVersion { version } => {
                    CosignError::RoundOutdated { version }
                }
                SignerError::TransportRejected => CosignError::RoundUndecryptable,
                source => CosignError::Malformed {
                    what: "round",
                    source,
                },
            })?;
        if self.kv.take(&round_key(id)).await?.is_none() {
            return Err(CosignError::OutOfOrder);
        }
        let outcome = self.partials_for(id, &stored, &message, &round).await;
        match &outcome {
            Ok(_) => {
                self.kv
                    .put_if_absent(
                        &signature_key(id),
                        b"1",
                        self.remaining_ttl(stored.expires_at),
                    )
                    .await?;
            }
            // The phone may try another PIN in the same session until the key locks.
            Err(
                CosignError::PinIncorrect { .. } | CosignError::Storage(_) | CosignError::Kv(_),
            ) => {
                self.kv
                    .put_if_absent(&round_key(id), b"1", self.remaining_ttl(stored.expires_at))
                    .await?;
            }
            Err(_) => {}
        }
        outcome.map(|partials| channel.seal_partials(&partials))
    }

    async fn partials_for(
        &self,
        id: &str,
        stored: &StoredSession,
        message: &[u8],
        round: &ClientRound,
    ) -> Result<ServerPartials, CosignError> {
        let serial = CertificateSerial::parse(&stored.serial)
            .map_err(|_| CosignError::Corrupt { what: "session" })?;
        let share = self
            .store
            .key_share(&serial)
            .await?
            .ok_or(CosignError::SessionNotFound)?;
        ensure_usable(&share, stored.purpose, self.clock.now())?;
        let p1 = self
            .key_wrap
            .decrypt(&phone_share_label(&serial), &share.sealed_phone_share)?;
        let p1 = parse_public_key(&p1).map_err(|_| CosignError::Corrupt {
            what: "phone public share",
        })?;
        match verify_pin_proof(&p1, &round.q1, id.as_bytes(), message, &round.proof) {
            Ok(()) => {
                if !self.store.record_pin_success(&serial).await? {
                    return Err(CosignError::KeyLocked);
                }
            }
            Err(SignerError::ProofRejected) => {
                let failure_audit = AuditDraft {
                    actor: Actor::Phone,
                    action: SIGNATURE_PIN_FAILED,
                    subject: serial.to_string(),
                    detail: signature_detail(id, stored.purpose, message),
                };
                let lock_audit = AuditDraft {
                    actor: Actor::System,
                    action: "key.lock",
                    subject: serial.to_string(),
                    detail: serde_json::json!({
                        "reason": "pin_failures",
                        "failures": MAX_PIN_FAILURES,
                    }),
                };
                tracing::info!(serial = %serial, "wrong PIN proof");
                return Err(
                    match self
                        .store
                        .record_pin_failure(&serial, MAX_PIN_FAILURES, failure_audit, lock_audit)
                        .await?
                    {
                        PinFailure::Remaining(remaining) => CosignError::PinIncorrect { remaining },
                        PinFailure::Locked => CosignError::KeyLocked,
                    },
                );
            }
            Err(source) => {
                return Err(CosignError::Malformed {
                    what: "proof",
                    source,
                });
            }
        }
        let secret = self
            .key_wrap
            .decrypt(&share_label(&serial), &share.sealed_server_share)?;
        let corrupt = || CosignError::Corrupt {
            what: "server share",
        };
        let bytes: &[u8; 32] = secret.as_slice().try_into().map_err(|_| corrupt())?;
        let d2 = ServerShare::from_bytes(bytes).map_err(|_| corrupt())?;
        let public_key = public_key_of(&share.certificate.public_key)?;
        // e comes from the session's own message, never from the client.
        let e = message_digest(&public_key, message).map_err(|_| CosignError::Corrupt {
            what: "certificate public key",
        })?;
        d2.partials(&e, &round.q1, &entropy())
            .map_err(|source| CosignError::Malformed { what: "q1", source })
    }

    /// Step 3: verifies the phone's final signature over the session's message and closes the
    /// session.
    #[tracing::instrument(skip(self, signature), fields(session = %id))]
    pub async fn finish(
        &self,
        id: &str,
        signature: &[u8],
    ) -> Result<CompletedSignature, CosignError> {
        let (stored, message) = self.session(id).await?;
        let serial = CertificateSerial::parse(&stored.serial)
            .map_err(|_| CosignError::Corrupt { what: "session" })?;
        mcert_signer::signature_from_der(signature).map_err(|source| CosignError::Malformed {
            what: "signature",
            source,
        })?;
        if self.kv.take(&signature_key(id)).await?.is_none() {
            return Err(CosignError::OutOfOrder);
        }
        self.kv.take(&session_key(id)).await?;
        let share = self
            .store
            .key_share(&serial)
            .await?
            .ok_or(CosignError::SessionNotFound)?;
        let public_key = public_key_of(&share.certificate.public_key)?;
        mcert_signer::verify(&public_key, &message, signature)
            .map_err(|_| CosignError::SignatureInvalid)?;
        // The key has signed, whatever becomes of the purpose: the log says so from now.
        self.store
            .log_signature(AuditDraft {
                actor: Actor::Phone,
                action: SIGNATURE_MADE,
                subject: serial.to_string(),
                detail: signature_detail(id, stored.purpose, &message),
            })
            .await?;
        Ok(CompletedSignature {
            session_id: id.to_string(),
            serial,
            purpose: stored.purpose,
            message,
            signature: signature.to_vec(),
        })
    }

    /// The published co-signing transport key.
    pub fn transport_public_key(&self) -> sm2::PublicKey {
        *self.transport.public_key()
    }

    /// The key of `serial` if `device_token` is the one issued to its phone.
    pub async fn authenticate(
        &self,
        serial: &CertificateSerial,
        device_token: &str,
    ) -> Result<KeyShareRecord, CosignError> {
        use subtle::ConstantTimeEq as _;
        let share = self
            .store
            .key_share(serial)
            .await?
            .ok_or(CosignError::DeviceTokenInvalid)?;
        let expected = share
            .device_token_hash
            .as_deref()
            .ok_or(CosignError::DeviceTokenInvalid)?;
        let presented = tokens::digest(device_token);
        if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(share)
        } else {
            Err(CosignError::DeviceTokenInvalid)
        }
    }

    /// Unlocks the locked key of `serial` after its holder re-verified (real-name, face and SMS
    /// again), audited as `key.unlock` by `actor` with the holder's `notice` queued in the same
    /// transaction; false if it was not locked.
    pub async fn unlock(
        &self,
        serial: &CertificateSerial,
        actor: &Actor,
        how: &str,
        notice: Option<NoticeDraft>,
    ) -> Result<bool, CosignError> {
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "key.unlock",
            subject: serial.to_string(),
            detail: serde_json::json!({ "verified_by": how }),
        };
        Ok(self.store.unlock(serial, audit, notice).await?)
    }

    /// The key of `serial`, if it has one.
    pub async fn key_share(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<KeyShareRecord>, CosignError> {
        Ok(self.store.key_share(serial).await?)
    }

    /// Status of a key for its holder.
    pub fn status(share: &KeyShareRecord) -> KeyStatus {
        KeyStatus {
            serial: share.certificate.serial.clone(),
            status: share.certificate.status,
            locked: share.locked_at.is_some(),
            remaining_attempts: MAX_PIN_FAILURES.saturating_sub(share.failed_pin_attempts),
        }
    }
}

/// Whether the key may co-sign for `purpose` now.
/// Whether the key share's certificate may take part in a session for `purpose` at `now`: a
/// key enrolment signs for a pending certificate, every other purpose for one in force; a
/// locked key signs for nothing.
fn ensure_usable(
    share: &KeyShareRecord,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), CosignError> {
    let certificate = &share.certificate;
    let standing = Standing::of(certificate, now);
    let usable = match purpose {
        Purpose::KeyEnrolment => standing == Standing::Pending,
        Purpose::VerifyPin
        | Purpose::ChangePin
        | Purpose::Login
        | Purpose::GrantChange
        | Purpose::Revocation
        | Purpose::Renewal
        | Purpose::Seal
        | Purpose::SealPdf => standing.in_force(),
    };
    if !usable {
        return Err(CosignError::NotUsable {
            serial: certificate.serial.clone(),
            standing,
        });
    }
    if share.locked_at.is_some() {
        return Err(CosignError::KeyLocked);
    }
    Ok(())
}

impl Describe for CosignError {
    fn describe(&self) -> Description {
        match self {
            Self::SessionNotFound => Description::new(
                code::COSIGN_SESSION_NOT_FOUND,
                "签名会话不存在或已过期（有效期 5 分钟），请重新发起",
            ),
            Self::OutOfOrder => Description::new(
                code::COSIGN_OUT_OF_ORDER,
                "该签名会话的这一步已经完成，请勿重复提交；如需再次签名请重新发起",
            ),
            Self::PinIncorrect { remaining } => Description::new(
                code::PIN_INCORRECT,
                format!("PIN 码错误，还可尝试 {remaining} 次；连续错误 6 次证书将被锁定"),
            )
            .with_remaining_attempts(*remaining),
            Self::KeyLocked => Description::new(
                code::KEY_LOCKED,
                "PIN 码连续错误 6 次，证书已锁定：请在小程序中重新完成实名认证、人脸识别和短信验证后解锁",
            ),
            Self::NotUsable { standing, .. } => Description::new(
                code::CERTIFICATE_NOT_USABLE,
                format!("该证书{}，不能用于签名", standing.label_zh()),
            ),
            Self::Malformed { source, .. } => match source {
                SignerError::InvalidPoint => Description::new(
                    code::INVALID_POINT,
                    "提交的椭圆曲线点无效（不在 SM2 曲线上或为无穷远点），请更新小程序后重试",
                ),
                SignerError::InvalidScalar => Description::new(
                    code::INVALID_SCALAR,
                    "提交的数值超出 SM2 取值范围，请更新小程序后重试",
                ),
                SignerError::InvalidLength { .. } => Description::new(
                    code::INVALID_LENGTH,
                    "提交的数据长度不正确，请更新小程序后重试",
                ),
                SignerError::InvalidSignatureEncoding => Description::new(
                    code::SIGNATURE_MALFORMED,
                    "签名不是规范的 DER 编码，请更新小程序后重试",
                ),
                _ => Description::new(code::INVALID_PROOF, "PIN 证明格式错误，请更新小程序后重试"),
            },
            Self::RoundOutdated { .. } => Description::new(
                code::COSIGN_PROTOCOL_OUTDATED,
                "小程序版本过旧，签名协议已升级（签名数据须加密传输）：请更新小程序后重试",
            ),
            Self::RoundUndecryptable => Description::new(
                code::COSIGN_ROUND_UNDECRYPTABLE,
                "签名数据无法解密（已被篡改、不属于本次签名会话或服务器传输密钥不符），请重新发起签名",
            ),
            Self::SignatureInvalid => Description::new(
                code::SIGNATURE_INVALID,
                "签名验证失败，本次签名会话已结束，请重新发起",
            ),
            Self::DeviceTokenInvalid => Description::new(
                code::DEVICE_TOKEN_INVALID,
                "设备凭证无效：请在下载该证书的手机上操作，或重新下载证书",
            ),
            Self::Storage(e) => e.describe(),
            Self::Ca(e) => e.describe(),
            Self::Kv(e) => e.describe(),
            Self::Corrupt { .. } => Description::internal(),
        }
    }
}
