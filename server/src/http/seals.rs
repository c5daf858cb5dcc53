//! Electronic seals over HTTP (docs/seals.md): the seal's status for the applicant, staff's
//! confirmation of a captured stamp, the phone's list of its employers' seals, portals' sealing
//! sessions and their results.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    login::{EmbeddedSessionBody, embedded_session, own_session},
    principals::{ApplicantSession, MpSession, PortalClient, StaffSession},
};
use crate::{
    error::AppError,
    login::{LoginError, Requester, qr},
    seals::{
        SealError, SealRecord, SealStatus, kind_str,
        sealing::{
            Placement, RequestedDocument, SealOrder, SealRequest, SealedDocument, SealingError,
        },
        verification::{self, PdfReport},
    },
};
use mcert_ses::{Check, Report, Verdict, pdf::MAX_PDF_BYTES};

/// A seal and where it stands (公司的章状态).
#[derive(Debug, Serialize, ToSchema)]
pub struct SealBody {
    /// Seal id (absent while the application waits for approval).
    pub id: Option<i64>,
    /// The code (电子印章标识, esID) of its current structure; null before the first.
    pub es_id: Option<String>,
    /// The application it was made for.
    pub application_id: i64,
    /// 统一社会信用代码.
    pub uscc: String,
    /// The seal's name: the employer's.
    pub employer_name: String,
    /// `generated` (CA生成印章) or `traditional` (采集传统盖章), when asked for.
    pub kind: Option<String>,
    /// `none`, `making`, `made` or `failed`.
    pub status: &'static str,
    /// 未申请印章, 制作中, 已制作 or 制作失败.
    pub status_label: &'static str,
    /// Why making it failed (制作失败).
    pub failure_reason: Option<String>,
    /// Size on paper, mm.
    pub width_mm: Option<u32>,
    /// Size on paper, mm.
    pub height_mm: Option<u32>,
    /// The seal structure's version (0 before the first).
    pub version: u32,
    /// The certificates the current structure lists.
    pub certificates: Vec<String>,
    /// Valid from.
    pub valid_start: Option<DateTime<Utc>>,
    /// Valid until.
    pub valid_end: Option<DateTime<Utc>>,
    /// The picture, PNG base64 (absent when it could not be made).
    pub picture_png: Option<String>,
}

impl SealBody {
    fn of(seal: &SealRecord) -> Self {
        Self {
            id: Some(seal.id),
            es_id: (seal.version > 0).then(|| seal.es_id(seal.version)),
            application_id: seal.application_id,
            uscc: seal.uscc.clone(),
            employer_name: seal.employer_name.clone(),
            kind: Some(kind_str(seal.kind).to_string()),
            status: seal.status.as_str(),
            status_label: seal.status.label_zh(),
            failure_reason: seal.failure_reason.clone(),
            width_mm: Some(seal.width_mm),
            height_mm: Some(seal.height_mm),
            version: seal.version,
            certificates: seal.certificate_serials.clone(),
            valid_start: seal.valid_start,
            valid_end: seal.valid_end,
            picture_png: seal.picture.as_ref().map(|png| STANDARD.encode(png)),
        }
    }
}

/// The seal of one of the applicant's applications.
#[utoipa::path(get, path = "/api/v1/applications/{id}/seal", tag = "seals",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = SealBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn application_seal(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let application = state
        .applications
        .get(&applicant, path.into_inner())
        .await?;
    let (status, seal) = state.sealing.seals().status_of(&application).await?;
    let body = match seal {
        Some(seal) => SealBody::of(&seal),
        None => SealBody {
            id: None,
            es_id: None,
            application_id: application.id,
            uscc: application.uscc.clone().unwrap_or_default(),
            employer_name: application
                .enterprise
                .as_ref()
                .map(|e| e.name.clone())
                .unwrap_or_default(),
            kind: application
                .ca
                .as_ref()
                .and_then(|ca| ca.seal_kind)
                .map(|kind| kind_str(kind).to_string()),
            status: status.as_str(),
            status_label: status.label_zh(),
            failure_reason: None,
            width_mm: None,
            height_mm: None,
            version: 0,
            certificates: Vec::new(),
            valid_start: None,
            valid_end: None,
            picture_png: None,
        },
    };
    Ok(HttpResponse::Ok().json(body))
}

