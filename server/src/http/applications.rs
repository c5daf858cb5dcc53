//! The application wizard for a signed-in applicant.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AppState, otp::signed_in_applicant as applicant};
use crate::{
    applications::{
        AgentInfo, AgentInput, ApplicationRecord, ApplicationStatus, CaInfo, CaInput,
        EnterpriseInfo, EnterpriseInput,
    },
    error::AppError,
    sync::SyncStatus,
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
}

impl ApplicationBody {
    /// The body of `a` as its applicant sees it.
    pub(super) fn new(state: &AppState, a: ApplicationRecord) -> Self {
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
        }
    }
}

impl ApplicationBody {
    /// The body with the application's platform-sync state.
    /// The bodies of `records` with their platform-sync state, looked up in one query.
    pub(super) async fn many(
        state: &AppState,
        records: Vec<ApplicationRecord>,
    ) -> Result<Vec<Self>, AppError> {
        let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        let mut syncs = state
            .sync
            .states(&ids)
            .await
            .map_err(crate::ca::CaError::Storage)?;
        Ok(records
            .into_iter()
            .map(|record| {
                let sync = syncs.remove(&record.id);
                let mut body = Self::new(state, record);
                if let Some(sync) = sync {
                    body.sync_status = Some(sync.status.as_str().to_string());
                    body.sync_status_label = Some(sync.status.label_zh().to_string());
                    body.sync_reason = sync.last_error.filter(|_| {
                        matches!(sync.status, SyncStatus::Blocked | SyncStatus::Failed)
                    });
                }
                body
            })
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
#[post("/api/v1/applications")]
pub async fn create(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let applicant = applicant(&state, &request).await?;
    let record = state.applications.create(&applicant).await?;
    Ok(HttpResponse::Created().json(ApplicationBody::new(&state, record)))
}

/// The applicant's applications, newest first, with their statuses.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications",
    security(("applicant_session" = [])), responses((status = 200, body = Vec<ApplicationBody>)))]
#[get("/api/v1/applications")]
pub async fn list(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let applicant = applicant(&state, &request).await?;
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
#[get("/api/v1/applications/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let applicant = applicant(&state, &request).await?;
    let record = state
        .applications
        .get(&applicant, path.into_inner())
        .await?;
    json(&state, record).await
}

/// Accepts the agreement (refused until the reading countdown has run out).
#[utoipa::path(post, path = "/api/v1/applications/{id}/agreement", tag = "applications",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = ApplicationBody), (status = 409, body = crate::error::ErrorBody)))]
#[post("/api/v1/applications/{id}/agreement")]
pub async fn accept_agreement(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let applicant = applicant(&state, &request).await?;
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
#[put("/api/v1/applications/{id}/enterprise")]
pub async fn save_enterprise(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<i64>,
    body: web::Json<EnterpriseInput>,
) -> Result<HttpResponse, AppError> {
    let applicant = applicant(&state, &request).await?;
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
#[put("/api/v1/applications/{id}/agent")]
pub async fn save_agent(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<i64>,
    body: web::Json<AgentInput>,
) -> Result<HttpResponse, AppError> {
    let applicant = applicant(&state, &request).await?;
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
#[put("/api/v1/applications/{id}/ca")]
pub async fn save_ca(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<i64>,
    body: web::Json<CaInput>,
) -> Result<HttpResponse, AppError> {
    let applicant = applicant(&state, &request).await?;
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
#[post("/api/v1/applications/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let applicant = applicant(&state, &request).await?;
    let record = state
        .applications
        .submit(&applicant, path.into_inner())
        .await?;
    json(&state, record).await
}
