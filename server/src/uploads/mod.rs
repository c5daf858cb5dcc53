//! Applicants' files (seed 000 §三(二)): the licence, both sides of the agent's ID card and the
//! stamped application form. Only JPEG and PNG are accepted, judged by their content (a PDF
//! renamed `.jpg` is refused), at most 6 MB and at most [`MAX_IMAGE_SIDE`] pixels a side and
//! [`MAX_IMAGE_PIXELS`] in all (read from the header, never decoded: a small file can declare an
//! image that would take gigabytes to decode), and at most [`UploadLimits`] files per applicant
//! a day. Bytes go to a [`FileStore`] under their SM3 hash (the filesystem by default; the trait
//! allows object storage), metadata to the database.

mod fs;

use std::{io::Cursor, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use rand::RngCore as _;

pub use fs::FsFileStore;

use crate::clock::Clock;
use crate::failure::{Code, Describe, Description, code};
use crate::{
    failure::StorageError,
    kv::{Kv, KvError},
    providers::ocr::{IdCardText, LicenceText, OcrError, OcrReader},
};

/// Largest file accepted (seed 000: "文件大小 6M 以内").
pub const MAX_UPLOAD_BYTES: usize = 6 * 1024 * 1024;

/// Largest whole upload request: the file and the small `purpose` field with their multipart
/// headers. Anything longer is refused before (by its `Content-Length`) or while it is read.
pub const MAX_REQUEST_BYTES: usize = MAX_UPLOAD_BYTES + 16 * 1024;

/// Largest width or height of an image, in pixels (a 108-megapixel phone photo is 12000 wide;
/// photos of documents are taken at a phone's usual 12 megapixels, about 4000 × 3000).
pub const MAX_IMAGE_SIDE: u32 = 10_000;

/// Largest image in pixels: 40 million, 160 MB once decoded to RGBA for OCR or a reviewer's
/// browser.
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;

/// How many files one applicant may store.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Files stored per applicant per (UTC) day; an application needs four, and a few more for
    /// retakes and resubmissions.
    pub per_applicant_per_day: u32,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self {
            per_applicant_per_day: 30,
        }
    }
}

/// What a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadPurpose {
    /// 营业执照 or another registration certificate with the USCC.
    Licence,
    /// Agent's ID card, portrait side.
    IdFront,
    /// Agent's ID card, emblem side.
    IdBack,
    /// The stamped 业务申请表 with the agreement on its back.
    ApplicationForm,
}

impl UploadPurpose {
    /// Stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Licence => "licence",
            Self::IdFront => "id_front",
            Self::IdBack => "id_back",
            Self::ApplicationForm => "application_form",
        }
    }

    /// Parses the wire form.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Licence,
            Self::IdFront,
            Self::IdBack,
            Self::ApplicationForm,
        ]
        .into_iter()
        .find(|p| p.as_str() == value)
    }
}

/// An image format accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    /// JPEG (`.jpg`, `.jpeg`).
    Jpeg,
    /// PNG.
    Png,
}

impl ImageType {
    /// MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

impl ImageType {
    fn format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
        }
    }
}

/// Width and height as the image's header declares them, read without decoding the pixels.
/// A side over [`MAX_IMAGE_SIDE`] is refused by the reader itself, before it sets anything up
/// for the image; a header that cannot be read is not an image.
pub fn dimensions(bytes: &[u8], kind: ImageType) -> Result<(u32, u32), UploadError> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    reader.limits(limits);
    match reader.into_dimensions() {
        Ok(dimensions) => Ok(dimensions),
        Err(image::ImageError::Limits(_)) => Err(UploadError::TooManyPixels),
        Err(_) => Err(UploadError::NotAnImage),
    }
}

/// The image type of `bytes` by their content: a JPEG starts with SOI + a marker and ends with
/// EOI; a PNG has its 8-byte signature followed by an IHDR chunk. Anything else is `None`.
pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() >= 4 && bytes[..3] == [0xFF, 0xD8, 0xFF] && bytes.ends_with(&[0xFF, 0xD9]) {
        return Some(ImageType::Jpeg);
    }
    if bytes.len() >= 16 && bytes.starts_with(PNG_SIGNATURE) && &bytes[12..16] == b"IHDR" {
        return Some(ImageType::Png);
    }
    None
}

