//! Sealing a document (加盖电子印章, DESIGN.md §8): a portal asks for the employer's seal on a
//! document, given by its SM3 hash and title or as a PDF; the holder scans the QR, sees what
//! will be sealed and confirms with the PIN.
//!
//! A sealing session is a login session ([`crate::login`]) with a [`SealOrder`]: the same QR,
//! scan, number matching, page events, expiry and compare-and-set transitions. What differs is
//! the message the phone co-signs, exactly the DER of GB/T 38540 `TBS_Sign` (built here, never
//! by a client), and what the signature yields: the `SES_Signature`, and for a PDF a second
//! co-signature over the signed attributes of the stamped PDF's detached CMS signature, whose
//! message digest is the `TBS_Sign`'s `dataHash`. The portal collects the result with its
//! client credentials.

use std::sync::Arc;
use std::time::Duration;

use der::{
    Decode as _, Encode as _,
    asn1::{BitString, GeneralizedTime, Ia5String, OctetString},
};
use serde::{Deserialize, Serialize};

use super::{SealError, SealRecord, SealSignatureRecord, Seals, drawing};
use crate::{
    audit::{Actor, AuditDraft},
    ca::{Authority, Role},
    certificates::Standing,
    clock::Clock,
    cosign::{CompletedSignature, CosignError, Cosigner, OpenedSession, Purpose},
    failure::{Describe, Description, StorageError, code},
    grants::Grants,
    kv::{Kv, KvError},
    login::{Created, LOGIN_TTL, LoginError, LoginSession, LoginState, Logins, Requester},
    people::{People, WxUserRecord},
    portals::Portal,
};
use mcert_ses::pdf;

/// The business item a sub-certificate needs to seal (单位文件资料授权签章); a primary
/// certificate may always seal.
pub const SEAL_ITEM: &str = "document_seal";

/// Longest document title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// How long a sealing session's documents stay in the kv store: its QR's life and the minute
/// after it in which a confirmation can still complete.
const DOCUMENT_TTL: Duration = Duration::from_secs(LOGIN_TTL.as_secs() + 180);

/// Where the seal goes on a PDF page: the seal's centre, mm from the page's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// 1-based page number.
    pub page: u32,
    /// From the left edge, mm.
    pub x_mm: f32,
    /// From the top edge, mm.
    pub y_mm: f32,
}

impl From<Placement> for pdf::Placement {
    fn from(p: Placement) -> Self {
        Self {
            page: p.page,
            x_mm: p.x_mm,
            y_mm: p.y_mm,
        }
    }
}

/// What is sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SealedDocument {
    /// A document the portal keeps, named by its SM3 (hex).
    Hash {
        /// SM3 of the document, hex.
        sm3: String,
    },
    /// A PDF the portal uploaded, to be stamped.
    Pdf {
        /// SM3 of the uploaded file, hex.
        sm3: String,
        /// Its size, bytes.
        size: u64,
        /// Where the seal goes.
        placement: Placement,
    },
}

/// What a sealing session seals, kept in its login session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealOrder {
    /// The employer whose seal is asked for.
    pub uscc: String,
    /// Its name.
    pub employer_name: String,
    /// The seal.
    pub seal_id: i64,
    /// The document's title, as the phone shows it.
    pub title: String,
    /// The document.
    pub document: SealedDocument,
    /// For a PDF, the co-signing session of the CMS signature once the seal is signed.
    #[serde(default)]
    pub pdf_cosign_session: Option<String>,
    /// A hosted session: where mcert's page sends the browser back to (on the portal's origin).
    #[serde(default)]
    pub return_url: Option<String>,
}

/// A portal's request to seal.
#[derive(Debug, Clone)]
pub struct SealRequest {
    /// The employer.
    pub uscc: String,
    /// The document's title.
    pub title: String,
    /// The document.
    pub document: RequestedDocument,
    /// For a hosted session (mcert's page shows the QR): where the browser goes back to.
    pub return_url: Option<String>,
}

