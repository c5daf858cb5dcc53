//! Staff sign-in.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    applications::ApplicationBody,
    principals::{AdminSession, StaffSession},
};
use crate::{
    applications::{ApplicationStatus, Outcome, QueueFilter},
    error::AppError,
    staff::StaffRecord,
};

/// Sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffSignIn {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A staff account as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffBody {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// `reviewer` or `administrator`.
    pub role: &'static str,
}

impl From<&StaffRecord> for StaffBody {
    fn from(staff: &StaffRecord) -> Self {
        Self {
            id: staff.id,
            username: staff.username.clone(),
            display_name: staff.display_name.clone(),
            role: staff.role.as_str(),
        }
    }
}

/// A staff session.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffSessionBody {
    /// Bearer token for staff endpoints.
    pub token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The account.
    pub staff: StaffBody,
}

/// Signs a staff member in (five wrong passwords within 15 minutes lock the username for 15
/// minutes; one address may try 30 times in 15 minutes).
#[utoipa::path(post, path = "/api/v1/staff/session", tag = "staff", request_body = StaffSignIn,
    responses((status = 200, body = StaffSessionBody), (status = 401, body = crate::error::ErrorBody),
              (status = 423, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn sign_in(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<StaffSignIn>,
) -> Result<HttpResponse, AppError> {
    let address = super::client_address(&request);
    let (token, expires_at, staff) = state
        .staff
        .sign_in(&body.username, &body.password, &address)
        .await?;
    Ok(HttpResponse::Ok().json(StaffSessionBody {
        token,
        expires_at,
        staff: StaffBody::from(staff.record()),
    }))
}

/// The signed-in staff account.
#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff", security(("staff_session" = [])),
    responses((status = 200, body = StaffBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(
    _state: web::Data<AppState>,
    staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(StaffBody::from(staff.record())))
}

/// Signs out.
#[utoipa::path(delete, path = "/api/v1/staff/session", tag = "staff",
    security(("staff_session" = [])), responses((status = 204)))]
pub async fn sign_out(
    state: web::Data<AppState>,
    session: StaffSession,
) -> Result<HttpResponse, AppError> {
    state.staff.sign_out(session.token()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Review-queue query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct QueueQuery {
    /// `submitted` (default), `rejected`, `approved` or `draft`.
    pub status: Option<String>,
    /// Region code prefix: `53` Yunnan, `5301` Kunming, `530112` one county.
    pub region: Option<String>,
    /// Submitted on or after this day (YYYY-MM-DD, Beijing time).
    pub from: Option<String>,
    /// Submitted on or before this day.
    pub to: Option<String>,
    /// Page, from 1.
    pub page: Option<u64>,
    /// Rows per page (1–100, default 20).
    pub per_page: Option<u64>,
}

/// A page of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    /// The applications.
    pub items: Vec<StaffApplicationBody>,
    /// Matching applications in all.
    pub total: u64,
    /// This page.
    pub page: u64,
    /// Rows per page.
    pub per_page: u64,
}

/// The page of a staff list asked for: 1-based, 20 rows by default, at most 100.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// The page, from 1.
    pub page: u64,
    /// Rows per page.
    pub per_page: u64,
}

impl Paging {
    /// The page `page` of `per_page` rows, as sent (either may be absent).
    pub fn of(page: Option<u64>, per_page: Option<u64>) -> Self {
        Self {
            page: page.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(20).clamp(1, 100),
        }
    }

    /// Rows before the page.
    pub fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// An application as reviewers see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffApplicationBody {
    /// What the applicant sees.
    #[serde(flatten)]
    pub application: ApplicationBody,
    /// Region code of step 1.
    pub region_code: Option<String>,
    /// The reviewer who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// When the sync is blocked: the employment platform's accounts for the USCC, to merge
    /// into one (`POST /api/v1/staff/employers/{uscc}/merge`).
    pub sync_accounts: Vec<String>,
    /// The SMS notices to the agent about this application, oldest first (detail view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notices: Option<Vec<NoticeBody>>,
    /// The activations and revocations of the application's downloaded certificates and their
    /// push to the employment platform, oldest first (detail view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_syncs: Option<Vec<CertificateSyncBody>>,
    /// What OCR read from the licence and the ID card's front beside what was typed, for the
    /// fields it read (detail view only; empty when the applicant never asked OCR).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ocr: Vec<OcrRow>,
}

/// One field as typed and as OCR read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OcrRow {
    /// 营业执照 or 身份证人像面.
    pub document: &'static str,
    /// The field (企业名称, 统一社会信用代码, …).
    pub field: &'static str,
    /// What the applicant typed.
    pub typed: String,
    /// What OCR read.
    pub read: String,
    /// Whether they are the same (ignoring spaces and letter case).
    pub matches: bool,
}

