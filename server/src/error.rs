//! The one place where errors become HTTP statuses: every error describes itself (a stable
//! code, a kind and a Chinese message, `crate::failure`), and the kind alone decides the status.
//! Causes are logged with their chain; clients get `{code, message}` only.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

use crate::{
    applicants::ApplicantError,
    applications::ApplicationError,
    ca::CaError,
    captcha::CaptchaError,
    certificates::AppointError,
    clock::DevClockError,
    cosign::CosignError,
    domain::DomainError,
    downloads::DownloadError,
    enrol::{EnrolError, TicketError},
    failure::{Code, Describe, Description, ErrorKind, code},
    grants::GrantError,
    kv::KvError,
    login::LoginError,
    otp::OtpError,
    people::PeopleError,
    signing::SigningError,
    staff::StaffError,
    sync::MergeError,
    telemetry::error_chain,
    uploads::UploadError,
};

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What happened and what to do, in Chinese.
    pub message: String,
    /// Wrong PINs that may still be tried (only with `pin_incorrect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_attempts: Option<u32>,
    /// The input field the message is about, as the request named it (step and change fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
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
    /// From the portal registry.
    #[error(transparent)]
    Portal(#[from] crate::portals::PortalError),
    /// From the short-lived store.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// From co-signing.
    #[error(transparent)]
    Cosign(#[from] CosignError),
    /// From enrolment.
    #[error(transparent)]
    Enrol(#[from] EnrolError),
    /// From the slider check.
    #[error(transparent)]
    Captcha(#[from] CaptchaError),
    /// From SMS codes.
    #[error(transparent)]
    Otp(#[from] OtpError),
    /// From applicant sign-in.
    #[error(transparent)]
    Applicant(#[from] ApplicantError),
    /// From file uploads.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// From the application wizard.
    #[error(transparent)]
    Application(#[from] ApplicationError),
    /// From staff sign-in.
    #[error(transparent)]
    Staff(#[from] StaffError),
    /// A ticket that is not one.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// From merging an employer's platform accounts.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// From the mini-program account steps.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// From certificate downloads.
    #[error(transparent)]
    Download(#[from] DownloadError),
    /// From QR login.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// From finishing a co-signature.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// From item grants.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// From item grants on the phone.
    #[error(transparent)]
    PhoneGrant(#[from] crate::grants::phone::PhoneGrantError),
    /// From choosing a new primary.
    #[error(transparent)]
    Appoint(#[from] AppointError),
    /// From reading the signature log.
    #[error(transparent)]
    SignatureLog(#[from] crate::cosign::log::LogError),
    /// From revoking a certificate for a cause.
    #[error(transparent)]
    Revoke(#[from] crate::certificates::RevokeError),
    /// From renewals.
    #[error(transparent)]
    Renew(#[from] crate::certificates::RenewError),
    /// Seals.
    #[error(transparent)]
    Seal(#[from] crate::seals::SealError),
    /// Sealing a document.
    #[error(transparent)]
    Sealing(#[from] crate::seals::sealing::SealingError),
    /// From information changes.
    #[error(transparent)]
    Change(#[from] crate::applications::changes::ChangeError),
    /// From the development clock.
    #[error(transparent)]
    DevClock(#[from] DevClockError),
    /// A request that conflicts with the current state.
    #[error("conflict: {code}")]
    Conflict {
        /// Stable code.
        code: Code,
        /// Chinese message.
        message: &'static str,
    },
    /// Missing or wrong credentials of a non-user caller (a portal).
    #[error("unauthorized: {code}")]
    Unauthorized {
        /// Stable code.
        code: Code,
        /// Chinese message.
        message: &'static str,
    },
    /// A request that the extractors or a handler refused for its shape, before any service.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A fault of ours found in the HTTP layer (a route registered without what it needs).
    #[error("internal: {detail}")]
    Internal {
        /// What is wrong (logged).
        detail: &'static str,
    },
    /// A request that is not of the expected shape.
    #[error("bad request: {detail}")]
    BadRequest {
        /// What was wrong (logged).
        detail: String,
        /// Chinese message for the client.
        message: &'static str,
    },
}

/// Why a request was refused for its form alone: its path, query or body is not of the shape
/// the endpoint documents (`startup.rs` installs the extractors' handlers that make these).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A path segment does not parse (an id that is not a number).
    #[error("path: {detail}")]
    Path {
        /// The extractor's complaint (logged).
        detail: String,
    },
    /// The query string does not parse.
    #[error("query: {detail}")]
    Query {
        /// The extractor's complaint (logged).
        detail: String,
    },
    /// A JSON body that does not parse, misses a field, or has one too many.
    #[error("JSON body: {detail}")]
    Json {
        /// The extractor's complaint (logged).
        detail: String,
    },
    /// A body where JSON is expected is of another content type.
    #[error("body is not application/json")]
    NotJson,
    /// A body larger than the endpoint takes.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// Bytes allowed.
        limit: usize,
    },
    /// A body that could not be read (a broken upload stream, a bad encoding).
    #[error("payload: {detail}")]
    Payload {
        /// Why (logged).
        detail: String,
    },
    /// The optional body of `POST /api/v1/login-sessions` is there but is not the JSON object
    /// it documents.
    #[error("login session request: {detail}")]
    LoginSessionBody {
        /// The parser's complaint (logged).
        detail: String,
    },
    /// No endpoint at this path.
    #[error("no such endpoint")]
    NoEndpoint,
    /// The endpoint does not take this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Refused before any handler of ours, by something that answered in plain text (the
    /// last resort of `http::api_answers`, so that every `/api/` error is the JSON body).
    #[error("refused with {status}")]
    Refused {
        /// The status it answered with, kept.
        status: StatusCode,
    },
    /// Scopes that the portal may not ask for, or without `openid`.
    #[error("scopes {asked:?} not allowed for {client_id}")]
    ScopeNotAllowed {
        /// What was asked.
        asked: Vec<String>,
        /// The portal.
        client_id: String,
    },
}

impl Describe for RequestError {
    fn describe(&self) -> Description {
        match self {
            Self::Path { .. } => Description::new(
                code::PATH_INVALID,
                "请求地址中的编号或参数格式不正确，请检查链接后重试",
            ),
            Self::Query { .. } => Description::new(
                code::QUERY_INVALID,
                "请求地址中的查询参数格式不正确（名称或取值不对），请对照接口文档检查",
            ),
            Self::Json { .. } => Description::new(
                code::BAD_REQUEST,
                "请求内容不是所需格式的 JSON（字段缺失、多余或类型不对），请更新小程序或对照接口文档后重试",
            ),
            Self::NotJson => Description::new(
                code::CONTENT_TYPE_UNSUPPORTED,
                "请求内容须为 JSON，并带 Content-Type: application/json",
            ),
            Self::TooLarge { limit } => Description::new(
                code::BODY_TOO_LARGE,
                format!(
                    "请求内容过大（最多 {} KB），请精简后重试",
                    limit.div_ceil(1024)
                ),
            ),
            Self::Payload { .. } => Description::new(
                code::BODY_UNREADABLE,
                "请求内容无法读取（传输中断或编码有误），请重试",
            ),
            Self::NoEndpoint => Description::new(
                code::ENDPOINT_NOT_FOUND,
                "没有这个接口，请检查请求地址，或更新小程序后重试",
            ),
            Self::MethodNotAllowed => Description::new(
                code::METHOD_NOT_ALLOWED,
                "该接口不支持此请求方法，请对照接口文档检查",
            ),
            Self::Refused { status } if status.is_server_error() => Description::internal(),
            Self::Refused { .. } => Description::new(
                code::REQUEST_REFUSED,
                "请求无法处理，请对照接口文档检查请求的格式",
            ),
            Self::LoginSessionBody { .. } => Description::new(
                code::LOGIN_REQUEST_MALFORMED,
                "创建登录会话的请求体应为 JSON 对象，只含 scope、browser_address、browser_user_agent 字段；\
                 全部用默认值时请发送空请求体",
            ),
            Self::ScopeNotAllowed { .. } => Description::new(
                code::LOGIN_SCOPE_INVALID,
                "scope 必须包含 openid，且只能是登记时允许的范围（openid、profile、employer、grants）",
            ),
        }
    }
}

impl Describe for AppError {
    fn describe(&self) -> Description {
        match self {
            AppError::Ca(e) => e.describe(),
            AppError::Domain(e) => e.describe(),
            AppError::Kv(e) => e.describe(),
            AppError::Cosign(e) => e.describe(),
            AppError::Enrol(e) => e.describe(),
            AppError::Captcha(e) => e.describe(),
            AppError::Otp(e) => e.describe(),
            AppError::Applicant(e) => e.describe(),
            AppError::Upload(e) => e.describe(),
            AppError::Application(e) => e.describe(),
            AppError::Staff(e) => e.describe(),
            AppError::Ticket(e) => e.describe(),
            AppError::Merge(e) => e.describe(),
            AppError::People(e) => e.describe(),
            AppError::Download(e) => e.describe(),
            AppError::Login(e) => e.describe(),
            AppError::Signing(e) => e.describe(),
            AppError::Grant(e) => e.describe(),
            AppError::PhoneGrant(e) => e.describe(),
            AppError::Appoint(e) => e.describe(),
            AppError::Revoke(e) => e.describe(),
            AppError::Renew(e) => e.describe(),
            AppError::Seal(e) => e.describe(),
            AppError::Portal(e) => e.describe(),
            AppError::Sealing(e) => e.describe(),
            AppError::Change(e) => e.describe(),
            AppError::SignatureLog(e) => e.describe(),
            AppError::DevClock(e) => e.describe(),
            AppError::Request(e) => e.describe(),
            AppError::Conflict { code, message } => {
                Description::new(*code, *message).of_kind(ErrorKind::Conflict)
            }
            AppError::Unauthorized { code, message } => {
                Description::new(*code, *message).of_kind(ErrorKind::Unauthenticated)
            }
            AppError::BadRequest { message, .. } => Description::new(code::BAD_REQUEST, *message),
            AppError::Internal { .. } => Description::internal(),
        }
    }
}

/// The HTTP status of an error of `kind`.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    use StatusCode as S;
    match kind {
        ErrorKind::BadInput => S::BAD_REQUEST,
        ErrorKind::Unauthenticated => S::UNAUTHORIZED,
        ErrorKind::Forbidden => S::FORBIDDEN,
        ErrorKind::NotFound => S::NOT_FOUND,
        ErrorKind::MethodNotAllowed => S::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => S::CONFLICT,
        ErrorKind::Gone => S::GONE,
        ErrorKind::TooLarge => S::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => S::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Unprocessable => S::UNPROCESSABLE_ENTITY,
        ErrorKind::Locked => S::LOCKED,
        ErrorKind::RateLimited => S::TOO_MANY_REQUESTS,
        ErrorKind::NotImplemented => S::NOT_IMPLEMENTED,
        ErrorKind::Upstream => S::BAD_GATEWAY,
        ErrorKind::Unavailable => S::SERVICE_UNAVAILABLE,
        _ => S::INTERNAL_SERVER_ERROR,
    }
}

impl AppError {
    /// The status and description of this error. A request refused before any handler keeps
    /// the status it was refused with.
    fn parts(&self) -> (StatusCode, Description) {
        let description = self.describe();
        let status = match self {
            AppError::Request(RequestError::Refused { status }) => *status,
            _ => status_of(description.kind),
        };
        (status, description)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, description) = self.parts();
        let code = description.code.name();
        if status.is_server_error() {
            tracing::error!(error = %error_chain(self), code, "request failed");
        } else {
            tracing::info!(error = %self, code, "request rejected");
        }
        HttpResponse::build(status).json(ErrorBody {
            code,
            message: description.message.into_owned(),
            remaining_attempts: description.remaining_attempts,
            field: description.field,
        })
    }
}
