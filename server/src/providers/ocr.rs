//! Reading a business licence (营业执照) and the front of a resident ID card (居民身份证人像面)
//! so that the application wizard can prefill its fields (DESIGN.md §10).
//!
//! The rest of the server codes against [`OcrReader`]; [`AliyunOcr`] reads through Alibaba Cloud
//! OCR. What a reader returns is a suggestion: the applicant sees every field and can correct
//! it, and the wizard validates the fields (the USCC and ID number checksums included) when the
//! applicant saves. A reader therefore checks nothing; it only trims values and drops empty ones.
//!
//! There is deliberately no development reader: one that made up a licence would prefill the
//! form with data nobody read. Without a configured provider there is no OCR, and the wizard
//! simply does not prefill.
//!
//! No reader retries a failed call. Reading is idempotent, so a retry would be harmless, but a
//! person is waiting with the photo just uploaded: one call within the timeout, and if it fails
//! the wizard says so and the person types the fields (or tries again).

use std::fmt;

use crate::failure::{Code, Describe, Description, code};
use serde::{Deserialize, Serialize};

mod aliyun;

pub use self::aliyun::{AliyunOcr, AliyunOcrConfig};

/// The documents a reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OcrDocument {
    /// A business licence (营业执照), or one of the certificates that stand in for it.
    BusinessLicence,
    /// The front of a resident ID card (居民身份证人像面): the side with the photo, name and
    /// ID number.
    IdCardFront,
}

impl OcrDocument {
    /// A short name for logs (`business_licence`, `id_card_front`).
    pub fn kind(self) -> &'static str {
        match self {
            Self::BusinessLicence => "business_licence",
            Self::IdCardFront => "id_card_front",
        }
    }
}

/// What was read from a business licence (营业执照).
///
/// A field is `None` when the reader did not find it; values are trimmed and never empty. Nothing
/// is validated: the applicant corrects the fields and the wizard checks them on saving.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LicenceText {
    /// The employer's name (名称 / 单位名称).
    #[schema(example = "云南信息科技有限公司")]
    pub unit_name: Option<String>,
    /// The unified social credit code (统一社会信用代码), as read; its checksum is not checked.
    pub uscc: Option<String>,
    /// The legal representative (法定代表人; 负责人, 经营者 or 执行事务合伙人 on some licences).
    pub legal_representative_name: Option<String>,
    /// The registered address (住所; 营业场所 or 经营场所 on some licences).
    pub address: Option<String>,
    /// The registration authority (登记机关), when the reader reports it.
    pub registration_authority: Option<String>,
}

impl LicenceText {
    /// Whether nothing at all was read.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// What was read from the front of a resident ID card (居民身份证人像面).
///
/// A field is `None` when the reader did not find it; values are trimmed and never empty. The
/// ID number's checksum is not checked. `Debug` shows only the last 4 characters of the ID number.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdCardText {
    /// The holder's name (姓名).
    #[schema(example = "张三")]
    pub name: Option<String>,
    /// The citizen ID number (公民身份号码), 18 characters as read.
    pub id_number: Option<String>,
}

impl IdCardText {
    /// Whether nothing at all was read.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

impl fmt::Debug for IdCardText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdCardText")
            .field("name", &self.name)
            .field("id_number", &self.id_number.as_deref().map(masked))
            .finish()
    }
}

/// Reads documents from images.
#[async_trait::async_trait]
pub trait OcrReader: Send + Sync + fmt::Debug {
    /// Reads a business licence from `image`, the uploaded file (JPEG, PNG, …) as it is.
    ///
    /// One call to the provider, never retried (see the module documentation).
    async fn business_licence(&self, image: &[u8]) -> Result<LicenceText, OcrError>;

    /// Reads the front of a resident ID card from `image`, the uploaded file as it is.
    ///
    /// One call to the provider, never retried (see the module documentation).
    async fn id_card_front(&self, image: &[u8]) -> Result<IdCardText, OcrError>;
}

/// Why nothing was read. Every variant means the same to the applicant: type the fields in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcrError {
    /// The provider could not be asked or its answer was not understood: timeout, connection
    /// error, HTTP 5xx, throttling, a body that is not the expected JSON. Trying again later may
    /// work.
    #[error("the OCR provider is unavailable: {detail}")]
    Unavailable {
        /// What went wrong, for the logs.
        detail: String,
    },
    /// The provider looked at the image and found no such document in it, or could read none of
    /// the fields: a photo of something else, the back of the ID card, an image too blurred, too
    /// small or too large. Another photo may work.
    #[error("nothing could be read from the {} image: {detail}", document.kind())]
    Unreadable {
        /// The document the image was meant to show.
        document: OcrDocument,
        /// The provider's error code or what was missing, for the logs.
        detail: String,
    },
    /// The provider refused the request itself: unknown AccessKey, bad signature, missing
    /// permission, service not activated or expired, any other 4xx. Only an administrator can
    /// fix it.
    #[error("the OCR provider refused the request: {detail}")]
    Refused {
        /// The provider's error code and message, for the logs.
        detail: String,
    },
    /// The reader is configured wrongly (empty key, endpoint not an http(s) URL) and cannot be
    /// built.
    #[error("OCR is misconfigured: {detail}")]
    Config {
        /// What to fix.
        detail: String,
    },
}