/// Which seals staff list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SealQueueQuery {
    /// `making` (captured stamps waiting for confirmation), `made`, `failed`; all without.
    pub status: Option<String>,
}

/// The seals staff see, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SealListBody {
    /// The seals.
    pub seals: Vec<SealBody>,
}

/// Seals for staff: `?status=making` is the queue of captured stamps to confirm.
#[utoipa::path(get, path = "/api/v1/staff/seals", tag = "seals",
    params(SealQueueQuery), security(("staff_session" = [])),
    responses((status = 200, body = SealListBody), (status = 400, body = crate::error::ErrorBody)))]
pub async fn staff_seals(
    state: web::Data<AppState>,
    query: web::Query<SealQueueQuery>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(text) => Some(SealStatus::parse(text).ok_or_else(|| AppError::BadRequest {
            detail: format!("status {text:?}"),
            message: "status 应为 making、made 或 failed",
        })?),
    };
    let seals = state.sealing.seals().queue(status).await?;
    Ok(HttpResponse::Ok().json(SealListBody {
        seals: seals.iter().map(SealBody::of).collect(),
    }))
}

/// One seal for staff, with the uploaded form it was cut out of.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffSealBody {
    /// The seal.
    #[serde(flatten)]
    pub seal: SealBody,
    /// For a captured stamp: the upload id of the stamped form (`GET /api/v1/staff/uploads/{id}`),
    /// to see the cut-out beside the original.
    pub form_upload_id: Option<String>,
}

