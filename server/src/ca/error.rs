//! What can go wrong in the certificate authority, and how each failure describes itself
//! (`crate::failure`). No HTTP knowledge here.

use crate::{
    domain::{CertificateSerial, DomainError},
    failure::{Describe, Description, StorageError, code},
};

/// Errors of the certificate authority core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// CA keys exist but no master key was configured or found on disk.
    #[error("master key missing: set MCERT_MASTER_KEY or restore {path}")]
    MasterKeyMissing {
        /// Where the key file was looked for.
        path: String,
    },
    /// The master key does not open the stored CA keys.
    #[error("master key does not open the stored CA keys")]
    MasterKeyWrong,
    /// The master key is not 32 hexadecimal digits.
    #[error("master key must be 32 hexadecimal digits (128 bits)")]
    MasterKeyFormat,
    /// The master key file could not be read or written.
    #[error("master key file {path}")]
    MasterKeyFile {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The CSR is not a DER or PEM PKCS#10 request.
    #[error("malformed certificate request: {detail}")]
    CsrMalformed {
        /// The parser's complaint.
        detail: String,
    },
    /// The CSR's signature does not verify under its own key (no proof of possession).
    #[error("certificate request signature does not verify")]
    CsrSignatureInvalid,
    /// The CSR's key or signature algorithm is not SM2 / SM2-with-SM3.
    #[error("unsupported algorithm {oid} in certificate request (SM2 required)")]
    CsrAlgorithm {
        /// The algorithm found.
        oid: String,
    },
    /// A holder or unit field is invalid.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The unit is registered under another name.
    #[error("unit {uscc} is registered as {registered_name}")]
    UnitNameMismatch {
        /// The code.
        uscc: String,
        /// The name on record.
        registered_name: String,
    },
    /// No certificate with that serial.
    #[error("no certificate with serial {serial}")]
    CertificateNotFound {
        /// The serial asked for.
        serial: CertificateSerial,
    },
    /// The certificate was revoked before.
    #[error("certificate {serial} already revoked at {revoked_at}")]
    AlreadyRevoked {
        /// The serial.
        serial: CertificateSerial,
        /// When it was revoked.
        revoked_at: chrono::DateTime<chrono::Utc>,
    },
    /// The certificate is not active (still pending, never signed).
    #[error("certificate {serial} is not active")]
    NotActive {
        /// The serial.
        serial: CertificateSerial,
    },
    /// The revocation reason is not one mcert issues.
    #[error("unknown revocation reason {given}")]
    UnknownReason {
        /// What was given.
        given: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A signature or key operation failed.
    #[error("cryptographic operation failed: {detail}")]
    Crypto {
        /// What failed.
        detail: &'static str,
    },
    /// An ASN.1 structure could not be encoded.
    #[error("ASN.1 encoding failed")]
    Encoding(#[from] der::Error),
}

impl Describe for CaError {
    fn describe(&self) -> Description {
        match self {
            Self::Domain(e) => e.describe(),
            Self::CsrMalformed { .. } => Description::new(
                code::CSR_MALFORMED,
                "证书请求（CSR）格式错误：请从 USB Key 重新导出 PKCS#10 证书请求（DER 或 PEM）",
            ),
            Self::CsrSignatureInvalid => Description::new(
                code::CSR_SIGNATURE_INVALID,
                "证书请求的签名验证失败：请求可能被篡改，或不是由该 USB Key 生成，请重新生成",
            ),
            Self::CsrAlgorithm { .. } => Description::new(
                code::CSR_ALGORITHM_UNSUPPORTED,
                "证书请求必须使用 SM2 密钥和 SM3withSM2 签名，请用支持国密算法的 USB Key 重新生成",
            ),
            Self::UnitNameMismatch {
                registered_name, ..
            } => Description::new(
                code::UNIT_NAME_MISMATCH,
                format!(
                    "该统一社会信用代码已登记的单位名称为“{registered_name}”，与填写的名称不一致；\
                     单位名称变更须先废除原证书再重新申请"
                ),
            ),
            Self::CertificateNotFound { serial } => Description::new(
                code::CERTIFICATE_NOT_FOUND,
                format!("未找到序列号为 {serial} 的证书，请核对序列号"),
            ),
            Self::AlreadyRevoked { revoked_at, .. } => Description::new(
                code::CERTIFICATE_ALREADY_REVOKED,
                format!(
                    "该证书已于 {} 废除，无需重复操作",
                    revoked_at.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            ),
            Self::NotActive { .. } => Description::new(
                code::CERTIFICATE_NOT_ACTIVE,
                "该证书尚未签发完成（未激活），不能执行此操作",
            ),
            Self::UnknownReason { .. } => Description::new(
                code::REVOCATION_REASON_UNKNOWN,
                "废除原因无效，可选：unspecified、keyCompromise、affiliationChanged、superseded、\
                 cessationOfOperation、privilegeWithdrawn",
            ),
            Self::Storage(e) => e.describe(),
            Self::MasterKeyMissing { .. }
            | Self::MasterKeyWrong
            | Self::MasterKeyFormat
            | Self::MasterKeyFile { .. } => Description::new(
                code::MASTER_KEY_ERROR,
                "服务器主密钥配置有误，请联系系统管理员",
            ),
            Self::Crypto { .. } | Self::Encoding(_) => Description::internal(),
        }
    }
}