impl OcrError {
    /// A stable snake_case identifier for the JSON error body; clients may match on it.
    pub fn code(&self) -> Code {
        match self {
            Self::Unavailable { .. } => code::OCR_UNAVAILABLE,
            Self::Unreadable { .. } => code::OCR_UNREADABLE,
            Self::Refused { .. } => code::OCR_REFUSED,
            Self::Config { .. } => code::OCR_MISCONFIGURED,
        }
    }

    /// A Chinese message telling the applicant what happened and what to do.
    pub fn message_zh(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "识别服务暂时不可用，请直接填写各项信息或稍后重试",
            Self::Unreadable {
                document: OcrDocument::BusinessLicence,
                ..
            } => "未能识别图片中的营业执照信息，请上传清晰、完整的照片，或直接填写",
            Self::Unreadable {
                document: OcrDocument::IdCardFront,
                ..
            } => "未能识别图片中的身份证人像面信息，请上传清晰、完整的人像面照片，或直接填写",
            Self::Refused { .. } | Self::Config { .. } => {
                "识别服务暂时无法使用，请直接填写各项信息；如多次出现，请联系客服"
            }
        }
    }
}

impl Describe for OcrError {
    fn describe(&self) -> Description {
        Description::new(self.code(), self.message_zh())
    }
}

/// `value` trimmed, or `None` when nothing is left.
fn cleaned(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `value` with all but its last 4 characters hidden, for logs: `**************1234`.
fn masked(value: &str) -> String {
    let count = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(index, c)| if index + 4 < count { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn unreadable(document: OcrDocument) -> OcrError {
        OcrError::Unreadable {
            document,
            detail: "unmatchedImageType".into(),
        }
    }

    #[test]
    fn every_error_has_a_stable_code_and_an_actionable_chinese_message() {
        let cases = [
            (
                OcrError::Unavailable {
                    detail: "timeout".into(),
                },
                "ocr_unavailable",
                "请直接填写",
            ),
            (
                unreadable(OcrDocument::BusinessLicence),
                "ocr_unreadable",
                "营业执照",
            ),
            (
                unreadable(OcrDocument::IdCardFront),
                "ocr_unreadable",
                "身份证人像面",
            ),
            (
                OcrError::Refused {
                    detail: "noPermission".into(),
                },
                "ocr_refused",
                "请直接填写",
            ),
            (
                OcrError::Config {
                    detail: "no key".into(),
                },
                "ocr_misconfigured",
                "请直接填写",
            ),
        ];
        for (error, code, phrase) in cases {
            assert_eq!(error.code(), code, "{error}");
            let message = error.message_zh();
            assert!(message.contains(phrase) && !message.is_ascii(), "{message}");
        }
        assert_eq!(
            unreadable(OcrDocument::BusinessLicence).message_zh(),
            "未能识别图片中的营业执照信息，请上传清晰、完整的照片，或直接填写"
        );
        assert_eq!(
            OcrError::Unavailable { detail: "x".into() }.message_zh(),
            "识别服务暂时不可用，请直接填写各项信息或稍后重试"
        );
    }

    #[test]
    fn errors_name_their_cause_for_the_logs() {
        let text = unreadable(OcrDocument::IdCardFront).to_string();
        assert!(
            text.contains("id_card_front") && text.contains("unmatchedImageType"),
            "{text}"
        );
    }

    #[test]
    fn values_are_trimmed_and_empty_ones_dropped() {
        assert_eq!(
            cleaned("  云南信息科技有限公司\n").as_deref(),
            Some("云南信息科技有限公司")
        );
        assert_eq!(cleaned(" \t\u{3000}"), None);
        assert_eq!(cleaned(""), None);
    }

    #[test]
    fn debug_masks_the_id_number_but_serialisation_does_not() {
        let text = IdCardText {
            name: Some("张三".into()),
            id_number: Some("11010519491231002X".into()),
        };
        let printed = format!("{text:?}");
        assert!(!printed.contains("110105"), "{printed}");
        assert!(
            printed.contains("**************002X") && printed.contains("张三"),
            "{printed}"
        );
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            serde_json::json!({"name": "张三", "id_number": "11010519491231002X"})
        );
        assert_eq!(masked("123"), "123");
    }

    #[test]
    fn emptiness_means_nothing_was_read() {
        assert!(LicenceText::default().is_empty());
        assert!(
            !LicenceText {
                address: Some("昆明".into()),
                ..LicenceText::default()
            }
            .is_empty()
        );
        assert!(IdCardText::default().is_empty());
    }

    #[test]
    fn licence_text_serialises_and_documents_its_fields() {
        let text = LicenceText {
            unit_name: Some("云南信息科技有限公司".into()),
            ..LicenceText::default()
        };
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            serde_json::json!({
                "unit_name": "云南信息科技有限公司",
                "uscc": null,
                "legal_representative_name": null,
                "address": null,
                "registration_authority": null,
            })
        );
        let schema =
            serde_json::to_value(<LicenceText as utoipa::PartialSchema>::schema()).unwrap();
        let properties = schema["properties"].as_object().unwrap();
        assert_eq!(properties.len(), 5, "{schema}");
        assert!(
            properties["uscc"]["description"]
                .as_str()
                .unwrap()
                .contains("统一社会信用代码"),
            "{schema}"
        );
        let schema = serde_json::to_value(<IdCardText as utoipa::PartialSchema>::schema()).unwrap();
        assert!(schema["properties"]["id_number"].is_object(), "{schema}");
    }
}