/// A seal for staff.
#[utoipa::path(get, path = "/api/v1/staff/seals/{id}", tag = "seals",
    params(("id" = i64, Path)), security(("staff_session" = [])),
    responses((status = 200, body = StaffSealBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn staff_seal(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let seal = state.sealing.seals().seal(path.into_inner()).await?;
    let application = state.applications.for_staff(seal.application_id).await?;
    Ok(HttpResponse::Ok().json(StaffSealBody {
        seal: SealBody::of(&seal),
        form_upload_id: application.ca.map(|ca| ca.form_upload_id),
    }))
}

/// A seal's picture as PNG (transparent background).
#[utoipa::path(get, path = "/api/v1/staff/seals/{id}/picture.png", tag = "seals",
    params(("id" = i64, Path)), security(("staff_session" = [])),
    responses((status = 200, content_type = "image/png"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn staff_seal_picture(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let seal = state.sealing.seals().seal(path.into_inner()).await?;
    let png = seal.picture.ok_or(SealError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(png))
}

/// Staff's decision on a captured stamp.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealDecisionRequest {
    /// `true`: the cut-out is the stamp (已制作); `false`: it is not (制作失败, with `reason`).
    pub approve: bool,
    /// Why it was rejected, shown to the applicant.
    pub reason: Option<String>,
}

/// Confirms or rejects a captured stamp (audited).
#[utoipa::path(post, path = "/api/v1/staff/seals/{id}/decision", tag = "seals",
    params(("id" = i64, Path)), request_body = SealDecisionRequest, security(("staff_session" = [])),
    responses((status = 200, body = SealBody), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn decide(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<SealDecisionRequest>,
    reviewer: StaffSession,
) -> Result<HttpResponse, AppError> {
    let rejection = if body.approve {
        None
    } else {
        Some(body.reason.clone().unwrap_or_default())
    };
    let seal = state
        .sealing
        .seals()
        .decide(&reviewer, path.into_inner(), rejection)
        .await?;
    Ok(HttpResponse::Ok().json(SealBody::of(&seal)))
}

/// The seals of the employers the phone's person holds certificates of.
#[utoipa::path(get, path = "/api/v1/mp/seals", tag = "seals", security(("mp_session" = [])),
    responses((status = 200, body = SealListBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn phone_seals(
    state: web::Data<AppState>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let person = state.people.person(&user).await?;
    let (held, _) = state.people.certificates_of(&person).await?;
    let mut employers: Vec<String> = held
        .iter()
        .filter(|c| state.sealing.in_force(c))
        .map(|c| c.uscc.clone())
        .collect();
    employers.sort();
    employers.dedup();
    let mut seals = Vec::new();
    for uscc in employers {
        // The made seal's structure is brought up to date with the certificates in force.
        match state.sealing.seals().current(&uscc).await {
            Ok(_) | Err(SealError::NotMade | SealError::NoCertificate) => {}
            Err(e) => return Err(e.into()),
        }
        seals.extend(state.sealing.seals().of_employer(&uscc).await?);
    }
    Ok(HttpResponse::Ok().json(SealListBody {
        seals: seals.iter().map(SealBody::of).collect(),
    }))
}

/// The document of a sealing session, as the phone shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SealedDocumentBody {
    /// The title the portal gave.
    pub title: String,
    /// SM3 of the document (of the uploaded file for a PDF), hex.
    pub sm3: String,
    /// `hash` or `pdf`.
    pub kind: &'static str,
    /// A PDF's size, bytes.
    pub size: Option<u64>,
    /// A PDF's page the seal goes on.
    pub page: Option<u32>,
}

impl From<&SealOrder> for SealedDocumentBody {
    fn from(order: &SealOrder) -> Self {
        match &order.document {
            SealedDocument::Hash { sm3 } => Self {
                title: order.title.clone(),
                sm3: sm3.clone(),
                kind: "hash",
                size: None,
                page: None,
            },
            SealedDocument::Pdf {
                sm3,
                size,
                placement,
            } => Self {
                title: order.title.clone(),
                sm3: sm3.clone(),
                kind: "pdf",
                size: Some(*size),
                page: Some(placement.page),
            },
        }
    }
}

/// The seal a sealing session stamps, as the phone shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SealPictureBody {
    /// The code (电子印章标识, esID) of the structure the phone will sign: the `TBS_Sign`
    /// names the same.
    pub id: String,
    /// The seal's name.
    pub name: String,
    /// `generated` or `traditional`.
    pub kind: &'static str,
    /// The picture, PNG base64.
    pub picture_png: String,
    /// Size, mm.
    pub width_mm: u32,
    /// Size, mm.
    pub height_mm: u32,
}

impl From<&SealRecord> for SealPictureBody {
    fn from(seal: &SealRecord) -> Self {
        Self {
            id: seal.es_id(seal.version),
            name: seal.employer_name.clone(),
            kind: kind_str(seal.kind),
            picture_png: seal
                .picture
                .as_ref()
                .map(|png| STANDARD.encode(png))
                .unwrap_or_default(),
            width_mm: seal.width_mm,
            height_mm: seal.height_mm,
        }
    }
}

/// The employer whose seal is asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployerBody {
    /// 统一社会信用代码.
    pub uscc: String,
    /// 单位名称.
    pub name: String,
}

/// A portal's request to seal a document it keeps, named by its SM3.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HashSealRequest {
    /// The employer whose seal is asked for (the one logged in at the portal).
    pub uscc: String,
    /// The document's title, shown on the phone (1 to 200 characters).
    pub title: String,
    /// SM3 of the document, 64 hex digits.
    pub sm3: String,
    /// A hosted session: mcert shows the QR at the answer's `page_url` and sends the browser
    /// back here (on one of the portal's origins) with `seal_session={id}` once it ends.
    pub return_url: Option<String>,
    /// The address of the portal's user, as for login sessions.
    pub browser_address: Option<String>,
    /// That browser's `User-Agent`.
    pub browser_user_agent: Option<String>,
}

fn browser_address(text: Option<&str>) -> Result<Option<std::net::IpAddr>, AppError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Ok(Some(text.parse().map_err(|_| AppError::BadRequest {
            detail: format!("browser_address {text:?}"),
            message: "browser_address 应为用户浏览器的 IP 地址（如 222.172.200.68），请检查门户后端传入的值",
        })?)),
    }
}