/// An uploaded file's record.
#[derive(Debug, Clone)]
pub struct UploadRecord {
    /// Random id (32 hex digits).
    pub id: String,
    /// Owner.
    pub applicant_id: i64,
    /// What it is for.
    pub purpose: UploadPurpose,
    /// Detected type.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SM3 of the content, hex; also its key in the file store.
    pub sm3: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// What OCR read from it, if the applicant asked.
    pub recognised: Option<Recognised>,
}

/// Where the bytes live.
#[async_trait::async_trait]
pub trait FileStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key` (idempotent: the same key always has the same bytes).
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError>;
    /// The bytes under `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
}

/// Where the metadata lives (`store/` implements it).
#[async_trait::async_trait]
pub trait UploadStore: Send + Sync + std::fmt::Debug {
    /// Records an upload.
    async fn insert_upload(&self, record: &UploadRecord) -> Result<(), StorageError>;
    /// An upload by id.
    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StorageError>;
    /// Keeps what OCR read from upload `id`.
    async fn set_recognised(&self, id: &str, read: &Recognised) -> Result<(), StorageError>;
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// Larger than [`MAX_UPLOAD_BYTES`].
    #[error("file too large")]
    TooLarge,
    /// The whole request is larger than [`MAX_REQUEST_BYTES`] (several files, or padding).
    #[error("upload request larger than {MAX_REQUEST_BYTES} bytes")]
    RequestTooLarge,
    /// A request with more than one `file` or `purpose` field.
    #[error("field {name} given more than once")]
    FieldRepeated {
        /// The field.
        name: String,
    },
    /// An image whose header declares a side over [`MAX_IMAGE_SIDE`] or more than
    /// [`MAX_IMAGE_PIXELS`] in all.
    #[error("image larger than {MAX_IMAGE_SIDE} pixels a side or {MAX_IMAGE_PIXELS} in all")]
    TooManyPixels,
    /// The applicant stored [`UploadLimits::per_applicant_per_day`] files today already.
    #[error("daily upload limit reached")]
    DailyLimit,
    /// Empty.
    #[error("file empty")]
    Empty,
    /// Not a JPEG or PNG by content.
    #[error("not a JPEG or PNG image")]
    NotAnImage,
    /// Unknown purpose.
    #[error("unknown upload purpose")]
    UnknownPurpose,
    /// Unknown id, or somebody else's file.
    #[error("upload not found")]
    NotFound,
    /// Recognition asked for a file that is neither a licence nor an ID card's front.
    #[error("only licences and ID card fronts are recognised")]
    NotRecognisable,
    /// No OCR provider is configured.
    #[error("no OCR provider configured")]
    OcrNotConfigured,
    /// The OCR provider read nothing.
    #[error(transparent)]
    Ocr(#[from] OcrError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The kv store (the daily count) failed.
    #[error(transparent)]
    Kv(#[from] KvError),
}

impl UploadError {
    /// Stable code.
    pub fn code(&self) -> Code {
        match self {
            Self::TooLarge => code::UPLOAD_TOO_LARGE,
            Self::RequestTooLarge => code::UPLOAD_REQUEST_TOO_LARGE,
            Self::FieldRepeated { .. } => code::UPLOAD_FIELDS_INVALID,
            Self::TooManyPixels => code::UPLOAD_DIMENSIONS_TOO_LARGE,
            Self::DailyLimit => code::UPLOAD_DAILY_LIMIT,
            Self::Kv(_) => code::KV_UNAVAILABLE,
            Self::Empty => code::UPLOAD_EMPTY,
            Self::NotAnImage => code::UPLOAD_NOT_IMAGE,
            Self::UnknownPurpose => code::UPLOAD_PURPOSE_UNKNOWN,
            Self::NotFound => code::UPLOAD_NOT_FOUND,
            Self::NotRecognisable => code::OCR_PURPOSE_UNSUPPORTED,
            Self::OcrNotConfigured => code::OCR_NOT_CONFIGURED,
            Self::Ocr(e) => e.code(),
            Self::Storage(_) => code::STORAGE_UNAVAILABLE,
        }
    }

    /// What to do, in Chinese.
    pub fn message_zh(&self) -> &'static str {
        match self {
            Self::TooLarge => "文件超过 6M，请压缩或重新拍摄后上传",
            Self::RequestTooLarge => "上传请求超过 6M：每次只能上传一个不超过 6M 的文件",
            Self::FieldRepeated { .. } => {
                "每次只能上传一个文件：请求须恰好含一个 purpose 字段和一个 file 字段"
            }
            Self::TooManyPixels => {
                "图片尺寸过大（每边不超过 10000 像素，总计不超过 4000 万像素），请缩小后重新上传"
            }
            Self::DailyLimit => "今日上传的文件已达上限，请明天再试；如有疑问请联系客服",
            Self::Kv(_) => "会话存储暂时无法访问，请稍后重试",
            Self::Empty => "文件为空，请重新选择",
            Self::NotAnImage => {
                "文件格式须为 jpg/jpeg/png 图片（按文件内容识别，改扩展名无效），请重新选择"
            }
            Self::UnknownPurpose => {
                "上传类型无效，可选：licence、id_front、id_back、application_form"
            }
            Self::NotFound => "未找到该文件，请重新上传",
            Self::NotRecognisable => "只能识别营业执照和身份证人像面照片，其他资料请直接填写",
            Self::OcrNotConfigured => "未开通自动识别服务，请直接填写各项信息",
            Self::Ocr(e) => e.message_zh(),
            Self::Storage(_) => "文件存储暂时不可用，请稍后重试",
        }
    }
}

impl Describe for UploadError {
    fn describe(&self) -> Description {
        match self {
            Self::Storage(e) => e.describe(),
            Self::Ocr(e) => e.describe(),
            _ => Description::new(self.code(), self.message_zh()),
        }
    }
}

/// What OCR read from an upload, to prefill the wizard (every field stays editable).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "document", rename_all = "snake_case")]
pub enum Recognised {
    /// From a `licence` upload: step 1's fields.
    BusinessLicence(LicenceText),
    /// From an `id_front` upload: step 2's name and ID number.
    IdCardFront(IdCardText),
}

/// The upload service.
#[derive(Debug)]
pub struct Uploads {
    files: Arc<dyn FileStore>,
    store: Arc<dyn UploadStore>,
    ocr: Option<Arc<dyn OcrReader>>,
    kv: Arc<dyn Kv>,
    limits: UploadLimits,
    clock: Arc<dyn Clock>,
}

impl Uploads {
    /// The service over a file store and the metadata store, with the OCR reader if one is
    /// configured; the kv store counts each applicant's uploads of the day by `clock`.
    pub fn new(
        files: Arc<dyn FileStore>,
        store: Arc<dyn UploadStore>,
        ocr: Option<Arc<dyn OcrReader>>,
        kv: Arc<dyn Kv>,
        limits: UploadLimits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            files,
            store,
            ocr,
            kv,
            limits,
            clock,
        }
    }

