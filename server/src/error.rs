//! The one place where errors become HTTP statuses and Chinese messages. Causes are logged
//! with their chain; clients get `{code, message}` only.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

use crate::{
    applicants::ApplicantError,
    applications::{ApplicationError, form_pdf::FormPdfError},
    ca::{CaError, StorageError},
    captcha::CaptchaError,
    cosign::CosignError,
    domain::DomainError,
    downloads::DownloadError,
    enrol::{EnrolError, TicketError},
    kv::KvError,
    login::LoginError,
    otp::OtpError,
    people::PeopleError,
    providers::{
        carrier::CarrierError, ocr::OcrError, platform::PlatformError, sms::SmsError,
        wechat::WeChatError,
    },
    staff::StaffError,
    sync::MergeError,
    telemetry::error_chain,
    uploads::UploadError,
};
use mcert_signer::SignerError;

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
    /// A request that conflicts with the current state.
    #[error("conflict: {code}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Chinese message.
        message: &'static str,
    },
    /// Missing or wrong credentials of a non-user caller (a portal).
    #[error("unauthorized: {code}")]
    Unauthorized {
        /// Stable code.
        code: &'static str,
        /// Chinese message.
        message: &'static str,
    },
    /// A request that the extractors or a handler refused for its shape, before any service.
    #[error(transparent)]
    Request(#[from] RequestError),
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

impl RequestError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use StatusCode as S;
        match self {
            Self::Path { .. } => (S::BAD_REQUEST, "path_invalid", "请求地址中的编号或参数格式不正确，请检查链接后重试".into()),
            Self::Query { .. } => (S::BAD_REQUEST, "query_invalid", "请求地址中的查询参数格式不正确（名称或取值不对），请对照接口文档检查".into()),
            Self::Json { .. } => (S::BAD_REQUEST, "bad_request", "请求内容不是所需格式的 JSON（字段缺失、多余或类型不对），请更新小程序或对照接口文档后重试".into()),
            Self::NotJson => (S::UNSUPPORTED_MEDIA_TYPE, "content_type_unsupported", "请求内容须为 JSON，并带 Content-Type: application/json".into()),
            Self::TooLarge { limit } => (S::PAYLOAD_TOO_LARGE, "body_too_large", format!("请求内容过大（最多 {} KB），请精简后重试", limit.div_ceil(1024))),
            Self::Payload { .. } => (S::BAD_REQUEST, "body_unreadable", "请求内容无法读取（传输中断或编码有误），请重试".into()),
            Self::NoEndpoint => (S::NOT_FOUND, "endpoint_not_found", "没有这个接口，请检查请求地址，或更新小程序后重试".into()),
            Self::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "method_not_allowed", "该接口不支持此请求方法，请对照接口文档检查".into()),
            Self::Refused { status } if status.is_server_error() => {
                let (_, code, message) = internal();
                (*status, code, message)
            }
            Self::Refused { status } => (*status, "request_refused", "请求无法处理，请对照接口文档检查请求的格式".into()),
            Self::LoginSessionBody { .. } => (S::BAD_REQUEST, "login_request_malformed", "创建登录会话的请求体应为 JSON 对象，只含 scope、browser_address、browser_user_agent 字段；全部用默认值时请发送空请求体".into()),
            Self::ScopeNotAllowed { .. } => (S::BAD_REQUEST, "login_scope_invalid", "scope 必须包含 openid，且只能是登记时允许的范围（openid、profile、employer）".into()),
        }
    }
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
        CaError::Storage(e) => describe_storage_error(e),
        CaError::MasterKeyMissing { .. } | CaError::MasterKeyWrong | CaError::MasterKeyFormat | CaError::MasterKeyFile { .. } => {
            (S::INTERNAL_SERVER_ERROR, "master_key_error", "服务器主密钥配置有误，请联系系统管理员".into())
        }
        _ => internal(),
    }
}