/// Creates a sealing session for a document the portal keeps: the phone seals its SM3.
#[utoipa::path(post, path = "/api/v1/seal-sessions", tag = "seals", request_body = HashSealRequest,
    security(("client_basic" = [])),
    responses((status = 201, body = EmbeddedSessionBody), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create_hash_session(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<HashSealRequest>,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let address = super::client_address(&request);
    let requester = Requester {
        limit_key: &address,
        browser_id: None,
        address: browser_address(body.browser_address.as_deref())?,
        user_agent: body.browser_user_agent.as_deref(),
    };
    let created = state
        .sealing
        .create(
            &portal,
            SealRequest {
                uscc: body.uscc,
                title: body.title,
                document: RequestedDocument::Hash(body.sm3),
                return_url: body.return_url,
            },
            requester,
        )
        .await?;
    embedded_session(&state, created)
}

/// Why a multipart body was refused.
#[derive(Debug, thiserror::Error)]
enum PartError {
    #[error("multipart: {0}")]
    Multipart(String),
    #[error("unexpected field {0}")]
    Unexpected(String),
    #[error("field {0} repeated")]
    Repeated(&'static str),
    #[error("field {0} too large")]
    TooLarge(&'static str),
}

/// Reads a `multipart/form-data` body of the named fields, each at most once and within its
/// limit.
async fn read_parts(
    payload: &mut Multipart,
    allowed: &[(&'static str, usize)],
) -> Result<std::collections::HashMap<&'static str, Vec<u8>>, PartError> {
    let mut parts = std::collections::HashMap::new();
    while let Some(mut field) = payload
        .try_next()
        .await
        .map_err(|e| PartError::Multipart(e.to_string()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let &(name, limit) = allowed
            .iter()
            .find(|(allowed, _)| *allowed == name)
            .ok_or(PartError::Unexpected(name))?;
        if parts.contains_key(name) {
            return Err(PartError::Repeated(name));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .try_next()
            .await
            .map_err(|e| PartError::Multipart(e.to_string()))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(PartError::TooLarge(name));
            }
            bytes.extend_from_slice(&chunk);
        }
        parts.insert(name, bytes);
    }
    Ok(parts)
}

fn malformed(detail: impl ToString) -> AppError {
    AppError::BadRequest {
        detail: detail.to_string(),
        message: "盖章请求格式错误：应为 multipart/form-data，含 uscc、title、page、x_mm、y_mm 与 file 字段",
    }
}

/// Creates a sealing session for a PDF (multipart: `uscc`, `title`, `page`, `x_mm`, `y_mm`
/// (the seal's centre, mm from the page's top-left corner), `file`, and optionally
/// `browser_address`, `browser_user_agent`); the PDF is at most 10 MiB, not encrypted. The
/// stamped PDF is the result's `pdf_url`.
#[utoipa::path(post, path = "/api/v1/seal-sessions/pdf", tag = "seals",
    request_body(content_type = "multipart/form-data", description = "fields `uscc`, `title`, `page`, `x_mm`, `y_mm`, `file`"),
    security(("client_basic" = [])),
    responses((status = 201, body = EmbeddedSessionBody), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody)))]
pub async fn create_pdf_session(
    state: web::Data<AppState>,
    request: HttpRequest,
    mut payload: Multipart,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    const TEXT_LIMIT: usize = 2048;
    let too_large = || {
        SealingError::Pdf(mcert_ses::pdf::PdfError::TooLarge {
            size: MAX_PDF_BYTES + 1,
            limit: MAX_PDF_BYTES,
        })
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_PDF_BYTES + 64 * 1024) {
        return Err(too_large().into());
    }
    let mut parts = read_parts(
        &mut payload,
        &[
            ("uscc", TEXT_LIMIT),
            ("title", TEXT_LIMIT),
            ("page", TEXT_LIMIT),
            ("x_mm", TEXT_LIMIT),
            ("y_mm", TEXT_LIMIT),
            ("browser_address", TEXT_LIMIT),
            ("browser_user_agent", TEXT_LIMIT),
            ("return_url", TEXT_LIMIT),
            ("file", MAX_PDF_BYTES),
        ],
    )
    .await
    .map_err(|e| match e {
        PartError::TooLarge("file") => too_large().into(),
        e => malformed(e),
    })?;
    let file = parts.remove("file");
    let fields: std::collections::HashMap<&str, String> = parts
        .into_iter()
        .map(|(name, bytes)| (name, String::from_utf8_lossy(&bytes).into_owned()))
        .collect();
    let text = |name: &str| fields.get(name).map(|v| v.trim().to_string());
    let number = |name: &str| -> Result<f32, AppError> {
        text(name)
            .and_then(|v| v.parse::<f32>().ok())
            .filter(|v| v.is_finite())
            .ok_or_else(|| malformed(format!("field {name} missing or not a number")))
    };
    let page = text("page")
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|p| *p >= 1)
        .ok_or_else(|| malformed("field page missing or not a page number"))?;
    let placement = Placement {
        page,
        x_mm: number("x_mm")?,
        y_mm: number("y_mm")?,
    };
    let address = super::client_address(&request);
    let user_agent = text("browser_user_agent");
    let requester = Requester {
        limit_key: &address,
        browser_id: None,
        address: browser_address(text("browser_address").as_deref())?,
        user_agent: user_agent.as_deref(),
    };
    let created = state
        .sealing
        .create(
            &portal,
            SealRequest {
                uscc: text("uscc").ok_or_else(|| malformed("no uscc field"))?,
                title: text("title").ok_or_else(|| malformed("no title field"))?,
                document: RequestedDocument::Pdf {
                    bytes: file.ok_or_else(|| malformed("no file field"))?,
                    placement,
                },
                return_url: text("return_url"),
            },
            requester,
        )
        .await?;
    embedded_session(&state, created)
}

