//! The application wizard for a signed-in applicant.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AppState, principals::ApplicantSession};
use crate::{
    applications::{
        AgentInfo, AgentInput, ApplicationRecord, ApplicationStatus, CaInfo, CaInput,
        EnterpriseInfo, EnterpriseInput,
    },
    certificates::Standing,
    error::AppError,
    sync::{SyncState, SyncStatus},
};

/// An application as its applicant sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationBody {
    /// Id.
    pub id: i64,
    /// `draft`, `submitted`, `rejected` or `approved`.
    pub status: String,
    /// The seed's wording of the status (申请资料审核：…).
    pub status_label: String,
    /// Whether the steps may be changed now.
    pub editable: bool,
    /// When the agreement may be accepted (the reading countdown ends).
    pub agreement_ready_at: DateTime<Utc>,
    /// When it was accepted.
    pub agreement_accepted_at: Option<DateTime<Utc>>,
    /// Step 1.
    pub enterprise: Option<EnterpriseInfo>,
    /// Step 2.
    pub agent: Option<AgentInfo>,
    /// Step 3.
    pub ca: Option<CaInfo>,
    /// 审核驳回原因, when rejected.
    pub reject_reason: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last submission.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Beyond the employer's free quota (decided at submission).
    pub billable: Option<bool>,
    /// Yearly fee when billable, yuan.
    pub fee_yuan: Option<u32>,
    /// Push to the employment platform once approved: `pending`, `synced`, `blocked`, `failed`.
    pub sync_status: Option<String>,
    /// The seed's wording (申请资料同步：…).
    pub sync_status_label: Option<String>,
    /// Why it is blocked or failed (for blocked: the merge the employer must ask for).
    pub sync_reason: Option<String>,
    /// The four statuses of seed 000's 资料状态 table.
    pub progress: ApplicationProgress,
}

/// One status with its stable code and the seed's wording.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusItem {
    /// Stable code.
    pub status: String,
    /// The seed's wording.
    pub label: String,
    /// Why (reject reason, sync failure or the merge guidance), when there is one.
    pub reason: Option<String>,
}

impl StatusItem {
    fn new(status: &str, label: &str, reason: Option<String>) -> Self {
        Self {
            status: status.to_string(),
            label: label.to_string(),
            reason,
        }
    }

    /// The 证书状态 of an application whose newest certificate stands so (`Pending` before one
    /// is downloaded).
    fn of_certificate(standing: Standing) -> Self {
        Self::new(standing.as_str(), standing.label_zh(), None)
    }
}

/// Where an application stands, as the applicant's 资料状态 table shows it (seed 000 §三(三)):
/// 审核状态, 数据同步状态, 证书状态 and 公司的章状态.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicationProgress {
    /// 申请资料审核: `draft` (填写中), `submitted` (待审核), `rejected` (审核驳回, with the
    /// reason) or `approved` (审核通过).
    pub review: StatusItem,
    /// 申请资料同步: `not_synced` until approved, then `pending`, `synced`, `blocked` (需要进行
    /// 单位信息合并) or `failed`.
    pub sync: StatusItem,
    /// 证书状态 of the newest downloaded certificate: `inactive` (未激活) until the agent
    /// downloads it in the mini-program, then `active` (已激活), `revoked` (已废除) or `expired`
    /// (已过期).
    pub certificate: StatusItem,
    /// 公司的章状态: `not_applied` (未申请印章) or `applied` (已申请印章，待制作).
    pub seal: StatusItem,
    /// The 资料状态 line as the seed's table shows it.
    pub summary: String,
}

impl ApplicationProgress {
    fn new(record: &ApplicationRecord) -> Self {
        let reason = record
            .reject_reason
            .clone()
            .filter(|_| record.status == ApplicationStatus::Rejected);
        let review_label = record.status.label_zh();
        let summary = match &reason {
            Some(reason) => {
                format!("[申请资料]审核状态: 审核驳回 [申请资料]审核驳回原因: {reason}")
            }
            None => format!(
                "[申请资料]审核状态: {}",
                review_label.trim_start_matches("申请资料审核：")
            ),
        };
        let seal_wanted = record.ca.as_ref().is_some_and(|ca| ca.seal_wanted);
        Self {
            review: StatusItem::new(record.status.as_str(), review_label, reason),
            sync: StatusItem::new("not_synced", "申请资料同步：数据未同步", None),
            certificate: StatusItem::of_certificate(Standing::Pending),
            seal: if seal_wanted {
                StatusItem::new("applied", "已申请印章，待制作", None)
            } else {
                StatusItem::new("not_applied", "未申请印章", None)
            },
            summary,
        }
    }
}