    /// Whether an OCR provider is configured (pages offer to prefill only then).
    pub fn recognises(&self) -> bool {
        self.ocr.is_some()
    }

    /// Reads the owner's licence or ID card front with the OCR provider.
    pub async fn recognise(&self, applicant_id: i64, id: &str) -> Result<Recognised, UploadError> {
        let record = self.record_of(applicant_id, id).await?;
        if !matches!(
            record.purpose,
            UploadPurpose::Licence | UploadPurpose::IdFront
        ) {
            return Err(UploadError::NotRecognisable);
        }
        let ocr = self.ocr.as_ref().ok_or(UploadError::OcrNotConfigured)?;
        let (record, bytes) = self.with_bytes(record).await?;
        let read = match record.purpose {
            UploadPurpose::IdFront => Recognised::IdCardFront(ocr.id_card_front(&bytes).await?),
            _ => Recognised::BusinessLicence(ocr.business_licence(&bytes).await?),
        };
        // Kept for the reviewer, who sees it beside what the applicant typed.
        self.store.set_recognised(&record.id, &read).await?;
        Ok(read)
    }

    /// What OCR read from upload `id`, for staff (`None` if it was never read).
    pub async fn recognised(&self, id: &str) -> Result<Option<Recognised>, UploadError> {
        Ok(self.store.upload(id).await?.and_then(|r| r.recognised))
    }