/// Status, code and Chinese message of a storage error.
pub fn describe_storage_error(error: &StorageError) -> (StatusCode, &'static str, String) {
    match error {
        StorageError::Unavailable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "数据库暂时无法访问，请稍后重试".into(),
        ),
        StorageError::Conflict { .. } => (
            StatusCode::CONFLICT,
            "concurrent_update",
            "数据正被同时修改，请稍后重试".into(),
        ),
        _ => internal(),
    }
}

/// Status, code and Chinese message of a co-signing error.
pub fn describe_cosign_error(error: &CosignError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    match error {
        CosignError::SessionNotFound => (S::NOT_FOUND, "cosign_session_not_found", "签名会话不存在或已过期（有效期 5 分钟），请重新发起".into()),
        CosignError::OutOfOrder => (S::CONFLICT, "cosign_out_of_order", "该签名会话的这一步已经完成，请勿重复提交；如需再次签名请重新发起".into()),
        CosignError::PinIncorrect { remaining } => (S::FORBIDDEN, "pin_incorrect", format!("PIN 码错误，还可尝试 {remaining} 次；连续错误 6 次证书将被锁定")),
        CosignError::KeyLocked => (S::LOCKED, "key_locked", "PIN 码连续错误 6 次，证书已锁定：请在小程序中重新完成实名认证、人脸识别和短信验证后解锁".into()),
        CosignError::NotUsable { status, .. } => {
            let why = match *status {
                "pending" => "尚未完成下载激活",
                "revoked" => "已废除",
                "abandoned" => "已作废（下载已重新开始）",
                "expired" => "已过期",
                _ => "状态异常",
            };
            (S::CONFLICT, "certificate_not_usable", format!("该证书{why}，不能用于签名"))
        }
        CosignError::Malformed { source, .. } => match source {
            SignerError::InvalidPoint => (S::BAD_REQUEST, "invalid_point", "提交的椭圆曲线点无效（不在 SM2 曲线上或为无穷远点），请更新小程序后重试".into()),
            SignerError::InvalidScalar => (S::BAD_REQUEST, "invalid_scalar", "提交的数值超出 SM2 取值范围，请更新小程序后重试".into()),
            SignerError::InvalidLength { .. } => (S::BAD_REQUEST, "invalid_length", "提交的数据长度不正确，请更新小程序后重试".into()),
            SignerError::InvalidSignatureEncoding => (S::BAD_REQUEST, "signature_malformed", "签名不是规范的 DER 编码，请更新小程序后重试".into()),
            _ => (S::BAD_REQUEST, "invalid_proof", "PIN 证明格式错误，请更新小程序后重试".into()),
        },
        CosignError::RoundOutdated { .. } => (S::BAD_REQUEST, "cosign_protocol_outdated", "小程序版本过旧，签名协议已升级（签名数据须加密传输）：请更新小程序后重试".into()),
        CosignError::RoundUndecryptable => (S::BAD_REQUEST, "cosign_round_undecryptable", "签名数据无法解密（已被篡改、不属于本次签名会话或服务器传输密钥不符），请重新发起签名".into()),
        CosignError::SignatureInvalid => (S::BAD_REQUEST, "signature_invalid", "签名验证失败，本次签名会话已结束，请重新发起".into()),
        CosignError::DeviceTokenInvalid => (S::UNAUTHORIZED, "device_token_invalid", "设备凭证无效：请在下载该证书的手机上操作，或重新下载证书".into()),
        CosignError::Storage(e) => describe_storage_error(e),
        CosignError::Ca(e) => describe_ca_error(e),
        CosignError::Kv(_) => kv_unavailable(),
        CosignError::Corrupt { .. } => internal(),
    }
}

