//! Electronic seals (电子印章, seed 000 §一 and §三, DESIGN.md §8).
//!
//! An approved application that asked for a seal gets one: drawn by the CA from the employer's
//! name ([`drawing`], CA生成印章, made at once) or cut out of the stamped application form
//! ([`stamp`], 采集传统盖章, made once staff confirm the cut-out). The CA, as seal maker, signs
//! the seal structure (`SESeal` of GB/T 38540, the `mcert-ses` crate) naming the employer's
//! certificates in force; the structure is made anew whenever that list changes, so a seal
//! signature always names a seal that lists its signer. Sealing a document is [`sealing`].

pub mod drawing;
pub mod sealing;
pub mod stamp;
pub mod verification;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use der::{
    Decode as _, Encode as _,
    asn1::{BitString, GeneralizedTime, Ia5String, OctetString},
};
use serde::{Deserialize, Serialize};

use crate::{
    applications::{ApplicationRecord, ApplicationStatus, SealKind},
    audit::{Actor, AuditDraft},
    ca::{Authority, CaError, CertStore, CertificateRecord},
    certificates::Standing,
    clock::Clock,
    failure::{Describe, Description, StorageError, code},
    staff::Reviewer,
    uploads::{UploadError, Uploads},
};

/// Where Debian's `fonts-noto-cjk` puts the bold Noto Serif CJK collection, whose Simplified
/// Chinese face (a Song style, SIL OFL) the CA-generated seals are drawn in.
pub const DEFAULT_SEAL_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc";

/// Width in pixels of a generated seal's PNG (40 mm at about 250 dpi).
pub const PICTURE_PIXELS: u32 = 400;

/// The maker's identifier in every seal header (厂商标识).
pub const MAKER_VID: &str = "mcert";

/// GB/T 38540 seal type 1: 法定名称章 (the unit's official seal).
const SEAL_TYPE_OFFICIAL: u32 = 1;

/// 公司的章状态 (seed 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealStatus {
    /// 未申请印章: the application did not ask for one.
    None,
    /// 制作中: the captured stamp waits for staff (or the application for approval).
    Making,
    /// 已制作.
    Made,
    /// 制作失败, with the reason.
    Failed,
}

impl SealStatus {
    /// Stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Making => "making",
            Self::Made => "made",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::None, Self::Making, Self::Made, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// The seed's label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::None => "未申请印章",
            Self::Making => "制作中",
            Self::Made => "已制作",
            Self::Failed => "制作失败",
        }
    }
}

/// Stored form of a seal kind.
pub fn kind_str(kind: SealKind) -> &'static str {
    match kind {
        SealKind::Generated => "generated",
        SealKind::Traditional => "traditional",
    }
}

/// Parses [`kind_str`]'s form.
pub fn parse_kind(value: &str) -> Option<SealKind> {
    match value {
        "generated" => Some(SealKind::Generated),
        "traditional" => Some(SealKind::Traditional),
        _ => None,
    }
}