impl ApplicationBody {
    /// The body of `a` as its applicant sees it.
    pub(super) fn new(state: &AppState, a: ApplicationRecord) -> Self {
        let progress = ApplicationProgress::new(&a);
        Self {
            agreement_ready_at: state.applications.agreement_ready_at(&a),
            id: a.id,
            status: a.status.as_str().to_string(),
            status_label: a.status.label_zh().to_string(),
            editable: a.status.editable(),
            agreement_accepted_at: a.agreement_accepted_at,
            enterprise: a.enterprise,
            agent: a.agent,
            ca: a.ca,
            reject_reason: a
                .reject_reason
                .filter(|_| a.status == ApplicationStatus::Rejected),
            updated_at: a.updated_at,
            submitted_at: a.submitted_at,
            billable: a.billable,
            fee_yuan: a.fee_yuan,
            sync_status: None,
            sync_status_label: None,
            sync_reason: None,
            progress,
        }
    }
}

impl ApplicationBody {
    /// The bodies of `records` with their platform-sync state (looked up in one query), and
    /// that state for callers that show more of it.
    pub(super) async fn many_with_sync(
        state: &AppState,
        records: Vec<ApplicationRecord>,
    ) -> Result<Vec<(Self, Option<SyncState>)>, AppError> {
        let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        let mut syncs = state
            .sync
            .states(&ids)
            .await
            .map_err(crate::ca::CaError::Storage)?;
        let certificates = state.applications.certificates_of(&ids).await?;
        Ok(records
            .into_iter()
            .map(|record| {
                let sync = syncs.remove(&record.id);
                let certificate = certificates.get(&record.id).copied();
                let mut body = Self::new(state, record);
                if let Some(standing) = certificate {
                    body.progress.certificate = StatusItem::of_certificate(standing);
                }
                if let Some(delivery) = sync.as_ref().map(|s| &s.delivery) {
                    body.sync_status = Some(delivery.status.as_str().to_string());
                    body.sync_status_label = Some(delivery.status.label_zh().to_string());
                    body.sync_reason = delivery.last_error.clone().filter(|_| {
                        matches!(delivery.status, SyncStatus::Blocked | SyncStatus::Failed)
                    });
                    body.progress.sync = StatusItem::new(
                        delivery.status.as_str(),
                        delivery.status.label_zh(),
                        body.sync_reason.clone(),
                    );
                }
                (body, sync)
            })
            .collect())
    }

    /// The bodies of `records` with their platform-sync state, looked up in one query.
    pub(super) async fn many(
        state: &AppState,
        records: Vec<ApplicationRecord>,
    ) -> Result<Vec<Self>, AppError> {
        Ok(Self::many_with_sync(state, records)
            .await?
            .into_iter()
            .map(|(body, _)| body)
            .collect())
    }

    /// The body of one record with its platform-sync state.
    pub(super) async fn with_sync(
        state: &AppState,
        record: ApplicationRecord,
    ) -> Result<Self, AppError> {
        Self::many(state, vec![record])
            .await?
            .pop()
            .ok_or(AppError::Application(
                crate::applications::ApplicationError::NotFound,
            ))
    }
}

async fn json(state: &AppState, record: ApplicationRecord) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(ApplicationBody::with_sync(state, record).await?))
}

/// Starts an application: the agreement is shown now and may be accepted after the countdown.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications",
    security(("applicant_session" = [])),
    responses((status = 201, body = ApplicationBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let record = state.applications.create(&applicant).await?;
    Ok(HttpResponse::Created().json(ApplicationBody::new(&state, record)))
}

/// The applicant's applications, newest first, with their statuses.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications",
    security(("applicant_session" = [])), responses((status = 200, body = Vec<ApplicationBody>)))]
pub async fn list(
    state: web::Data<AppState>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let records = state.applications.list(&applicant).await?;
    Ok(HttpResponse::Ok().json(
        records
            .into_iter()
            .map(|record| ApplicationBody::new(&state, record))
            .collect::<Vec<_>>(),
    ))
}