/// Status, code and Chinese message of a QR-login error.
pub fn describe_login_error(error: &LoginError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    match error {
        LoginError::QrInvalid => (
            S::BAD_REQUEST,
            "login_qr_invalid",
            "这不是本系统的登录二维码，请扫描门户网站登录页上的二维码".into(),
        ),
        LoginError::NotFound => (
            S::NOT_FOUND,
            "login_not_found",
            "登录二维码不存在或已失效，请在门户网站刷新二维码后重新扫码".into(),
        ),
        LoginError::Expired => (
            S::GONE,
            "login_expired",
            "登录二维码已过期（有效期 2 分钟），请在门户网站刷新二维码后重新扫码".into(),
        ),
        LoginError::AlreadyScanned => (
            S::CONFLICT,
            "login_already_scanned",
            "该二维码已被扫描或已使用，请在门户网站刷新二维码后重新扫码".into(),
        ),
        LoginError::State { state } => (
            S::CONFLICT,
            "login_state",
            format!(
                "该登录已{}，不能执行此操作；如需登录请刷新二维码",
                match state {
                    crate::login::LoginState::Pending => "等待扫码",
                    crate::login::LoginState::Scanned => "扫码，等待确认",
                    crate::login::LoginState::Confirmed => "确认",
                    crate::login::LoginState::Consumed => "完成",
                    crate::login::LoginState::Denied => "被拒绝",
                    crate::login::LoginState::Mismatched => "因数字选择错误而终止",
                    crate::login::LoginState::Expired => "过期",
                    crate::login::LoginState::Cancelled => "取消",
                }
            ),
        ),
        LoginError::NotCreator => (
            S::FORBIDDEN,
            "login_not_creator",
            "该登录不是由本浏览器发起的，请在门户网站重新点击登录".into(),
        ),
        LoginError::CertificateNotHeld => (
            S::FORBIDDEN,
            "certificate_not_held",
            "该证书不是您本人下载的证书，请选择您自己的证书".into(),
        ),
        LoginError::NoCertificate => (
            S::NOT_FOUND,
            "no_certificate",
            "您还没有可用的证书：请先在“手机CA证书下载”中下载证书；已废除、已过期的证书不能登录"
                .into(),
        ),
        LoginError::CertificateNotUsable { status } => (
            S::CONFLICT,
            "certificate_not_usable",
            format!(
                "该证书{}，不能用于登录",
                match *status {
                    "revoked" => "已废除",
                    "expired" => "已过期或尚未生效",
                    "pending" => "尚未完成下载激活",
                    _ => "状态异常",
                }
            ),
        ),
        LoginError::MatchWrong => (
            S::FORBIDDEN,
            "login_match_wrong",
            "您选择的数字与网页上显示的不一致，本次登录已终止。如果网页不是您本人刚刚打开的，\
             可能有人在冒用您的证书登录，请勿再扫描该二维码；如需登录，请在门户网站刷新二维码"
                .into(),
        ),
        LoginError::ChallengeMismatch => (
            S::BAD_REQUEST,
            "login_challenge_mismatch",
            "签名内容与当前登录不符，本次确认无效，请重新扫码".into(),
        ),
        LoginError::RateLimited => (
            S::TOO_MANY_REQUESTS,
            "login_rate_limited",
            "操作过于频繁，请一分钟后再试".into(),
        ),
        LoginError::Cosign(e) => describe_cosign_error(e),
        LoginError::People(e) => describe_people_error(e),
        LoginError::Storage(e) => describe_storage_error(e),
        LoginError::Ca(e) => describe_ca_error(e),
        LoginError::Kv(_) => kv_unavailable(),
        LoginError::Corrupt => internal(),
    }
}

/// Status, code and Chinese message of an enrolment error.
pub fn describe_enrol_error(error: &EnrolError) -> (StatusCode, &'static str, String) {
    match error {
        EnrolError::TicketInvalid { .. } => (
            StatusCode::NOT_FOUND,
            "enrolment_ticket_invalid",
            "下载码无效、已过期或已使用，请联系经办机构重新获取".into(),
        ),
        EnrolError::Superseded => (
            StatusCode::CONFLICT,
            "enrolment_superseded",
            "该证书下载已在另一次操作中重新开始，本次下载作废，请以最新一次为准".into(),
        ),
        EnrolError::Cosign(e) => describe_cosign_error(e),
        EnrolError::Ca(e) => describe_ca_error(e),
        EnrolError::Storage(e) => describe_storage_error(e),
    }
}

