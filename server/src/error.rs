//! The one place where errors become HTTP statuses and Chinese messages. Causes are logged
//! with their chain; clients get `{code, message}` only.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

use crate::{
    ca::{CaError, StorageError},
    domain::DomainError,
    kv::KvError,
};

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What happened and what to do, in Chinese.
    pub message: String,
}

/// Any error a handler can return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// From the CA core.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// From parsing input.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// From the short-lived store.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A request that is not of the expected shape.
    #[error("bad request: {detail}")]
    BadRequest {
        /// What was wrong (logged).
        detail: String,
        /// Chinese message for the client.
        message: &'static str,
    },
}

/// Status, code and Chinese message of a CA error (shared by HTTP and the CLI).
pub fn describe_ca_error(error: &CaError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    match error {
        CaError::Domain(e) => (S::BAD_REQUEST, e.code(), e.message_zh()),
        CaError::CsrMalformed { .. } => (S::BAD_REQUEST, "csr_malformed", "证书请求（CSR）格式错误：请从 USB Key 重新导出 PKCS#10 证书请求（DER 或 PEM）".into()),
        CaError::CsrSignatureInvalid => (S::BAD_REQUEST, "csr_signature_invalid", "证书请求的签名验证失败：请求可能被篡改，或不是由该 USB Key 生成，请重新生成".into()),
        CaError::CsrAlgorithm { .. } => (S::BAD_REQUEST, "csr_algorithm_unsupported", "证书请求必须使用 SM2 密钥和 SM3withSM2 签名，请用支持国密算法的 USB Key 重新生成".into()),
        CaError::UnitNameMismatch { registered_name, .. } => (S::CONFLICT, "unit_name_mismatch", format!("该统一社会信用代码已登记的单位名称为“{registered_name}”，与填写的名称不一致；单位名称变更须先废除原证书再重新申请")),
        CaError::CertificateNotFound { serial } => (S::NOT_FOUND, "certificate_not_found", format!("未找到序列号为 {serial} 的证书，请核对序列号")),
        CaError::AlreadyRevoked { revoked_at, .. } => (S::CONFLICT, "certificate_already_revoked", format!("该证书已于 {} 废除，无需重复操作", revoked_at.format("%Y-%m-%d %H:%M:%S UTC"))),
        CaError::NotActive { .. } => (S::CONFLICT, "certificate_not_active", "该证书尚未签发完成（未激活），不能执行此操作".into()),
        CaError::UnknownReason { .. } => (S::BAD_REQUEST, "revocation_reason_unknown", "废除原因无效，可选：unspecified、keyCompromise、affiliationChanged、superseded、cessationOfOperation、privilegeWithdrawn".into()),
        CaError::Storage(StorageError::Unavailable { .. }) => (S::SERVICE_UNAVAILABLE, "storage_unavailable", "数据库暂时无法访问，请稍后重试".into()),
        CaError::Storage(StorageError::Conflict { .. }) => (S::CONFLICT, "concurrent_update", "数据正被同时修改，请稍后重试".into()),
        CaError::MasterKeyMissing { .. } | CaError::MasterKeyWrong | CaError::MasterKeyFormat | CaError::MasterKeyFile { .. } => {
            (S::INTERNAL_SERVER_ERROR, "master_key_error", "服务器主密钥配置有误，请联系系统管理员".into())
        }
        _ => (S::INTERNAL_SERVER_ERROR, "internal_error", "服务器内部错误，请稍后重试；如持续出现请联系客服".into()),
    }
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            AppError::Ca(e) => describe_ca_error(e),
            AppError::Domain(e) => (StatusCode::BAD_REQUEST, e.code(), e.message_zh()),
            AppError::Kv(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "kv_unavailable",
                "会话存储暂时无法访问，请稍后重试".into(),
            ),
            AppError::BadRequest { message, .. } => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                (*message).to_string(),
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %error_chain(self), code, "request failed");
        } else {
            tracing::info!(error = %self, code, "request rejected");
        }
        HttpResponse::build(status).json(ErrorBody { code, message })
    }
}

/// `error: cause: cause…`, for logs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