/// The OCR rows of `record`'s licence and ID card front.
async fn ocr_rows(
    state: &AppState,
    record: &crate::applications::ApplicationRecord,
) -> Result<Vec<OcrRow>, AppError> {
    use crate::uploads::Recognised;
    let same = |a: &str, b: &str| {
        let plain = |s: &str| s.split_whitespace().collect::<String>().to_uppercase();
        plain(a) == plain(b)
    };
    let mut rows = Vec::new();
    let mut push = |document, field, typed: &str, read: &Option<String>| {
        if let Some(read) = read {
            rows.push(OcrRow {
                document,
                field,
                typed: typed.to_string(),
                read: read.clone(),
                matches: same(typed, read),
            });
        }
    };
    if let Some(e) = &record.enterprise
        && let Some(Recognised::BusinessLicence(read)) =
            state.uploads.recognised(&e.licence_upload_id).await?
    {
        push("营业执照", "企业名称", &e.name, &read.unit_name);
        push("营业执照", "统一社会信用代码", &e.uscc, &read.uscc);
        push(
            "营业执照",
            "法定代表人",
            &e.legal_representative_name,
            &read.legal_representative_name,
        );
        push("营业执照", "单位住所", &e.address, &read.address);
    }
    if let Some(a) = &record.agent
        && let Some(Recognised::IdCardFront(read)) =
            state.uploads.recognised(&a.id_front_upload_id).await?
    {
        push("身份证人像面", "经办人姓名", &a.name, &read.name);
        push(
            "身份证人像面",
            "经办人身份证号",
            &a.id_number,
            &read.id_number,
        );
    }
    Ok(rows)
}

/// A certificate event's push to the employment platform as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateSyncBody {
    /// Serial, hex.
    pub serial: String,
    /// `activated` or `revoked`.
    pub event: String,
    /// `pending`, `synced` or `failed`.
    pub status: String,
    /// 证书数据同步：数据未同步 / 数据已同步 / 同步失败.
    pub status_zh: String,
    /// The last failure.
    pub last_error: Option<String>,
    /// Pushes so far.
    pub attempts: u32,
}

/// An SMS notice as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeBody {
    /// `application_approved`, `application_rejected`, `merge_required`,
    /// `information_change_approved`, `information_change_rejected`, …
    pub kind: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Sends so far.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When the provider accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

/// The reviewers' bodies of `records`, with one lookup of their sync states.
async fn staff_bodies(
    state: &AppState,
    records: Vec<crate::applications::ApplicationRecord>,
) -> Result<Vec<StaffApplicationBody>, AppError> {
    let reviews: Vec<_> = records
        .iter()
        .map(|r| (r.region_code.clone(), r.decided_by.clone(), r.decided_at))
        .collect();
    let bodies = ApplicationBody::many_with_sync(state, records).await?;
    Ok(bodies
        .into_iter()
        .zip(reviews)
        .map(
            |((body, sync), (region_code, decided_by, decided_at))| StaffApplicationBody {
                application: body,
                region_code,
                decided_by,
                decided_at,
                sync_accounts: sync.map(|s| s.accounts).unwrap_or_default(),
                notices: None,
                certificate_syncs: None,
                ocr: Vec::new(),
            },
        )
        .collect())
}

/// The SMS notices about `subject` (`application:12`, `information_change:3`), oldest first.
pub(super) async fn notice_bodies(
    state: &AppState,
    subject: &str,
) -> Result<Vec<NoticeBody>, AppError> {
    let notices = state
        .notices
        .about(subject)
        .await
        .map_err(crate::ca::CaError::Storage)?;
    Ok(notices
        .into_iter()
        .map(|n| NoticeBody {
            kind: n.notice.kind().to_string(),
            status: n.delivery.status.as_str().to_string(),
            attempts: n.delivery.attempts,
            last_error: n.delivery.last_error,
            created_at: n.created_at,
            sent_at: n.sent_at,
        })
        .collect())
}