/// The document of a [`SealRequest`].
#[derive(Debug, Clone)]
pub enum RequestedDocument {
    /// Its SM3, hex as sent.
    Hash(String),
    /// A PDF and where the seal goes.
    Pdf {
        /// The file.
        bytes: Vec<u8>,
        /// Where the seal goes.
        placement: Placement,
    },
}

/// Why a sealing step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealingError {
    /// A title that is empty, too long or has control characters.
    #[error("invalid title")]
    TitleInvalid,
    /// A hash that is not 64 hex digits.
    #[error("invalid document hash")]
    HashInvalid,
    /// A return URL not on one of the portal's registered origins.
    #[error("return URL not on the portal's origins")]
    ReturnUrlInvalid,
    /// A PDF that cannot be stamped.
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
    /// A sub-certificate without the seal item at the portal.
    #[error("certificate not granted sealing")]
    NotGranted,
    /// The signed message is not the session's.
    #[error("signature is not over this session's seal message")]
    MessageMismatch,
    /// The session or the certificate.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The seal.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Co-signing.
    #[error(transparent)]
    Cosign(#[from] CosignError),
    /// Storage.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The kv store.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A structure did not encode.
    #[error("seal signature encoding: {0}")]
    Der(#[from] der::Error),
    /// The thread stamping the PDF stopped before it finished.
    #[error("the PDF stamping task stopped")]
    StampingStopped,
    /// Stored state of a sealing session that does not read back (a fault of ours).
    #[error("sealing state is corrupt: {what}")]
    Corrupt {
        /// What.
        what: &'static str,
    },
    /// Too many verifications from one address.
    #[error("verification rate limited")]
    VerifyRateLimited,
}

impl Describe for SealingError {
    fn describe(&self) -> Description {
        match self {
            Self::TitleInvalid => Description::new(
                code::SEAL_REQUEST_INVALID,
                format!(
                    "文件标题不能为空，不能超过 {MAX_TITLE_CHARS} 个字，也不能含有换行等控制字符"
                ),
            ),
            Self::ReturnUrlInvalid => Description::new(
                code::SEAL_REQUEST_INVALID,
                "return_url 必须是门户登记的网址（同一协议、域名和端口）下的地址",
            ),
            Self::HashInvalid => Description::new(
                code::SEAL_HASH_INVALID,
                "文件摘要应为 SM3 杂凑值：64 位十六进制字符（32 字节）",
            ),
            Self::Pdf(e) => Description::new(pdf_code(e), e.message_zh()),
            Self::NotGranted => Description::new(
                code::SEAL_NOT_GRANTED,
                "该证书未获授权“单位文件资料授权签章”，不能盖章：请联系单位主证书持有人在事项授权中授予",
            ),
            Self::MessageMismatch => Description::new(
                code::SEAL_MESSAGE_MISMATCH,
                "签名内容与当前盖章请求不符，本次盖章无效，请重新扫码",
            ),
            Self::Login(e) => e.describe(),
            Self::Seal(e) => e.describe(),
            Self::Cosign(e) => e.describe(),
            Self::Storage(e) => e.describe(),
            Self::Kv(e) => e.describe(),
            Self::VerifyRateLimited => Description::new(
                code::SEAL_VERIFY_RATE_LIMITED,
                "验证过于频繁，请一分钟后再试",
            ),
            Self::Der(_) | Self::StampingStopped | Self::Corrupt { .. } => Description::internal(),
        }
    }
}

fn pdf_code(error: &pdf::PdfError) -> crate::failure::Code {
    match error.code() {
        "pdf_too_large" => code::PDF_TOO_LARGE,
        "pdf_encrypted" => code::PDF_ENCRYPTED,
        "pdf_page_missing" => code::PDF_PAGE_MISSING,
        "pdf_placement_invalid" => code::PDF_PLACEMENT_INVALID,
        "pdf_too_many_signatures" => code::PDF_TOO_MANY_SIGNATURES,
        _ => code::PDF_MALFORMED,
    }
}

/// What a seal signature completed.
#[derive(Debug)]
pub enum SealStep {
    /// The seal is signed and the portal may collect it.
    Sealed,
    /// The seal is signed; the stamped PDF's CMS signature is next, in this session.
    PdfNext(OpenedSession),
}

/// The seal signature a portal collects.
#[derive(Debug)]
pub struct SealResult {
    /// The session, now consumed.
    pub session: LoginSession,
    /// The signature.
    pub signature: SealSignatureRecord,
}

fn document_key(id: &str) -> String {
    format!("seal-doc:{id}")
}

fn prepared_key(id: &str, data_hash: &[u8]) -> String {
    format!("seal-prepared:{id}:{}", hex::encode(data_hash))
}

fn pdf_round_key(cosign_id: &str) -> String {
    format!("seal-pdf-round:{cosign_id}")
}

/// The second round of a PDF seal: which session and which seal signature it completes.
#[derive(Debug, Serialize, Deserialize)]
struct PdfRound {
    login_id: String,
    ses_signature: String,
    data_hash: String,
}

/// `pdf` with `seal` drawn at `placement` and a signature placeholder.
fn stamp(
    pdf: &[u8],
    placement: Placement,
    seal: &SealRecord,
    font: &[u8],
    fields: &pdf::SignatureFields,
) -> Result<pdf::Prepared, SealingError> {
    let (width_mm, height_mm) = (seal.width_mm as f32, seal.height_mm as f32);
    let appearance = match seal.kind {
        crate::applications::SealKind::Generated => {
            let size = drawing::SealSize {
                diameter: width_mm,
                ..drawing::SealSize::default()
            };
            let drawn = drawing::RoundSeal::new(&seal.employer_name, font, size)
                .map_err(SealError::from)?;
            pdf::Appearance::Operators {
                operators: drawn.pdf_operators(0.0, 0.0),
                width_mm,
                height_mm,
            }
        }
        crate::applications::SealKind::Traditional => pdf::Appearance::Png {
            png: seal.picture.clone().ok_or(SealError::NotMade)?,
            width_mm,
            height_mm,
        },
    };
    Ok(pdf::prepare(pdf, &placement.into(), &appearance, fields)?)
}

/// A prepared PDF as the kv store keeps it: `content_sm3 ‖ byte_range (4 × u64 BE) ‖ bytes`.
fn stored_prepared(prepared: &pdf::Prepared) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + prepared.bytes.len());
    out.extend_from_slice(&prepared.content_sm3);
    for n in prepared.byte_range {
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&prepared.bytes);
    out
}