/// A seal signature, as the portal collects it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SealResultBody {
    /// The sealing session.
    pub id: String,
    /// The certificate that sealed.
    pub serial: String,
    /// `primary` or `sub`.
    pub role: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 单位名称.
    pub employer_name: String,
    /// The holder's name.
    pub holder_name: String,
    /// The document's title.
    pub title: String,
    /// The `TBS_Sign`'s `dataHash`, hex: the document's SM3, or for a PDF the SM3 of the
    /// stamped revision's signed bytes.
    pub data_hash: String,
    /// For a PDF, the SM3 of the uploaded file, hex.
    pub document_sm3: Option<String>,
    /// DER `SES_Signature` (GB/T 38540), base64.
    pub ses_signature: String,
    /// For a PDF, where to download the stamped file (client credentials).
    pub pdf_url: Option<String>,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
}

/// Collects a confirmed sealing session's seal signature, once (`confirmed → consumed`).
#[utoipa::path(post, path = "/api/v1/seal-sessions/{id}/result", tag = "seals",
    params(("id" = String, Path)), security(("client_basic" = [])),
    responses((status = 200, body = SealResultBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn result(
    state: web::Data<AppState>,
    path: web::Path<String>,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    own_session(&state, &portal, &id).await?;
    let result = state.sealing.result(&id, &portal).await?;
    let identity = result.session.identity.clone().ok_or(LoginError::Corrupt)?;
    let signature = result.signature;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SealResultBody {
            pdf_url: signature
                .pdf
                .as_ref()
                .map(|_| format!("/api/v1/seal-sessions/{id}/document.pdf")),
            id,
            serial: signature.serial,
            role: identity.role,
            uscc: identity.uscc,
            employer_name: identity.employer_name,
            holder_name: identity.holder_name,
            title: signature.title,
            data_hash: signature.data_hash,
            document_sm3: signature.document_sm3,
            ses_signature: STANDARD.encode(&signature.ses_signature),
            signed_at: signature.signed_at,
        }))
}