/// Status, code and Chinese message of a staff account error (shared by HTTP and the CLI).
pub fn describe_staff_error(error: &StaffError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    match error {
        StaffError::WrongCredentials => (
            S::UNAUTHORIZED,
            "staff_credentials_wrong",
            "用户名或密码错误；15 分钟内错误 5 次账号将锁定 15 分钟".into(),
        ),
        StaffError::Locked { until } => {
            let shown = chrono::FixedOffset::east_opt(8 * 3600).map_or_else(
                || until.format("%H:%M UTC").to_string(),
                |beijing| until.with_timezone(&beijing).format("%H:%M").to_string(),
            );
            (
                S::LOCKED,
                "staff_locked",
                format!("密码错误次数过多，账号已锁定，请于 {shown} 后再试"),
            )
        }
        StaffError::AddressLimit => (
            S::TOO_MANY_REQUESTS,
            "staff_address_limit",
            "当前网络登录尝试次数过多，请 15 分钟后再试".into(),
        ),
        StaffError::Busy => (
            S::SERVICE_UNAVAILABLE,
            "staff_sign_in_busy",
            "登录请求较多，请稍后重试".into(),
        ),
        StaffError::WeakPassword => (
            S::BAD_REQUEST,
            "staff_password_weak",
            "密码至少 10 位，且须同时包含字母和数字".into(),
        ),
        StaffError::InvalidUsername => (
            S::BAD_REQUEST,
            "staff_username_invalid",
            "用户名只能包含字母、数字、“.”、“_”和“-”，最长 64 位".into(),
        ),
        StaffError::UsernameTaken => (
            S::CONFLICT,
            "staff_username_taken",
            "该用户名已存在，请换一个".into(),
        ),
        StaffError::NotSignedIn => (
            S::UNAUTHORIZED,
            "staff_not_signed_in",
            "工作人员登录已过期或尚未登录，请重新登录".into(),
        ),
        StaffError::Storage(e) => describe_storage_error(e),
        StaffError::Kv(_) => kv_unavailable(),
        StaffError::Hash => internal(),
    }
}

/// Status, code and Chinese message of a mini-program account error.
pub fn describe_people_error(error: &PeopleError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    match error {
        PeopleError::NotSignedIn => (
            S::UNAUTHORIZED,
            "mp_not_signed_in",
            "登录已失效，请重新进入小程序登录".into(),
        ),
        PeopleError::NotVerified => (
            S::NOT_FOUND,
            "person_not_verified",
            "未查询到人员信息，请先实名认证".into(),
        ),
        PeopleError::FaceFailed => (
            S::FORBIDDEN,
            "face_failed",
            "人脸识别未通过，请在光线充足处正对屏幕重新刷脸认证".into(),
        ),
        PeopleError::FaceOtherPerson => (
            S::FORBIDDEN,
            "face_other_person",
            "人脸识别结果不是本人在本微信中刷脸所得（姓名、身份证号或微信账号不一致），请本人用本微信重新刷脸认证".into(),
        ),
        PeopleError::FaceExpired => (
            S::FORBIDDEN,
            "face_expired",
            "人脸识别结果已过期，请重新刷脸认证".into(),
        ),
        PeopleError::NameMismatch => (
            S::CONFLICT,
            "person_name_mismatch",
            "该身份证号已登记的姓名与填写的不一致；如姓名有变更，请联系云南CA公司核实".into(),
        ),
        PeopleError::PhoneNotOwned => (
            S::CONFLICT,
            "phone_not_owned",
            "未获取到绑定信息：该手机号未登记在您本人名下（申请手机号和经办人不一致）。请将人、号不一致的\
             手机证书申请废除，再用本人实名登记的手机号重新申请；新办理的号码，运营商实名信息可能 1–3 天后\
             才能查到"
                .into(),
        ),
        PeopleError::PhoneBound => (
            S::CONFLICT,
            "phone_bound",
            "手机号已被绑定：该手机号已与其他经办人绑定。请前经办人在就业彩云南小程序“我的—账号管理—\
             手机号解绑”中解绑，或联系云南CA公司核实身份后解绑"
                .into(),
        ),
        PeopleError::PhoneNotBound => (
            S::NOT_FOUND,
            "phone_not_bound",
            "该手机号未绑定，无需解绑".into(),
        ),
        PeopleError::CertificateNotHeld => (
            S::NOT_FOUND,
            "certificate_not_held",
            "未找到该证书，或该证书已废除、已过期，不能设为默认证书".into(),
        ),
        PeopleError::ReasonMissing => (
            S::BAD_REQUEST,
            "staff_reason_missing",
            "须填写核实身份的方式和原因（200 字以内）".into(),
        ),
        PeopleError::WeChat(e) => (wechat_status(e), e.code(), e.message_zh().into()),
        PeopleError::Carrier(e) => (carrier_status(e), e.code(), e.message_zh().into()),
        PeopleError::Otp(e) => describe_otp_error(e),
        PeopleError::Domain(e) => (S::BAD_REQUEST, e.code(), e.message_zh()),
        PeopleError::Storage(e) => describe_storage_error(e),
        PeopleError::Kv(_) => kv_unavailable(),
    }
}