fn prepared_of(mut stored: Vec<u8>) -> Option<pdf::Prepared> {
    if stored.len() < 64 {
        return None;
    }
    let bytes = stored.split_off(64);
    let content_sm3: [u8; 32] = stored.get(..32)?.try_into().ok()?;
    let mut byte_range = [0usize; 4];
    for (i, n) in byte_range.iter_mut().enumerate() {
        let at = 32 + 8 * i;
        *n = usize::try_from(u64::from_be_bytes(stored.get(at..at + 8)?.try_into().ok()?)).ok()?;
    }
    Some(pdf::Prepared {
        bytes,
        byte_range,
        content_sm3,
    })
}

/// The `propertyInfo` of a `TBS_Sign`: the session and the title, percent-encoded (IA5).
pub fn property_info(session_id: &str, title: &str) -> String {
    let mut out = format!("session={session_id}&title=");
    for byte in title.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` if it lies on one of the portal's registered origins.
fn portal_url(portal: &Portal, url: &str) -> Result<String, SealingError> {
    let parsed = url::Url::parse(url).map_err(|_| SealingError::ReturnUrlInvalid)?;
    let origin = parsed.origin().ascii_serialization();
    if !matches!(parsed.scheme(), "https" | "http")
        || !portal.origins.iter().any(|o| o == &origin)
        || parsed.fragment().is_some()
    {
        return Err(SealingError::ReturnUrlInvalid);
    }
    Ok(parsed.to_string())
}

fn sm3_hex(bytes: &[u8]) -> String {
    hex::encode(mcert_signer::sm3_digest(bytes))
}

/// The sealing service.
pub struct Sealing {
    logins: Arc<Logins>,
    seals: Arc<Seals>,
    people: Arc<People>,
    cosigner: Arc<Cosigner>,
    authority: Arc<Authority>,
    grants: Arc<Grants>,
    kv: Arc<dyn Kv>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealing").finish_non_exhaustive()
    }
}

impl Sealing {
    /// Over the login sessions and the services a seal touches.
    #[expect(
        clippy::too_many_arguments,
        reason = "the services a seal touches, each once"
    )]
    pub fn new(
        logins: Arc<Logins>,
        seals: Arc<Seals>,
        people: Arc<People>,
        cosigner: Arc<Cosigner>,
        authority: Arc<Authority>,
        grants: Arc<Grants>,
        kv: Arc<dyn Kv>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            logins,
            seals,
            people,
            cosigner,
            authority,
            grants,
            kv,
            clock,
        }
    }

    /// The seals.
    pub fn seals(&self) -> &Arc<Seals> {
        &self.seals
    }

    /// A new sealing session for `portal`: checks the request and that the employer has a seal
    /// made (a PDF is stamped once on trial, so a PDF that cannot be stamped is refused now,
    /// not on the phone), and keeps the PDF for the confirmation.
    pub async fn create(
        &self,
        portal: &Portal,
        request: SealRequest,
        requester: Requester<'_>,
    ) -> Result<Created, SealingError> {
        let title = request.title.trim().to_string();
        if title.is_empty()
            || title.chars().count() > MAX_TITLE_CHARS
            || title.chars().any(char::is_control)
        {
            return Err(SealingError::TitleInvalid);
        }
        let return_url = match request.return_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(portal_url(portal, url)?),
        };
        let (seal, _) = self.seals.current(request.uscc.trim()).await?;
        let (document, pdf_bytes) = match request.document {
            RequestedDocument::Hash(sm3) => {
                let sm3 = sm3.trim().to_ascii_lowercase();
                if sm3.len() != 64 || hex::decode(&sm3).is_err() {
                    return Err(SealingError::HashInvalid);
                }
                (SealedDocument::Hash { sm3 }, None)
            }
            RequestedDocument::Pdf { bytes, placement } => {
                if bytes.len() > pdf::MAX_PDF_BYTES {
                    return Err(pdf::PdfError::TooLarge {
                        size: bytes.len(),
                        limit: pdf::MAX_PDF_BYTES,
                    }
                    .into());
                }
                let (_, bytes) = self
                    .stamp(bytes, placement, &seal, &seal.employer_name)
                    .await?;
                let document = SealedDocument::Pdf {
                    sm3: sm3_hex(&bytes),
                    size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
                    placement,
                };
                (document, Some(bytes))
            }
        };
        let order = SealOrder {
            uscc: seal.uscc.clone(),
            employer_name: seal.employer_name.clone(),
            seal_id: seal.id,
            title,
            document,
            pdf_cosign_session: None,
            return_url,
        };
        let created = self
            .logins
            .create(portal, Vec::new(), None, Some(order), requester)
            .await?;
        if let Some(bytes) = pdf_bytes {
            self.kv
                .put_if_absent(&document_key(&created.session.id), &bytes, DOCUMENT_TTL)
                .await?;
        }
        Ok(created)
    }

    /// The PDF with the seal drawn where asked and the signature's placeholder, made on a
    /// blocking thread (a large PDF takes a while to parse).
    async fn stamp(
        &self,
        pdf_bytes: Vec<u8>,
        placement: Placement,
        seal: &SealRecord,
        signer: &str,
    ) -> Result<(pdf::Prepared, Vec<u8>), SealingError> {
        let font = self.seals.font_arc();
        let seal = seal.clone();
        let fields = pdf::SignatureFields {
            name: signer.to_string(),
            reason: format!("{} 电子印章", seal.employer_name),
            signing_time: self.clock.now().timestamp(),
        };
        tokio::task::spawn_blocking(move || {
            let prepared = stamp(&pdf_bytes, placement, &seal, &font, &fields)?;
            Ok((prepared, pdf_bytes))
        })
        .await
        .map_err(|_| SealingError::StampingStopped)?
    }

    /// The phone confirms with `serial` and the tapped code: opens a co-signing session over
    /// DER(`TBS_Sign`) naming the employer's current seal (made anew if its certificate list
    /// changed), the time, the document's hash (for a PDF, of the stamped revision) and the
    /// session and title.
    pub async fn start_confirmation(
        &self,
        id: &str,
        user: &WxUserRecord,
        serial: &str,
        match_code: &str,
    ) -> Result<OpenedSession, SealingError> {
        self.logins
            .start_confirmation_with(
                id,
                user,
                serial,
                match_code,
                async |session, certificate| {
                    let order = session.seal.as_ref().ok_or(LoginError::State {
                        state: session.state,
                    })?;
                    self.ensure_granted(certificate, &session.client_id).await?;
                    let (seal, structure) = self.seals.structure_of(order.seal_id).await?;
                    let data_hash = match &order.document {
                        SealedDocument::Hash { sm3 } => {
                            hex::decode(sm3).map_err(|_| SealingError::HashInvalid)?
                        }
                        SealedDocument::Pdf { placement, .. } => {
                            let original = self
                                .kv
                                .get(&document_key(&session.id))
                                .await?
                                .ok_or(LoginError::Expired)?;
                            let signer =
                                format!("{}（{}）", seal.employer_name, certificate.holder_name);
                            let (prepared, _) =
                                self.stamp(original, *placement, &seal, &signer).await?;
                            let hash = prepared.content_sm3.to_vec();
                            self.kv
                                .put_if_absent(
                                    &prepared_key(&session.id, &hash),
                                    &stored_prepared(&prepared),
                                    DOCUMENT_TTL,
                                )
                                .await?;
                            hash
                        }
                    };
                    let now = self.clock.now();
                    let tbs = mcert_ses::TbsSignV4 {
                        version: 4,
                        eseal: structure,
                        time_info: GeneralizedTime::from_unix_duration(Duration::from_secs(
                            u64::try_from(now.timestamp()).unwrap_or(0),
                        ))?,
                        data_hash: BitString::from_bytes(&data_hash)?,
                        property_info: Ia5String::new(&property_info(&session.id, &order.title))?,
                        ext_datas: None,
                    };
                    Ok((Purpose::Seal, tbs.to_der()?))
                },
            )
            .await
    }

    /// A verified co-signature of a seal (`Purpose::Seal`) or of a stamped PDF's signed
    /// attributes (`Purpose::SealPdf`).
    pub async fn complete(&self, signed: CompletedSignature) -> Result<SealStep, SealingError> {
        match signed.purpose {
            Purpose::SealPdf => self.complete_pdf(signed).await,
            _ => self.complete_seal(signed).await,
        }
    }

    /// The session a signature belongs to, still scanned by the same user with this co-signing
    /// session, and its order.
    async fn checked_session(
        &self,
        id: &str,
        cosign_id: &str,
        pdf_round: bool,
    ) -> Result<(LoginSession, SealOrder, i64), SealingError> {
        let session = self.logins.get(id).await?;
        let order = session.seal.clone().ok_or(SealingError::MessageMismatch)?;
        let current = if pdf_round {
            order.pdf_cosign_session.as_deref()
        } else {
            session.cosign_session.as_deref()
        };
        if current != Some(cosign_id) {
            return Err(SealingError::MessageMismatch);
        }
        let user_id = match (session.state, session.scanned_by) {
            (LoginState::Scanned, Some(user_id)) => user_id,
            (LoginState::Expired, _) => return Err(LoginError::Expired.into()),
            (state, _) => return Err(LoginError::State { state }.into()),
        };
        Ok((session, order, user_id))
    }

    /// A sub-certificate may seal only with the item [`SEAL_ITEM`] at the portal.
    async fn ensure_granted(
        &self,
        certificate: &crate::ca::CertificateRecord,
        client_id: &str,
    ) -> Result<(), SealingError> {
        if certificate.role == Role::Sub
            && !self
                .grants
                .allowed_at(certificate, client_id)
                .await?
                .items
                .iter()
                .any(|item| item == SEAL_ITEM)
        {
            return Err(SealingError::NotGranted);
        }
        Ok(())
    }

    /// The signer's certificate DER, after checking it is the scanning person's, in force and
    /// not locked.
    async fn signer_certificate(
        &self,
        (user_id, client_id): (i64, &str),
        signed: &CompletedSignature,
    ) -> Result<crate::ca::CertificateRecord, SealingError> {
        let user = self.people.user(user_id).await.map_err(LoginError::from)?;
        let person = self.people.person(&user).await.map_err(LoginError::from)?;
        let certificate = self.logins.held(&person, signed.serial.as_str()).await?;
        // A withdrawn item stops at once, even between the PIN and the signature.
        self.ensure_granted(&certificate, client_id).await?;
        if self
            .cosigner
            .key_share(&signed.serial)
            .await?
            .is_some_and(|share| share.locked_at.is_some())
        {
            return Err(CosignError::KeyLocked.into());
        }
        Ok(certificate)
    }

    async fn complete_seal(&self, signed: CompletedSignature) -> Result<SealStep, SealingError> {
        let tbs = mcert_ses::TbsSignV4::from_der(&signed.message)
            .map_err(|_| SealingError::MessageMismatch)?;
        // The session, read from the message as the phone read it.
        let Ok(mcert_signer::message::SignedMessage::SealSign(shown)) =
            mcert_signer::message::SignedMessage::decode(&signed.message)
        else {
            return Err(SealingError::MessageMismatch);
        };
        let id = shown.session_id;
        let (session, order, user_id) =
            self.checked_session(&id, &signed.session_id, false).await?;
        let certificate = self
            .signer_certificate((user_id, &session.client_id), &signed)
            .await?;
        let der = certificate.der.clone().ok_or(SealingError::Corrupt {
            what: "certificate without DER",
        })?;
        let data_hash = tbs.data_hash.raw_bytes().to_vec();
        let ses = mcert_ses::SignatureV4 {
            to_sign: tbs,
            cert: OctetString::new(der)?,
            signature_alg_id: mcert_ses::SM2_WITH_SM3,
            signature: BitString::from_bytes(&signed.signature)?,
            time_stamp: None,
        }
        .to_der()?;
        match &order.document {
            SealedDocument::Hash { .. } => {
                self.finish(
                    &session,
                    &order,
                    &certificate,
                    ses,
                    &data_hash,
                    None,
                    (user_id, &signed.session_id),
                )
                .await?;
                Ok(SealStep::Sealed)
            }
            SealedDocument::Pdf { .. } => {
                let attributes =
                    pdf::signed_attributes(&hash32(&data_hash)?, self.clock.now().timestamp())?;
                let opened = self
                    .cosigner
                    .open(&signed.serial, Purpose::SealPdf, attributes)
                    .await?;
                let round = PdfRound {
                    login_id: id.clone(),
                    ses_signature: hex::encode(&ses),
                    data_hash: hex::encode(&data_hash),
                };
                let round = serde_json::to_vec(&round)
                    .map_err(|_| SealingError::Corrupt { what: "pdf round" })?;
                self.kv
                    .put_if_absent(&pdf_round_key(&opened.id), &round, DOCUMENT_TTL)
                    .await?;
                let cosign_id = opened.id.clone();
                let first_round = signed.session_id.clone();
                self.logins
                    .transition(&id, |session| {
                        if session.state != LoginState::Scanned
                            || session.cosign_session.as_deref() != Some(first_round.as_str())
                        {
                            return Err(LoginError::State {
                                state: session.state,
                            });
                        }
                        if let Some(order) = session.seal.as_mut() {
                            order.pdf_cosign_session = Some(cosign_id.clone());
                        }
                        Ok(())
                    })
                    .await?;
                Ok(SealStep::PdfNext(opened))
            }
        }
    }

    async fn complete_pdf(&self, signed: CompletedSignature) -> Result<SealStep, SealingError> {
        let round = self
            .kv
            .get(&pdf_round_key(&signed.session_id))
            .await?
            .ok_or(SealingError::MessageMismatch)?;
        let round: PdfRound = serde_json::from_slice(&round)
            .map_err(|_| SealingError::Corrupt { what: "pdf round" })?;
        let (session, order, user_id) = self
            .checked_session(&round.login_id, &signed.session_id, true)
            .await?;
        let certificate = self
            .signer_certificate((user_id, &session.client_id), &signed)
            .await?;
        let data_hash = hex::decode(&round.data_hash)
            .map_err(|_| SealingError::Corrupt { what: "pdf round" })?;
        match mcert_signer::message::SignedMessage::decode(&signed.message) {
            Ok(mcert_signer::message::SignedMessage::PdfSignedAttributes(attributes))
                if attributes.message_digest.as_slice() == data_hash.as_slice() => {}
            _ => return Err(SealingError::MessageMismatch),
        }
        let prepared = self
            .kv
            .get(&prepared_key(&session.id, &data_hash))
            .await?
            .ok_or(LoginError::Expired)?;
        let prepared = prepared_of(prepared).ok_or(SealingError::Corrupt {
            what: "prepared pdf",
        })?;
        let chain = vec![
            certificate
                .der
                .clone()
                .ok_or(SealingError::MessageMismatch)?,
            self.authority.issuing().to_der()?,
            self.authority.root().to_der()?,
        ];
        let stamped = pdf::finish(prepared, &signed.message, &signed.signature, &chain)?;
        let ses = hex::decode(&round.ses_signature)
            .map_err(|_| SealingError::Corrupt { what: "pdf round" })?;
        self.finish(
            &session,
            &order,
            &certificate,
            ses,
            &data_hash,
            Some(stamped),
            (user_id, &signed.session_id),
        )
        .await?;
        Ok(SealStep::Sealed)
    }

    /// Records the seal signature (in the signature log's audit chain too) and turns the
    /// session confirmed; the page and the portal hear of it.
    #[expect(clippy::too_many_arguments, reason = "what one seal signature records")]
    async fn finish(
        &self,
        session: &LoginSession,
        order: &SealOrder,
        certificate: &crate::ca::CertificateRecord,
        ses_signature: Vec<u8>,
        data_hash: &[u8],
        pdf: Option<Vec<u8>>,
        (user_id, cosign_id): (i64, &str),
    ) -> Result<SealSignatureRecord, SealingError> {
        let seal = mcert_ses::SignatureV4::from_der(&ses_signature).map_err(|_| {
            SealingError::Corrupt {
                what: "seal signature",
            }
        })?;
        // Still this confirmation's, just before anything is stored (a cancel, a denial or the
        // expiry meanwhile leaves no seal behind).
        let pdf_round = pdf.is_some();
        self.checked_session(&session.id, cosign_id, pdf_round)
            .await?;
        let seal_version = self.seals.seal(order.seal_id).await?.version;
        let record = SealSignatureRecord {
            id: 0,
            seal_id: order.seal_id,
            seal_version: structure_version(&seal).unwrap_or(seal_version),
            serial: certificate.serial.to_string(),
            client_id: session.client_id.clone(),
            session_id: session.id.clone(),
            title: order.title.clone(),
            data_hash: hex::encode(data_hash),
            document_sm3: match &order.document {
                SealedDocument::Pdf { sm3, .. } => Some(sm3.clone()),
                SealedDocument::Hash { .. } => None,
            },
            ses_signature,
            pdf,
            signed_at: self.clock.now(),
        };
        let audit = AuditDraft {
            actor: Actor::WeChatUser(user_id),
            action: "seal.sign",
            subject: certificate.serial.to_string(),
            detail: serde_json::json!({
                "session": session.id,
                "client_id": session.client_id,
                "seal_id": order.seal_id,
                "es_id": seal.to_sign.eseal.e_seal_info.es_id.as_str(),
                "title": order.title,
                "document_hash": hex::encode(data_hash),
            }),
        };
        let record = self.seals.store().record_signature(record, audit).await?;
        let user = self.people.user(user_id).await.map_err(LoginError::from)?;
        let person = self.people.person(&user).await.map_err(LoginError::from)?;
        let identity = self
            .logins
            .identity(certificate, &person, &session.client_id)
            .await?;
        self.logins
            .transition(&session.id, |session| {
                let current = if pdf_round {
                    session
                        .seal
                        .as_ref()
                        .and_then(|o| o.pdf_cosign_session.as_deref())
                } else {
                    session.cosign_session.as_deref()
                };
                if session.state != LoginState::Scanned || current != Some(cosign_id) {
                    return Err(LoginError::State {
                        state: session.state,
                    });
                }
                session.state = LoginState::Confirmed;
                session.identity = Some(identity.clone());
                Ok(())
            })
            .await?;
        tracing::info!(session = %session.id, client = %session.client_id, serial = %certificate.serial, "seal signed");
        Ok(record)
    }

    /// The portal collects the seal signature: `confirmed → consumed`, once.
    pub async fn result(&self, id: &str, portal: &Portal) -> Result<SealResult, SealingError> {
        let session = self.session_for(id, portal).await?;
        if session.state != LoginState::Confirmed {
            return Err(LoginError::State {
                state: session.state,
            }
            .into());
        }
        let signature = self.signature(id, portal).await?;
        let session = self.logins.consume(id).await?;
        Ok(SealResult { session, signature })
    }

    /// A sealing session of `portal`.
    pub async fn session_for(
        &self,
        id: &str,
        portal: &Portal,
    ) -> Result<LoginSession, SealingError> {
        let session = self.logins.get(id).await?;
        if session.client_id != portal.client_id || session.seal.is_none() {
            return Err(LoginError::NotFound.into());
        }
        Ok(session)
    }

    /// The seal signature a session of `portal` produced (after its result was collected too).
    pub async fn signature(
        &self,
        id: &str,
        portal: &Portal,
    ) -> Result<SealSignatureRecord, SealingError> {
        // While the session is kept, only a confirmed one has a seal to hand out.
        if let Ok(session) = self.logins.get(id).await
            && !matches!(session.state, LoginState::Confirmed | LoginState::Consumed)
        {
            return Err(LoginError::State {
                state: session.state,
            }
            .into());
        }
        match self.seals.store().signature_of_session(id).await? {
            Some(signature) if signature.client_id == portal.client_id => Ok(signature),
            _ => Err(LoginError::NotFound.into()),
        }
    }

    /// Whether a certificate is in force now (for the seal list shown on the phone).
    pub fn in_force(&self, certificate: &crate::ca::CertificateRecord) -> bool {
        Standing::of(certificate, self.clock.now()).in_force()
    }
}

/// The seal structure's version, from its `esID` (`{uscc}{id:08}{version:04}`).
fn structure_version(signature: &mcert_ses::SignatureV4) -> Option<u32> {
    let es_id = signature.to_sign.eseal.e_seal_info.es_id.as_str();
    es_id.get(es_id.len().checked_sub(4)?..)?.parse().ok()
}

fn hash32(bytes: &[u8]) -> Result<[u8; 32], SealingError> {
    bytes.try_into().map_err(|_| SealingError::MessageMismatch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_property_info_carries_the_session_and_the_percent_encoded_title() {
        let info = property_info("AbCdEfGhIjKlMnOpQrSt_-", "劳动合同 No.7 (2026)");
        assert_eq!(
            info,
            "session=AbCdEfGhIjKlMnOpQrSt_-&title=%E5%8A%B3%E5%8A%A8%E5%90%88%E5%90%8C%20No.7%20%282026%29"
        );
        assert!(info.is_ascii());
    }
}