/// The stamped PDF of a sealing session.
#[utoipa::path(get, path = "/api/v1/seal-sessions/{id}/document.pdf", tag = "seals",
    params(("id" = String, Path)), security(("client_basic" = [])),
    responses((status = 200, content_type = "application/pdf"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn stamped_pdf(
    state: web::Data<AppState>,
    path: web::Path<String>,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let signature = state.sealing.signature(&path.into_inner(), &portal).await?;
    let pdf = signature.pdf.ok_or(LoginError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(pdf))
}

/// One check of a verification report.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckBody {
    /// Stable code (`signer_signature`, `digest`, …).
    pub code: &'static str,
    /// `passed`, `failed` or `not_checked`.
    pub outcome: &'static str,
    /// What is checked, in Chinese.
    pub title: &'static str,
    /// What was found, a Chinese sentence.
    pub detail: String,
}

fn checks(checks: &[Check]) -> Vec<CheckBody> {
    checks
        .iter()
        .map(|c| CheckBody {
            code: c.code,
            outcome: c.outcome.as_str(),
            title: c.title_zh,
            detail: c.detail_zh.clone(),
        })
        .collect()
}

fn verdict_label(verdict: Verdict) -> &'static str {
    if verdict == Verdict::Valid {
        "签章有效"
    } else {
        "签章无效"
    }
}

fn unix(at: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at, 0)
}

/// The seal a verified signature names.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedSealBody {
    /// 电子印章标识.
    pub es_id: String,
    /// The seal's name.
    pub name: String,
    /// The seal maker.
    pub maker: Option<String>,
    /// Valid from.
    pub valid_start: Option<DateTime<Utc>>,
    /// Valid until.
    pub valid_end: Option<DateTime<Utc>>,
    /// The certificates it lists (serials).
    pub certificates: Vec<String>,
}

/// The signer of a verified signature.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedSignerBody {
    /// Holder's name (CN).
    pub name: Option<String>,
    /// Employer (O).
    pub employer: Option<String>,
    /// Certificate serial.
    pub serial: String,
    /// Valid from.
    pub not_before: Option<DateTime<Utc>>,
    /// Valid until.
    pub not_after: Option<DateTime<Utc>>,
}

/// The report on a seal signature (`SES_Signature`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SealReportBody {
    /// `seal_signature`.
    pub kind: &'static str,
    /// `valid` or `invalid`.
    pub verdict: &'static str,
    /// 签章有效 or 签章无效.
    pub verdict_label: &'static str,
    /// The checks in GB/T 38540's order.
    pub checks: Vec<CheckBody>,
    /// The seal, as read from the signature.
    pub seal: Option<VerifiedSealBody>,
    /// The signer, as read from the signature.
    pub signer: Option<VerifiedSignerBody>,
    /// When it was signed (`timeInfo`).
    pub signed_at: Option<DateTime<Utc>>,
    /// `dataHash`, hex.
    pub document_hash: Option<String>,
}

impl From<Report> for SealReportBody {
    fn from(report: Report) -> Self {
        Self {
            kind: "seal_signature",
            verdict: report.verdict.as_str(),
            verdict_label: verdict_label(report.verdict),
            checks: checks(&report.checks),
            seal: report.seal.map(|s| VerifiedSealBody {
                es_id: s.es_id,
                name: s.name,
                maker: s.maker_subject,
                valid_start: unix(s.valid_start),
                valid_end: unix(s.valid_end),
                certificates: s.certificate_serials,
            }),
            signer: report.signer.map(|s| VerifiedSignerBody {
                name: s.common_name,
                employer: s.organization,
                serial: s.serial,
                not_before: unix(s.not_before),
                not_after: unix(s.not_after),
            }),
            signed_at: report.signed_at.and_then(unix),
            document_hash: report.document_hash.map(hex::encode),
        }
    }
}

/// One signature of a stamped PDF.
#[derive(Debug, Serialize, ToSchema)]
pub struct PdfSignatureBody {
    /// 1-based, in the file's order.
    pub index: usize,
    /// `/Name`.
    pub name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// The signing time.
    pub signed_at: Option<DateTime<Utc>>,
    /// The signer certificate's serial.
    pub signer_serial: Option<String>,
    /// The signer certificate's subject.
    pub signer_subject: Option<String>,
    /// `valid` or `invalid`.
    pub verdict: &'static str,
    /// The checks.
    pub checks: Vec<CheckBody>,
}