/// Status, code and Chinese message of a download error.
pub fn describe_download_error(error: &DownloadError) -> (StatusCode, &'static str, String) {
    match error {
        DownloadError::NoBindingInfo => (
            StatusCode::NOT_FOUND,
            "no_binding_info",
            "未获取到绑定信息：没有以您本人为经办人、以已绑定手机号申请并已审核通过的单位。请核对申请时填写的\
             经办人和手机号是否为本人；人、号不一致的申请需废除后，用本人实名登记的手机号重新申请"
                .into(),
        ),
        DownloadError::NotSynced => (
            StatusCode::CONFLICT,
            "application_not_synced",
            "未获取到绑定信息：申请资料尚未推送到就业系统，请稍后再试；如长时间未推送成功，请联系\
             云南CA公司进行数据推送"
                .into(),
        ),
        DownloadError::NotLocked => (
            StatusCode::CONFLICT,
            "key_not_locked",
            "该证书未锁定，无需解锁".into(),
        ),
        DownloadError::ReverificationRequired => (
            StatusCode::FORBIDDEN,
            "download_reverification_required",
            "您已下载过该单位的证书。为防止他人冒用，重新下载需再次进行人脸识别，并输入发送到您绑定手机的\
             短信验证码"
                .into(),
        ),
        DownloadError::People(e) => describe_people_error(e),
        DownloadError::Application(e) => describe_application_error(e),
        DownloadError::Enrol(e) => describe_enrol_error(e),
        DownloadError::Domain(e) => (StatusCode::BAD_REQUEST, e.code(), e.message_zh()),
        DownloadError::Storage(e) => describe_storage_error(e),
    }
}