/// A seal as stored.
#[derive(Debug, Clone)]
pub struct SealRecord {
    /// Row id.
    pub id: i64,
    /// The application it was made for.
    pub application_id: i64,
    /// The employer.
    pub uscc: String,
    /// The employer's name: the seal's name.
    pub employer_name: String,
    /// Generated or captured.
    pub kind: SealKind,
    /// Where it stands.
    pub status: SealStatus,
    /// Why making it failed.
    pub failure_reason: Option<String>,
    /// The picture, PNG with a transparent background.
    pub picture: Option<Vec<u8>>,
    /// Size on paper, mm.
    pub width_mm: u32,
    /// Size on paper, mm.
    pub height_mm: u32,
    /// The structure's version: 0 before the first `SESeal`.
    pub version: u32,
    /// The newest `SESeal`, DER.
    pub seal_der: Option<Vec<u8>>,
    /// The certificates it lists.
    pub certificate_serials: Vec<String>,
    /// Valid from (the earliest listed certificate's start).
    pub valid_start: Option<DateTime<Utc>>,
    /// Valid until (the latest listed certificate's end).
    pub valid_end: Option<DateTime<Utc>>,
    /// The staff member who confirmed or rejected a captured stamp.
    pub decided_by: Option<String>,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl SealRecord {
    /// The seal's code in its structures (电子印章标识): IA5, unique per seal and version.
    pub fn es_id(&self, version: u32) -> String {
        format!("{}{:08}{:04}", self.uscc, self.id, version)
    }
}

/// A seal to record.
#[derive(Debug, Clone)]
pub struct NewSeal {
    /// The application.
    pub application_id: i64,
    /// The employer.
    pub uscc: String,
    /// The employer's name.
    pub employer_name: String,
    /// Generated or captured.
    pub kind: SealKind,
    /// Made, waiting for staff, or failed.
    pub status: SealStatus,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// The picture.
    pub picture: Option<Vec<u8>>,
    /// Size, mm.
    pub width_mm: u32,
    /// Size, mm.
    pub height_mm: u32,
}

/// A new version of a seal's structure.
#[derive(Debug, Clone)]
pub struct SealStructure {
    /// Its version (one more than the stored one).
    pub version: u32,
    /// `SESeal`, DER.
    pub der: Vec<u8>,
    /// The certificates it lists.
    pub certificate_serials: Vec<String>,
    /// Valid from.
    pub valid_start: DateTime<Utc>,
    /// Valid until.
    pub valid_end: DateTime<Utc>,
}

/// A seal signature a portal received.
#[derive(Debug, Clone)]
pub struct SealSignatureRecord {
    /// Row id.
    pub id: i64,
    /// The seal.
    pub seal_id: i64,
    /// The seal structure's version it names.
    pub seal_version: u32,
    /// The certificate that signed.
    pub serial: String,
    /// The portal that asked.
    pub client_id: String,
    /// The sealing session.
    pub session_id: String,
    /// The document's title.
    pub title: String,
    /// `dataHash` of the `TBS_Sign` (hex): the document's SM3, or for a PDF the SM3 of the
    /// stamped revision's signed bytes.
    pub data_hash: String,
    /// For a PDF, the SM3 of the file the portal uploaded (hex).
    pub document_sm3: Option<String>,
    /// `SES_Signature`, DER.
    pub ses_signature: Vec<u8>,
    /// The stamped PDF.
    pub pdf: Option<Vec<u8>>,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
}

/// Storage of seals and seal signatures.
#[async_trait::async_trait]
pub trait SealStore: Send + Sync + std::fmt::Debug {
    /// Records a seal with its audit entry; `Conflict` if the application has one.
    async fn insert_seal(
        &self,
        seal: NewSeal,
        audit: AuditDraft,
    ) -> Result<SealRecord, StorageError>;
    /// A seal by id.
    async fn seal(&self, id: i64) -> Result<Option<SealRecord>, StorageError>;
    /// The seal made for an application.
    async fn seal_of_application(
        &self,
        application_id: i64,
    ) -> Result<Option<SealRecord>, StorageError>;
    /// The employer's seals, newest first.
    async fn employer_seals(&self, uscc: &str) -> Result<Vec<SealRecord>, StorageError>;
    /// Seals in `status` (every seal without), oldest first.
    async fn seals_in(&self, status: Option<SealStatus>) -> Result<Vec<SealRecord>, StorageError>;
    /// A captured seal waiting for staff becomes made, or failed with `reason`; false if it is
    /// no longer waiting.
    async fn decide_seal(
        &self,
        id: i64,
        failure_reason: Option<String>,
        staff: &str,
        audit: AuditDraft,
    ) -> Result<bool, StorageError>;
    /// Replaces the seal's structure if its version is still `structure.version - 1`; false if
    /// another instance replaced it first.
    async fn replace_structure(
        &self,
        id: i64,
        structure: SealStructure,
        audit: AuditDraft,
    ) -> Result<bool, StorageError>;
    /// Records a seal signature with its audit entry.
    async fn record_signature(
        &self,
        signature: SealSignatureRecord,
        audit: AuditDraft,
    ) -> Result<SealSignatureRecord, StorageError>;
    /// The seal signature a sealing session produced.
    async fn signature_of_session(
        &self,
        session_id: &str,
    ) -> Result<Option<SealSignatureRecord>, StorageError>;
}

/// Why a seal step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// No such seal.
    #[error("seal not found")]
    NotFound,
    /// The seal is not waiting for staff.
    #[error("seal is {status:?}, not waiting for confirmation")]
    NotMaking {
        /// Where it stands.
        status: SealStatus,
    },
    /// The employer has no seal made.
    #[error("employer has no seal made")]
    NotMade,
    /// The seal is made, but no certificate of the employer is in force to list in it.
    #[error("no certificate of the employer in force")]
    NoCertificate,
    /// A rejection without a reason.
    #[error("reason required")]
    ReasonRequired,
    /// The picture could not be drawn.
    #[error(transparent)]
    Draw(#[from] drawing::DrawError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The CA failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The uploaded form could not be read.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// A structure did not encode.
    #[error("seal structure: {0}")]
    Der(#[from] der::Error),
}

impl Describe for SealError {
    fn describe(&self) -> Description {
        match self {
            Self::NotFound => Description::new(code::SEAL_NOT_FOUND, "印章不存在"),
            Self::NotMaking { status } => Description::new(
                code::SEAL_NOT_MAKING,
                format!(
                    "该印章当前状态为“{}”，不是待确认的采集印章",
                    status.label_zh()
                ),
            ),
            Self::NotMade => Description::new(
                code::SEAL_NOT_MADE,
                "该单位没有已制作的电子印章：请在证书申请中勾选“是否申请CA电子印章”，审核通过并制作完成后再盖章",
            ),
            Self::NoCertificate => Description::new(
                code::SEAL_NO_CERTIFICATE,
                "该单位的电子印章已制作，但还没有可用的证书：请经办人先在小程序“手机CA证书下载”中下载证书，再盖章",
            ),
            Self::ReasonRequired => {
                Description::new(code::SEAL_REASON_REQUIRED, "请填写退回原因，申请人将看到它")
            }
            Self::Draw(e) => e.describe(),
            Self::Storage(e) => e.describe(),
            Self::Ca(e) => e.describe(),
            Self::Upload(e) => e.describe(),
            Self::Der(_) => Description::internal(),
        }
    }
}

/// The seals service.
pub struct Seals {
    store: Arc<dyn SealStore>,
    certificates: Arc<dyn CertStore>,
    authority: Arc<Authority>,
    uploads: Arc<Uploads>,
    font: Arc<Vec<u8>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Seals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seals").finish_non_exhaustive()
    }
}

impl Seals {
    /// Over the store, the CA (as seal maker), the uploads (the stamped forms) and the seal
    /// font's bytes.
    pub fn new(
        store: Arc<dyn SealStore>,
        certificates: Arc<dyn CertStore>,
        authority: Arc<Authority>,
        uploads: Arc<Uploads>,
        font: Arc<Vec<u8>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            certificates,
            authority,
            uploads,
            font,
            clock,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SealStore> {
        &self.store
    }

    /// The seal font's bytes.
    pub fn font_arc(&self) -> Arc<Vec<u8>> {
        self.font.clone()
    }

    /// Makes the seal of an approved application that asked for one, unless it has one: a
    /// generated seal is drawn and made at once; a captured one is cut out of the stamped form
    /// and waits for staff. A picture that cannot be made is recorded as 制作失败 with the
    /// reason. `None` when the application asked for no seal.
    pub async fn make_for(
        &self,
        application: &ApplicationRecord,
        actor: Actor,
    ) -> Result<Option<SealRecord>, SealError> {
        let (Some(enterprise), Some(ca)) = (&application.enterprise, &application.ca) else {
            return Ok(None);
        };
        let (true, Some(kind)) = (ca.seal_wanted, ca.seal_kind) else {
            return Ok(None);
        };
        if let Some(existing) = self.store.seal_of_application(application.id).await? {
            return Ok(Some(existing));
        }
        let size = drawing::SealSize::default();
        let made = match kind {
            SealKind::Generated => drawing::RoundSeal::new(&enterprise.name, &self.font, size)
                .and_then(|seal| seal.png(PICTURE_PIXELS))
                .map(|png| (SealStatus::Made, png))
                .map_err(|e| e.describe().message.to_string()),
            SealKind::Traditional => {
                let (_, form) = self.uploads.open_for_staff(&ca.form_upload_id).await?;
                stamp::extract(&form)
                    .map(|png| (SealStatus::Making, png))
                    .map_err(|e| e.describe().message.to_string())
            }
        };
        let diameter = size.diameter.round() as u32;
        let (status, picture, failure_reason) = match made {
            Ok((status, png)) => (status, Some(png), None),
            Err(reason) => (SealStatus::Failed, None, Some(reason)),
        };
        let seal = NewSeal {
            application_id: application.id,
            uscc: enterprise.uscc.clone(),
            employer_name: enterprise.name.clone(),
            kind,
            status,
            failure_reason: failure_reason.clone(),
            picture,
            width_mm: diameter,
            height_mm: diameter,
        };
        let audit = AuditDraft {
            actor,
            action: "seal.make",
            subject: format!("application:{}", application.id),
            detail: serde_json::json!({
                "kind": kind_str(kind),
                "status": status.as_str(),
                "failure_reason": failure_reason,
            }),
        };
        match self.store.insert_seal(seal, audit).await {
            Ok(record) => Ok(Some(record)),
            // Made by another instance meanwhile.
            Err(StorageError::Conflict { .. }) => {
                Ok(self.store.seal_of_application(application.id).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The seal of an application and where it stands (未申请印章 without one).
    pub async fn status_of(
        &self,
        application: &ApplicationRecord,
    ) -> Result<(SealStatus, Option<SealRecord>), SealError> {
        let wanted = application.ca.as_ref().is_some_and(|ca| ca.seal_wanted);
        if !wanted {
            return Ok((SealStatus::None, None));
        }
        match self.store.seal_of_application(application.id).await? {
            Some(seal) => Ok((seal.status, Some(seal))),
            // Approved, and the seal not made (the approval's instance stopped in between):
            // made now.
            None if application.status == ApplicationStatus::Approved => {
                match self.make_for(application, Actor::System).await? {
                    Some(seal) => Ok((seal.status, Some(seal))),
                    None => Ok((SealStatus::None, None)),
                }
            }
            // Asked for, the application not approved yet.
            None => Ok((SealStatus::Making, None)),
        }
    }

    /// A seal by id.
    pub async fn seal(&self, id: i64) -> Result<SealRecord, SealError> {
        self.store.seal(id).await?.ok_or(SealError::NotFound)
    }

    /// Seals for staff, in `status` or all.
    pub async fn queue(&self, status: Option<SealStatus>) -> Result<Vec<SealRecord>, SealError> {
        Ok(self.store.seals_in(status).await?)
    }

    /// The employer's seals, newest first.
    pub async fn of_employer(&self, uscc: &str) -> Result<Vec<SealRecord>, SealError> {
        Ok(self.store.employer_seals(uscc).await?)
    }

    /// Staff confirm a captured stamp (已制作) or reject it with a reason (制作失败).
    pub async fn decide(
        &self,
        staff: &Reviewer,
        id: i64,
        rejection: Option<String>,
    ) -> Result<SealRecord, SealError> {
        let rejection = match rejection.map(|r| r.trim().to_string()) {
            Some(r) if r.is_empty() => return Err(SealError::ReasonRequired),
            other => other,
        };
        let seal = self.seal(id).await?;
        if seal.status != SealStatus::Making {
            return Err(SealError::NotMaking {
                status: seal.status,
            });
        }
        let audit = AuditDraft {
            actor: staff.actor(),
            action: if rejection.is_some() {
                "seal.reject"
            } else {
                "seal.confirm"
            },
            subject: format!("seal:{id}"),
            detail: serde_json::json!({ "reason": rejection }),
        };
        if !self
            .store
            .decide_seal(id, rejection, staff.username(), audit)
            .await?
        {
            let now = self.seal(id).await?;
            return Err(SealError::NotMaking { status: now.status });
        }
        self.seal(id).await
    }

    /// The employer's newest made seal and its current structure ([`Seals::structure_of`]).
    pub async fn current(&self, uscc: &str) -> Result<(SealRecord, mcert_ses::SealV4), SealError> {
        let seal = self
            .store
            .employer_seals(uscc)
            .await?
            .into_iter()
            .find(|s| s.status == SealStatus::Made)
            .ok_or(SealError::NotMade)?;
        self.structure_of(seal.id).await
    }

    /// The made seal `id` and its structure listing every certificate of its employer in force
    /// now: the stored structure when the list is the same, else a new version signed by the CA
    /// as seal maker.
    pub async fn structure_of(
        &self,
        id: i64,
    ) -> Result<(SealRecord, mcert_ses::SealV4), SealError> {
        for _ in 0..4 {
            let seal = self.seal(id).await?;
            if seal.status != SealStatus::Made {
                return Err(SealError::NotMade);
            }
            let now = self.clock.now();
            let listed: Vec<CertificateRecord> = self
                .certificates
                .employer_certificates(&seal.uscc)
                .await?
                .into_iter()
                .filter(|c| Standing::of(c, now).in_force() && c.der.is_some())
                .collect();
            let serials: Vec<String> = listed.iter().map(|c| c.serial.to_string()).collect();
            if let (Some(der), true) = (&seal.seal_der, seal.certificate_serials == serials) {
                let structure = mcert_ses::SealV4::from_der(der)?;
                return Ok((seal, structure));
            }
            if listed.is_empty() {
                return Err(SealError::NoCertificate);
            }
            let structure = self.structure(&seal, &listed, now)?;
            let audit = AuditDraft {
                actor: Actor::System,
                action: "seal.structure",
                subject: format!("seal:{}", seal.id),
                detail: serde_json::json!({
                    "version": structure.version,
                    "certificates": structure.certificate_serials,
                    "es_id": seal.es_id(structure.version),
                }),
            };
            // Another instance may have made this version first: then read it again.
            self.store
                .replace_structure(seal.id, structure, audit)
                .await?;
        }
        Err(StorageError::Conflict {
            what: "seal structure",
        }
        .into())
    }

    /// The next `SESeal` of `seal`, listing `listed`, signed by the seal maker.
    fn structure(
        &self,
        seal: &SealRecord,
        listed: &[CertificateRecord],
        now: DateTime<Utc>,
    ) -> Result<SealStructure, SealError> {
        let picture = seal.picture.clone().ok_or(SealError::NotMade)?;
        let version = seal.version + 1;
        let valid_start = listed.iter().map(|c| c.not_before).min().unwrap_or(now);
        let valid_end = listed.iter().map(|c| c.not_after).max().unwrap_or(now);
        let certificates = listed
            .iter()
            .filter_map(|c| c.der.clone())
            .map(OctetString::new)
            .collect::<Result<Vec<_>, _>>()?;
        let time = |at: DateTime<Utc>| {
            GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(
                u64::try_from(at.timestamp()).unwrap_or(0),
            ))
        };
        let cert_list = mcert_ses::CertList::Certificates(certificates);
        let info = mcert_ses::SealInfoV4 {
            header: mcert_ses::Header {
                id: Ia5String::new("ES")?,
                version: 4,
                vid: Ia5String::new(MAKER_VID)?,
            },
            es_id: Ia5String::new(&seal.es_id(version))?,
            property: mcert_ses::PropertyInfoV4 {
                kind: SEAL_TYPE_OFFICIAL,
                name: seal.employer_name.clone(),
                cert_list_type: cert_list.list_type(),
                cert_list: cert_list.to_any()?,
                create_date: time(now)?,
                valid_start: time(valid_start)?,
                valid_end: time(valid_end)?,
            },
            picture: mcert_ses::Picture {
                kind: Ia5String::new("PNG")?,
                data: OctetString::new(picture)?,
                width: seal.width_mm,
                height: seal.height_mm,
            },
            ext_datas: None,
        };
        let maker = self.authority.seal_maker();
        let signature = maker.sign(&info.to_der()?)?;
        let sealed = mcert_ses::SealV4 {
            e_seal_info: info,
            cert: OctetString::new(maker.certificate.to_der()?)?,
            sign_alg_id: mcert_ses::SM2_WITH_SM3,
            signed_value: BitString::from_bytes(&signature)?,
        };
        Ok(SealStructure {
            version,
            der: sealed.to_der()?,
            certificate_serials: listed.iter().map(|c| c.serial.to_string()).collect(),
            valid_start,
            valid_end,
        })
    }
}

/// A one-page A4 PDF with `lines` of ASCII text in Helvetica: the demo portal's sample document,
/// and what the benchmarks and tests stamp.
pub fn sample_pdf(lines: &[&str]) -> Vec<u8> {
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        text.push_str(&format!(
            "BT /F1 12 Tf 72 {} Td ({escaped}) Tj ET\n",
            760 - 20 * i
        ));
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{text}endstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