/// The report on a stamped PDF.
#[derive(Debug, Serialize, ToSchema)]
pub struct PdfReportBody {
    /// `pdf`.
    pub kind: &'static str,
    /// `valid` (it has signatures and every one holds) or `invalid`.
    pub verdict: &'static str,
    /// 签章有效 or 签章无效.
    pub verdict_label: &'static str,
    /// SM3 of the file, hex.
    pub sm3: String,
    /// Its signatures.
    pub signatures: Vec<PdfSignatureBody>,
}

impl From<PdfReport> for PdfReportBody {
    fn from(report: PdfReport) -> Self {
        Self {
            kind: "pdf",
            verdict: report.verdict.as_str(),
            verdict_label: verdict_label(report.verdict),
            sm3: report.sm3,
            signatures: report
                .signatures
                .into_iter()
                .map(|s| PdfSignatureBody {
                    index: s.index,
                    name: s.name,
                    reason: s.reason,
                    signed_at: s.signed_at.and_then(unix),
                    signer_serial: s.signer_serial,
                    signer_subject: s.signer_subject,
                    verdict: s.verdict.as_str(),
                    checks: checks(&s.checks),
                })
                .collect(),
        }
    }
}

/// What was verified: a seal signature or a stamped PDF.
#[derive(Debug)]
pub enum Verified {
    /// A `SES_Signature`.
    Seal(Box<SealReportBody>),
    /// A stamped PDF.
    Pdf(PdfReportBody),
}

/// Verifies `file`: a stamped PDF (it starts with `%PDF-`), or a DER `SES_Signature` with the
/// signed document when given. Shared by the endpoint and `mcert-server admin verify-seal`.
pub async fn verify(
    authority: &crate::ca::Authority,
    store: &dyn crate::ca::CertStore,
    file: &[u8],
    document: Option<&[u8]>,
) -> Result<Verified, AppError> {
    if file.starts_with(b"%PDF-") {
        let report = verification::verify_pdf(authority, store, file)
            .await
            .map_err(crate::ca::CaError::from)?
            .map_err(SealingError::Pdf)?;
        return Ok(Verified::Pdf(report.into()));
    }
    let report = verification::verify_seal_signature(authority, store, file, document)
        .await
        .map_err(crate::ca::CaError::from)?;
    Ok(Verified::Seal(Box::new(report.into())))
}

/// Verifications one address may ask for per minute (each may hash up to 12 MiB 32 times).
const VERIFICATIONS_PER_MINUTE: i64 = 30;