/// The HTTP status of a WeChat error.
fn wechat_status(error: &WeChatError) -> StatusCode {
    match error {
        WeChatError::CodeInvalid { .. }
        | WeChatError::CodeUsed { .. }
        | WeChatError::FaceResultInvalid { .. } => StatusCode::BAD_REQUEST,
        WeChatError::RiskyUser { .. } => StatusCode::FORBIDDEN,
        WeChatError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The HTTP status of a carrier-check error.
fn carrier_status(error: &CarrierError) -> StatusCode {
    match error {
        CarrierError::InvalidInput { .. } | CarrierError::NumberUnsupported { .. } => {
            StatusCode::BAD_REQUEST
        }
        CarrierError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Status, code and Chinese message of a merge error.
pub fn describe_merge_error(error: &MergeError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    match error {
        MergeError::NotBlocked => (
            S::CONFLICT,
            "merge_not_needed",
            "该单位没有因“需要进行单位信息合并”而暂停同步的申请，无需合并".into(),
        ),
        MergeError::UnknownAccount { accounts } => (
            S::BAD_REQUEST,
            "merge_account_unknown",
            format!(
                "保留的账号须是就业系统列出的账号之一：{}",
                accounts.join("、")
            ),
        ),
        MergeError::Platform(PlatformError::Unavailable { .. }) => (
            S::SERVICE_UNAVAILABLE,
            "platform_unavailable",
            "就业系统暂时无法访问，账号未合并，请稍后重试".into(),
        ),
        MergeError::Platform(PlatformError::Refused { .. }) => (
            S::BAD_GATEWAY,
            "platform_merge_refused",
            "就业系统拒绝了合并请求，账号未合并：请与就业系统核对账号后重试".into(),
        ),
        MergeError::Storage(e) => describe_storage_error(e),
    }
}

/// Status, code and Chinese message of a wizard error.
pub fn describe_application_error(error: &ApplicationError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    match error {
        ApplicationError::NotFound => (
            S::NOT_FOUND,
            "application_not_found",
            "未找到该申请，请刷新后重试".into(),
        ),
        ApplicationError::NotEditable { status } => (
            S::CONFLICT,
            "application_not_editable",
            format!(
                "该申请当前状态为“{}”，不能修改；审核驳回后可修改并重新提交",
                status.label_zh()
            ),
        ),
        ApplicationError::AgreementTooSoon { remaining_secs } => (
            S::CONFLICT,
            "agreement_countdown",
            format!("请仔细阅读电子认证服务协议，{remaining_secs} 秒后可点击同意"),
        ),
        ApplicationError::StepMissing { missing } => {
            let step = match *missing {
                "agreement" => "阅读并同意电子认证服务协议",
                "enterprise" => "填写企业基本信息",
                "agent" => "填写经办人资料",
                _ => "填写 CA 信息",
            };
            (
                S::CONFLICT,
                "application_step_missing",
                format!("请先{step}"),
            )
        }
        ApplicationError::DraftExists { id } => (
            S::CONFLICT,
            "application_draft_exists",
            format!("已有一份填写中的申请（编号 {id}），请继续填写该申请"),
        ),
        ApplicationError::Domain(e) => (S::BAD_REQUEST, e.code(), e.message_zh()),
        ApplicationError::Field { message, .. } => (
            S::BAD_REQUEST,
            "application_field_invalid",
            (*message).into(),
        ),
        ApplicationError::Upload(UploadError::Storage(e)) | ApplicationError::Storage(e) => {
            describe_storage_error(e)
        }
        ApplicationError::Upload(e) => (S::BAD_REQUEST, e.code(), e.message_zh().into()),
        ApplicationError::ReasonMissing => (
            S::BAD_REQUEST,
            "reject_reason_missing",
            "驳回须填写申请人能据以修改的原因（200 字以内）".into(),
        ),
        // A value saved while other fallback fonts were configured: the applicant edits it.
        ApplicationError::FormPdf(FormPdfError::Unprintable(e)) => {
            (S::CONFLICT, e.code(), e.message_zh())
        }
        ApplicationError::FormPdf(_) => internal(),
        ApplicationError::UploadPurpose { .. } => (
            S::BAD_REQUEST,
            "upload_wrong_purpose",
            "所选文件类型与此栏不符（如把身份证上传到了营业执照栏），请重新上传".into(),
        ),
    }
}

/// Status, code and Chinese message of an SMS-code error.
pub fn describe_otp_error(error: &OtpError) -> (StatusCode, &'static str, String) {
    let status = match error {
        OtpError::TooSoon { .. } | OtpError::PhoneDailyLimit | OtpError::AddressLimit => {
            StatusCode::TOO_MANY_REQUESTS
        }
        OtpError::Sms(SmsError::Rejected { .. }) if error.code() == "sms_rate_limited" => {
            StatusCode::TOO_MANY_REQUESTS
        }
        OtpError::Sms(SmsError::Rejected { .. }) => StatusCode::BAD_REQUEST,
        OtpError::Sms(_) | OtpError::Kv(_) => StatusCode::SERVICE_UNAVAILABLE,
        OtpError::Corrupt => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, error.code(), error.message_zh())
}

fn kv_unavailable() -> (StatusCode, &'static str, String) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "kv_unavailable",
        "会话存储暂时无法访问，请稍后重试".into(),
    )
}

fn internal() -> (StatusCode, &'static str, String) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "服务器内部错误，请稍后重试；如持续出现请联系客服".into(),
    )
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            AppError::Ca(e) => describe_ca_error(e),
            AppError::Cosign(e) => describe_cosign_error(e),
            AppError::Enrol(e) => describe_enrol_error(e),
            AppError::Captcha(e) => {
                let status = match e {
                    CaptchaError::ChallengeNotFound => StatusCode::NOT_FOUND,
                    CaptchaError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
                    CaptchaError::Kv(_) => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::BAD_REQUEST,
                };
                (status, e.code(), e.message_zh())
            }
            AppError::Otp(e) => describe_otp_error(e),
            AppError::Applicant(ApplicantError::Otp(e)) => describe_otp_error(e),
            AppError::Applicant(ApplicantError::NotSignedIn) => (
                StatusCode::UNAUTHORIZED,
                "not_signed_in",
                "登录已过期或尚未登录，请用手机号和短信验证码重新登录".into(),
            ),
            AppError::Applicant(ApplicantError::Storage(e)) => describe_storage_error(e),
            AppError::Applicant(ApplicantError::Kv(_)) => kv_unavailable(),
            AppError::Application(e) => describe_application_error(e),
            AppError::Staff(e) => describe_staff_error(e),
            AppError::Upload(UploadError::Storage(e)) => describe_storage_error(e),
            AppError::Upload(e) => {
                let status = match e {
                    UploadError::TooLarge | UploadError::RequestTooLarge => {
                        StatusCode::PAYLOAD_TOO_LARGE
                    }
                    UploadError::DailyLimit => StatusCode::TOO_MANY_REQUESTS,
                    UploadError::Kv(_) => StatusCode::SERVICE_UNAVAILABLE,
                    UploadError::NotFound => StatusCode::NOT_FOUND,
                    UploadError::OcrNotConfigured => StatusCode::NOT_IMPLEMENTED,
                    UploadError::Ocr(OcrError::Unreadable { .. }) => {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                    UploadError::Ocr(OcrError::Unavailable { .. }) => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                    UploadError::Ocr(_) => StatusCode::BAD_GATEWAY,
                    _ => StatusCode::BAD_REQUEST,
                };
                (status, e.code(), e.message_zh().into())
            }
            AppError::Ticket(_) => (
                StatusCode::BAD_REQUEST,
                "enrolment_ticket_malformed",
                "下载码格式不正确：应为 24 位字母和数字（2-7），可带短横线".into(),
            ),
            AppError::Merge(e) => describe_merge_error(e),
            AppError::People(e) => describe_people_error(e),
            AppError::Download(e) => describe_download_error(e),
            AppError::Login(e) => describe_login_error(e),
            AppError::Domain(e) => (StatusCode::BAD_REQUEST, e.code(), e.message_zh()),
            AppError::Kv(_) => kv_unavailable(),
            AppError::Conflict { code, message } => {
                (StatusCode::CONFLICT, code, (*message).to_string())
            }
            AppError::Unauthorized { code, message } => {
                (StatusCode::UNAUTHORIZED, code, (*message).to_string())
            }
            AppError::Request(e) => e.parts(),
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
        let remaining_attempts = match self {
            AppError::Cosign(CosignError::PinIncorrect { remaining })
            | AppError::Login(LoginError::Cosign(CosignError::PinIncorrect { remaining }))
            | AppError::Enrol(EnrolError::Cosign(CosignError::PinIncorrect { remaining })) => {
                Some(*remaining)
            }
            _ => None,
        };
        HttpResponse::build(status).json(ErrorBody {
            code,
            message,
            remaining_attempts,
        })
    }
}