/// One application.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = ApplicationBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let record = state
        .applications
        .get(&applicant, path.into_inner())
        .await?;
    json(&state, record).await
}

/// The service agreement shown before an application.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementBody {
    /// 《…电子认证服务协议》.
    pub title: &'static str,
    /// The text, one paragraph per line.
    pub text: &'static str,
    /// Seconds it must be on screen before it can be accepted.
    pub countdown_secs: i64,
}

/// The electronic certification service agreement (seed 003) the applicant reads and accepts.
#[utoipa::path(get, path = "/api/v1/agreement", tag = "applications",
    responses((status = 200, body = AgreementBody)))]
pub async fn agreement(state: web::Data<AppState>) -> HttpResponse {
    use crate::applications::agreement::{AGREEMENT_TEXT, AGREEMENT_TITLE};
    HttpResponse::Ok().json(AgreementBody {
        title: AGREEMENT_TITLE,
        text: AGREEMENT_TEXT,
        countdown_secs: state.applications.countdown_secs(),
    })
}

/// The pre-filled application form (用人单位数字证书业务申请表, seed 003) with the agreement on
/// its back, as a PDF to print, stamp and upload in step 3. Needs steps 1 and 2.
#[utoipa::path(get, path = "/api/v1/applications/{id}/form.pdf", tag = "applications",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, description = "the form", content_type = "application/pdf"),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn form_pdf(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let pdf = state.applications.form_pdf(&applicant, id).await?;
    Ok(form_pdf_download(id, pdf))
}

/// Application `id`'s pre-filled form as a download (the API's and the applicant page's).
pub(super) fn form_pdf_download(id: i64, pdf: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"application-form-{id}.pdf\""),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(pdf)
}

/// Where one application stands: review, data sync, certificate and seal, with reasons.
#[utoipa::path(get, path = "/api/v1/applications/{id}/status", tag = "applications",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = ApplicationProgress), (status = 404, body = crate::error::ErrorBody)))]
pub async fn application_status(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let record = state
        .applications
        .get(&applicant, path.into_inner())
        .await?;
    let body = ApplicationBody::with_sync(&state, record).await?;
    Ok(HttpResponse::Ok().json(body.progress))
}

/// Accepts the agreement (refused until the reading countdown has run out).
#[utoipa::path(post, path = "/api/v1/applications/{id}/agreement", tag = "applications",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = ApplicationBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn accept_agreement(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let record = state
        .applications
        .accept_agreement(&applicant, path.into_inner())
        .await?;
    json(&state, record).await
}

/// Saves step 1, 企业基本信息.
#[utoipa::path(put, path = "/api/v1/applications/{id}/enterprise", tag = "applications",
    params(("id" = i64, Path)), request_body = EnterpriseInput, security(("applicant_session" = [])),
    responses((status = 200, body = ApplicationBody), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn save_enterprise(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<EnterpriseInput>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let record = state
        .applications
        .save_enterprise(&applicant, path.into_inner(), &body)
        .await?;
    json(&state, record).await
}

/// Saves step 2, 经办人资料 (the agent's phone is the signed-in phone).
#[utoipa::path(put, path = "/api/v1/applications/{id}/agent", tag = "applications",
    params(("id" = i64, Path)), request_body = AgentInput, security(("applicant_session" = [])),
    responses((status = 200, body = ApplicationBody), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn save_agent(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<AgentInput>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let record = state
        .applications
        .save_agent(&applicant, path.into_inner(), &body)
        .await?;
    json(&state, record).await
}

/// Saves step 3, CA 信息.
#[utoipa::path(put, path = "/api/v1/applications/{id}/ca", tag = "applications",
    params(("id" = i64, Path)), request_body = CaInput, security(("applicant_session" = [])),
    responses((status = 200, body = ApplicationBody), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn save_ca(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<CaInput>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let record = state
        .applications
        .save_ca(&applicant, path.into_inner(), &body)
        .await?;
    json(&state, record).await
}

/// Submits (or resubmits after a rejection) for review.
#[utoipa::path(post, path = "/api/v1/applications/{id}/submit", tag = "applications",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = ApplicationBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn submit(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let record = state
        .applications
        .submit(&applicant, path.into_inner())
        .await?;
    json(&state, record).await
}