/// One application as reviewers see it, with its notices and certificate events.
pub(super) async fn one_staff_body(
    state: &AppState,
    record: crate::applications::ApplicationRecord,
) -> Result<StaffApplicationBody, AppError> {
    let id = record.id;
    let subject = format!("application:{id}");
    let ocr = ocr_rows(state, &record).await?;
    let mut body = staff_bodies(state, vec![record])
        .await?
        .pop()
        .ok_or(AppError::Application(
            crate::applications::ApplicationError::NotFound,
        ))?;
    body.notices = Some(notice_bodies(state, &subject).await?);
    body.ocr = ocr;
    let certificate_syncs = state
        .sync
        .certificate_syncs(id)
        .await
        .map_err(crate::ca::CaError::Storage)?;
    body.certificate_syncs = Some(
        certificate_syncs
            .into_iter()
            .map(|c| CertificateSyncBody {
                serial: c.payload.serial,
                event: c.payload.event.as_str().to_string(),
                status: c.delivery.status.as_str().to_string(),
                status_zh: c.delivery.status.certificate_label_zh(),
                last_error: c.delivery.last_error,
                attempts: c.delivery.attempts,
            })
            .collect(),
    );
    Ok(body)
}

fn bad_query(message: &'static str) -> AppError {
    AppError::BadRequest {
        detail: message.to_string(),
        message,
    }
}

/// Start of a Beijing-time day, as UTC.
fn beijing_day(value: &str, next_day: bool) -> Result<DateTime<Utc>, AppError> {
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| bad_query("日期格式应为 YYYY-MM-DD"))?;
    let day = if next_day {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    let midnight = day
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| bad_query("日期无效"))?;
    Ok(midnight.and_utc() - chrono::TimeDelta::hours(8))
}

/// The queue filter `query` asks for, one `paging` page of it.
pub(super) fn queue_filter(query: &QueueQuery, paging: Paging) -> Result<QueueFilter, AppError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(value) => Some(
            ApplicationStatus::parse(value)
                .ok_or_else(|| bad_query("状态可选：submitted、rejected、approved、draft"))?,
        ),
    };
    let bad_region = |region: &String| {
        region.is_empty() || region.len() > 6 || !region.bytes().all(|b| b.is_ascii_digit())
    };
    if query.region.as_ref().is_some_and(bad_region) {
        return Err(bad_query("行政区域应为 1 到 6 位数字的区划代码前缀"));
    }
    Ok(QueueFilter {
        status,
        region_prefix: query.region.clone(),
        submitted_from: query
            .from
            .as_deref()
            .map(|d| beijing_day(d, false))
            .transpose()?,
        submitted_to: query
            .to
            .as_deref()
            .map(|d| beijing_day(d, true))
            .transpose()?,
        offset: paging.offset(),
        limit: paging.per_page,
    })
}

/// The review queue, oldest submission first, filtered by status, region and date.
#[utoipa::path(get, path = "/api/v1/staff/applications", tag = "staff", params(QueueQuery),
    security(("staff_session" = [])),
    responses((status = 200, body = QueuePage), (status = 401, body = crate::error::ErrorBody)))]