/// Verifies a seal signature or a stamped PDF (public; multipart field `file`: the DER
/// `SES_Signature` or the PDF, and optionally `document`: the document a `SES_Signature` was
/// made over, whose SM3 is compared with its `dataHash`). The answer is a report a person can
/// read (each check in the standard's order, in Chinese) and a stable `verdict`.
#[utoipa::path(post, path = "/api/v1/seal-verifications", tag = "seals",
    request_body(content_type = "multipart/form-data", description = "fields `file` and optionally `document`"),
    responses((status = 200, body = SealReportBody, description = "a seal signature's report (a PDF's is `PdfReportBody`)"),
        (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn verify_upload(
    state: web::Data<AppState>,
    request: HttpRequest,
    mut payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let verifications = state
        .kv
        .incr(
            &format!(
                "seal-verify-rate:{}",
                crate::tokens::digest(&super::client_address(&request))
            ),
            std::time::Duration::from_secs(60),
        )
        .await?;
    if verifications > VERIFICATIONS_PER_MINUTE {
        return Err(SealingError::VerifyRateLimited.into());
    }
    let mut parts = read_parts(
        &mut payload,
        &[("file", MAX_PDF_BYTES), ("document", MAX_PDF_BYTES)],
    )
    .await
    .map_err(|e| match e {
        PartError::TooLarge(_) => AppError::from(SealingError::Pdf(
            mcert_ses::pdf::PdfError::TooLarge {
                size: MAX_PDF_BYTES + 1,
                limit: MAX_PDF_BYTES,
            },
        )),
        e => AppError::BadRequest {
            detail: e.to_string(),
            message: "验证请求格式错误：应为 multipart/form-data，含 file 字段（签章数据或盖章后的 PDF），可选 document 字段（原文）",
        },
    })?;
    let file = parts.remove("file").ok_or_else(|| AppError::BadRequest {
        detail: "no file field".to_string(),
        message: "请在 file 字段上传签章数据（SES_Signature）或盖章后的 PDF",
    })?;
    let document = parts.remove("document");
    Ok(
        match verify(
            &state.authority,
            state.store.as_ref(),
            &file,
            document.as_deref(),
        )
        .await?
        {
            Verified::Seal(body) => HttpResponse::Ok().json(body),
            Verified::Pdf(body) => HttpResponse::Ok().json(body),
        },
    )
}

/// mcert's sealing page (`server/templates/seal_page.html`): every value is HTML-escaped by the
/// template; only the QR code's SVG, drawn by the server, goes in as it is.
#[derive(askama::Template)]
#[template(path = "seal_page.html")]
struct SealPage<'a> {
    nonce: &'a str,
    state: &'a str,
    status: &'a str,
    portal_name: &'a str,
    portal_origin: &'a str,
    employer: String,
    title: &'a str,
    sm3: &'a str,
    seal_png: String,
    qr_text: &'a str,
    qr_svg: &'a str,
    match_code: &'a str,
    expires_at: String,
}

/// A hosted sealing session's page: the QR, what will be sealed and the number to choose; it
/// reloads every 2 seconds and, once the session ended, sends the browser back to the portal's
/// `return_url` with `seal_session={id}` (and `error` unless it was sealed). The portal then
/// collects the result with its credentials: the page carries none.
pub async fn seal_page(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    use crate::login::LoginState;
    let id = path.into_inner();
    let session = match state.logins.get(&id).await {
        Ok(session) => session,
        Err(_) => {
            return super::login::error_page(
                actix_web::http::StatusCode::NOT_FOUND,
                "盖章请求不存在或已失效",
                "请回到门户网站重新发起盖章。",
            );
        }
    };
    let Some((order, return_url)) = session
        .seal
        .as_ref()
        .and_then(|order| Some((order, order.return_url.as_deref()?)))
    else {
        return super::login::error_page(
            actix_web::http::StatusCode::NOT_FOUND,
            "盖章请求不存在或已失效",
            "请回到门户网站重新发起盖章。",
        );
    };
    let back = |error: Option<&str>| {
        let mut url = match url::Url::parse(return_url) {
            Ok(url) => url,
            Err(_) => return HttpResponse::NotFound().finish(),
        };
        url.query_pairs_mut().append_pair("seal_session", &id);
        if let Some(error) = error {
            url.query_pairs_mut().append_pair("error", error);
        }
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()
    };
    let status = match session.state {
        LoginState::Confirmed | LoginState::Consumed => return back(None),
        LoginState::Pending => "请使用就业彩云南小程序扫码盖章",
        LoginState::Scanned => "已扫码，请在手机上核对并确认",
        other => return back(Some(other.as_str())),
    };
    let seal_png = match state.sealing.seals().seal(order.seal_id).await {
        Ok(seal) => seal
            .picture
            .map(|png| STANDARD.encode(png))
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let qr_text = state.logins.qr_text(&session.id);
    let qr_svg = qr::svg(&qr_text, 240).unwrap_or_default();
    let nonce = crate::tokens::random_token(16);
    let document = SealedDocumentBody::from(order);
    let page = SealPage {
        nonce: &nonce,
        state: session.state.as_str(),
        status,
        portal_name: &session.portal_name,
        portal_origin: &session.origin,
        employer: format!("{}（{}）", order.employer_name, order.uscc),
        title: &order.title,
        sm3: &document.sm3,
        seal_png,
        qr_text: &qr_text,
        qr_svg: &qr_svg,
        match_code: &session.match_code,
        // Beijing time, as the page's reader keeps it.
        expires_at: (session.expires_at + chrono::TimeDelta::hours(8))
            .format("%H:%M:%S")
            .to_string(),
    };
    super::login::rendered(actix_web::http::StatusCode::OK, &page, &nonce)
}