    /// Checks and stores a file for `applicant_id`.
    pub async fn store(
        &self,
        applicant_id: i64,
        purpose: UploadPurpose,
        bytes: &[u8],
    ) -> Result<UploadRecord, UploadError> {
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(UploadError::TooLarge);
        }
        let kind = sniff(bytes).ok_or(UploadError::NotAnImage)?;
        let (width, height) = dimensions(bytes, kind)?;
        if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
            return Err(UploadError::TooManyPixels);
        }
        // Counted once the file is known to be acceptable, before anything is written: a
        // refused file does not use up the day, and the count cannot be raced past the limit.
        let day = self.clock.now().format("%Y%m%d");
        let stored_today = self
            .kv
            .incr(
                &format!("upload-day:{day}:{applicant_id}"),
                Duration::from_secs(24 * 3600),
            )
            .await?;
        if stored_today > i64::from(self.limits.per_applicant_per_day) {
            return Err(UploadError::DailyLimit);
        }
        let sm3 = hex::encode(mcert_signer::sm3_digest(bytes));
        self.files.put(&sm3, bytes).await?;
        let mut id = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let record = UploadRecord {
            id: hex::encode(id),
            applicant_id,
            purpose,
            content_type: kind.content_type().to_string(),
            size: bytes.len() as u64,
            sm3,
            created_at: self.clock.now(),
            recognised: None,
        };
        self.store.insert_upload(&record).await?;
        Ok(record)
    }

    /// An upload of `applicant_id` (another applicant's file is `NotFound`).
    pub async fn record_of(
        &self,
        applicant_id: i64,
        id: &str,
    ) -> Result<UploadRecord, UploadError> {
        match self.store.upload(id).await? {
            Some(record) if record.applicant_id == applicant_id => Ok(record),
            _ => Err(UploadError::NotFound),
        }
    }

    /// Any upload's record and bytes, for staff reviewing an application.
    pub async fn open_for_staff(&self, id: &str) -> Result<(UploadRecord, Vec<u8>), UploadError> {
        let record = self.store.upload(id).await?.ok_or(UploadError::NotFound)?;
        self.with_bytes(record).await
    }

    async fn with_bytes(
        &self,
        record: UploadRecord,
    ) -> Result<(UploadRecord, Vec<u8>), UploadError> {
        let bytes = self
            .files
            .get(&record.sm3)
            .await?
            .ok_or(UploadError::NotFound)?;
        Ok((record, bytes))
    }

    /// An upload's record and bytes, for its owner.
    pub async fn open(
        &self,
        applicant_id: i64,
        id: &str,
    ) -> Result<(UploadRecord, Vec<u8>), UploadError> {
        let record = self.record_of(applicant_id, id).await?;
        self.with_bytes(record).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    pub(crate) const TINY_PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn sniffing_goes_by_content() {
        assert_eq!(sniff(TINY_PNG), Some(ImageType::Png));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', 0xFF, 0xD9]),
            Some(ImageType::Jpeg)
        );
        for bad in [
            &b"%PDF-1.7\n..."[..],
            b"GIF89a......",
            b"",
            &[0xFF, 0xD8, 0xFF, 0xE0][..], // a JPEG cut short
            &TINY_PNG[..12],
        ] {
            assert_eq!(sniff(bad), None, "{bad:?}");
        }
    }

    /// `TINY_PNG` with its header declaring `width` × `height` (and the header's CRC fixed).
    pub(crate) fn png_declaring(width: u32, height: u32) -> Vec<u8> {
        let mut png = TINY_PNG.to_vec();
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    }

    /// CRC-32 as PNG chunks carry it (ISO 3309).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn dimensions_come_from_the_header_and_are_limited() {
        assert_eq!(dimensions(TINY_PNG, ImageType::Png).unwrap(), (1, 1));
        assert_eq!(png_declaring(1, 1), TINY_PNG, "the CRC is PNG's");
        assert_eq!(
            dimensions(&png_declaring(4000, 3000), ImageType::Png).unwrap(),
            (4000, 3000)
        );
        for (width, height) in [(50_000, 50_000), (10_001, 1), (1, u32::MAX >> 1)] {
            assert!(
                matches!(
                    dimensions(&png_declaring(width, height), ImageType::Png),
                    Err(UploadError::TooManyPixels)
                ),
                "{width}×{height}"
            );
        }
        // A fake JPEG (markers without a frame header) has no dimensions to read.
        let fake = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', 0xFF, 0xD9];
        assert!(matches!(
            dimensions(&fake, ImageType::Jpeg),
            Err(UploadError::NotAnImage)
        ));
    }

    #[test]
    fn purposes_round_trip() {
        for p in ["licence", "id_front", "id_back", "application_form"] {
            assert_eq!(UploadPurpose::parse(p).unwrap().as_str(), p);
        }
        assert!(UploadPurpose::parse("selfie").is_none());
    }
}