pub async fn queue(
    state: web::Data<AppState>,
    query: web::Query<QueueQuery>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let paging = Paging::of(query.page, query.per_page);
    let filter = queue_filter(&query, paging)?;
    let (records, total) = state.applications.queue(&filter).await?;
    let items = staff_bodies(&state, records).await?;
    Ok(HttpResponse::Ok().json(QueuePage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

/// One application with everything the reviewer needs (images via the uploads endpoint).
#[utoipa::path(get, path = "/api/v1/staff/applications/{id}", tag = "staff",
    params(("id" = i64, Path)), security(("staff_session" = [])),
    responses((status = 200, body = StaffApplicationBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn application(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let record = state.applications.for_staff(path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(one_staff_body(&state, record).await?))
}

/// An uploaded image of any application.
#[utoipa::path(get, path = "/api/v1/staff/uploads/{id}", tag = "staff",
    params(("id" = String, Path)), security(("staff_session" = [])),
    responses((status = 200, description = "the image"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn upload(
    state: web::Data<AppState>,
    path: web::Path<String>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let (record, bytes) = state.uploads.open_for_staff(&path.into_inner()).await?;
    Ok(super::uploads::image(record, bytes))
}

/// `reviewer` decides application `id`: an approval makes its seal; the agent's SMS goes out
/// at once.
pub(super) async fn decide(
    state: &AppState,
    reviewer: &crate::staff::Reviewer,
    id: i64,
    outcome: Outcome,
) -> Result<crate::applications::ApplicationRecord, AppError> {
    let approve = matches!(outcome, Outcome::Approve);
    let record = state.applications.decide(reviewer, id, outcome).await?;
    if approve {
        state
            .sealing
            .seals()
            .make_for(&record, reviewer.actor())
            .await?;
    }
    state.notices.flush().await;
    Ok(record)
}

/// Approves a submitted application (audited; the agent gets the approval SMS).
#[utoipa::path(post, path = "/api/v1/staff/applications/{id}/approve", tag = "staff",
    params(("id" = i64, Path)), security(("staff_session" = [])),
    responses((status = 200, body = StaffApplicationBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn approve(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    reviewer: StaffSession,
) -> Result<HttpResponse, AppError> {
    let record = decide(&state, &reviewer, path.into_inner(), Outcome::Approve).await?;
    Ok(HttpResponse::Ok().json(one_staff_body(&state, record).await?))
}

/// A rejection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// 驳回原因, shown to the applicant and sent by SMS.
    pub reason: String,
}

/// Rejects a submitted application with a reason (audited; the agent gets the SMS).
#[utoipa::path(post, path = "/api/v1/staff/applications/{id}/reject", tag = "staff",
    params(("id" = i64, Path)), request_body = RejectRequest, security(("staff_session" = [])),
    responses((status = 200, body = StaffApplicationBody), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn reject(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<RejectRequest>,
    reviewer: StaffSession,
) -> Result<HttpResponse, AppError> {
    let outcome = Outcome::Reject(body.reason.clone());
    let record = decide(&state, &reviewer, path.into_inner(), outcome).await?;
    Ok(HttpResponse::Ok().json(one_staff_body(&state, record).await?))
}

/// An employer's registered employee count.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeCount {
    /// 职工就业登记人数; more than 100 raises the free quota from 1 to 3 certificates.
    pub employee_count: u32,
}

/// Records an employer's employee count (until the employment platform sync provides it); the
/// employer must have submitted an application (`employer_unknown` otherwise).
#[utoipa::path(put, path = "/api/v1/staff/employers/{uscc}/employee-count", tag = "staff",
    params(("uscc" = String, Path)), request_body = EmployeeCount, security(("staff_session" = [])),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn employee_count(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<EmployeeCount>,
    reviewer: AdminSession,
) -> Result<HttpResponse, AppError> {
    let uscc = crate::domain::Uscc::parse(&path.into_inner())?;
    state
        .applications
        .set_employee_count(&reviewer, &uscc, body.employee_count)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Pushes an approved application to the employment platform again now (after the merge, once
/// the platform is back, or to skip a backoff), audited.
#[utoipa::path(post, path = "/api/v1/staff/applications/{id}/sync", tag = "staff",
    params(("id" = i64, Path)), security(("staff_session" = [])),
    responses((status = 200, body = StaffApplicationBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn repush(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    reviewer: AdminSession,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let record = state.applications.for_staff(id).await?;
    push_again(&state, &reviewer, id).await?;
    Ok(HttpResponse::Ok().json(one_staff_body(&state, record).await?))
}

/// Pushes approved application `id` again now, and the notices that follow.
pub(super) async fn push_again(
    state: &AppState,
    reviewer: &crate::staff::Reviewer,
    id: i64,
) -> Result<(), AppError> {
    let requeued = state
        .sync
        .repush(id, reviewer)
        .await
        .map_err(crate::ca::CaError::Storage)?;
    if !requeued {
        return Err(AppError::Conflict {
            code: crate::failure::code::SYNC_NOT_REPUSHABLE,
            message: "该申请尚未审核通过或已同步成功，无需重新推送",
        });
    }
    state
        .sync
        .run_once()
        .await
        .map_err(crate::ca::CaError::Storage)?;
    state.notices.flush().await;
    Ok(())
}

/// The account to keep when merging an employer's accounts on the employment platform.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// One of the accounts the platform named (`sync_accounts` of a blocked application); the
    /// others are merged into it.
    pub keep: String,
}

/// What a merge did.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergedBody {
    /// The account kept.
    pub kept: String,
    /// The accounts merged into it.
    pub absorbed: Vec<String>,
    /// The applications pushed to the platform again.
    pub requeued: Vec<i64>,
}

/// Merges the employer's duplicate accounts on the employment platform (seed 000 FAQ (一):
/// 单位信息合并), then pushes its blocked applications again; audited as `employer.merge`.
#[utoipa::path(post, path = "/api/v1/staff/employers/{uscc}/merge", tag = "staff",
    params(("uscc" = String, Path)), request_body = MergeBody, security(("staff_session" = [])),
    responses((status = 200, body = MergedBody), (status = 400, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 502, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn merge(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<MergeBody>,
    reviewer: AdminSession,
) -> Result<HttpResponse, AppError> {
    let uscc = crate::domain::Uscc::parse(&path.into_inner())?;
    let merged = state.sync.merge(&uscc, body.keep.trim(), &reviewer).await?;
    state.notices.flush().await;
    Ok(HttpResponse::Ok().json(MergedBody {
        kept: merged.kept,
        absorbed: merged.absorbed,
        requeued: merged.requeued,
    }))
}

/// Why staff unbind a phone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffUnbindRequest {
    /// How the person asking was re-verified (recorded in the audit log).
    pub reason: String,
}

/// Unbinds a phone for a person who cannot do it in their own mini-program (seed 000 FAQ (四)),
/// after staff re-verified who asks; audited with the reason.
#[utoipa::path(post, path = "/api/v1/staff/phones/{phone}/unbind", tag = "staff",
    params(("phone" = String, Path)), request_body = StaffUnbindRequest, security(("staff_session" = [])),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn unbind_phone(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<StaffUnbindRequest>,
    reviewer: AdminSession,
) -> Result<HttpResponse, AppError> {
    state
        .people
        .staff_unbind_phone(&reviewer, &path.into_inner(), &body.reason)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Why staff unlock a certificate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffUnlockRequest {
    /// How the holder was re-verified (recorded in the audit log).
    pub reason: String,
}

/// Unlocks a certificate locked after 6 wrong PINs for a holder who came to the counter and
/// was re-verified by staff (DESIGN.md §2); audited as `key.unlock` with the reason.
#[utoipa::path(post, path = "/api/v1/staff/certificates/{serial}/unlock", tag = "staff",
    params(("serial" = String, Path)), request_body = StaffUnlockRequest, security(("staff_session" = [])),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn unlock_certificate(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<StaffUnlockRequest>,
    reviewer: AdminSession,
) -> Result<HttpResponse, AppError> {
    let serial = crate::domain::CertificateSerial::parse(&path.into_inner())?;
    state
        .downloads
        .staff_unlock(&reviewer, &serial, &body.reason)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Why staff choose a new primary.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPrimaryRequest {
    /// Why this certificate becomes the primary (recorded in the audit log; up to 200
    /// characters).
    pub reason: String,
}

/// Makes an active sub-certificate its employer's primary (主证书) once the old primary is
/// revoked or expired (no sub-certificate is promoted by itself); audited as
/// `certificate.primary` with the reason.
#[utoipa::path(post, path = "/api/v1/staff/certificates/{serial}/primary", tag = "staff",
    params(("serial" = String, Path)), request_body = StaffPrimaryRequest, security(("staff_session" = [])),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn set_primary(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<StaffPrimaryRequest>,
    reviewer: AdminSession,
) -> Result<HttpResponse, AppError> {
    let serial = crate::domain::CertificateSerial::parse(&path.into_inner())?;
    state
        .primaries
        .appoint(&serial, &body.reason, &reviewer.actor())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
