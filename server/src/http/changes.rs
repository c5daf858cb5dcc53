//! 信息变更 over HTTP: the agent on the application site (signed in with the applying phone and
//! an SMS code) asks for a change of an approved application's address or legal
//! representative; staff review it (seed 000 §五(二)).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    principals::{ApplicantSession, StaffSession},
    staff::{NoticeBody, Paging, RejectRequest},
};
use crate::{
    applications::{
        EnterpriseInfo, Outcome,
        changes::{ChangeInput, ChangeRecord, ChangeStatus},
    },
    error::AppError,
};

/// The details an information change may change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeDetails {
    /// 行政区域 (six-digit county code).
    pub region_code: String,
    /// 单位住所（地址）.
    pub address: String,
    /// 法定代表人姓名.
    pub legal_representative_name: String,
    /// 法定代表人身份证号码.
    pub legal_representative_id: String,
}

impl From<&EnterpriseInfo> for ChangeDetails {
    fn from(info: &EnterpriseInfo) -> Self {
        Self {
            region_code: info.region_code.clone(),
            address: info.address.clone(),
            legal_representative_name: info.legal_representative_name.clone(),
            legal_representative_id: info.legal_representative_id.clone(),
        }
    }
}

/// An information change as its applicant sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeBody {
    /// Id.
    pub id: i64,
    /// The application it changes.
    pub application_id: i64,
    /// `submitted` (待审核), `approved` (审核通过) or `rejected` (审核驳回).
    pub status: String,
    /// The status in Chinese (信息变更审核：…).
    pub status_label: String,
    /// 驳回原因, when rejected.
    pub reject_reason: Option<String>,
    /// The fields it changes: `region_code`, `address`, `legal_representative_name`,
    /// `legal_representative_id`.
    pub changed: Vec<&'static str>,
    /// The details when it was submitted.
    pub before: ChangeDetails,
    /// The details it asks for.
    pub after: ChangeDetails,
    /// The new licence image, when one was given.
    pub licence_upload_id: Option<String>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// When a reviewer decided.
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<&ChangeRecord> for ChangeBody {
    fn from(change: &ChangeRecord) -> Self {
        Self {
            id: change.id,
            application_id: change.application_id,
            status: change.status.as_str().to_string(),
            status_label: change.status.label_zh().to_string(),
            reject_reason: change.reject_reason.clone(),
            changed: change.changed().into_iter().map(|f| f.as_str()).collect(),
            before: ChangeDetails::from(&change.before),
            after: ChangeDetails::from(&change.after),
            licence_upload_id: change.licence_upload_id.clone(),
            submitted_at: change.submitted_at,
            decided_at: change.decided_at,
        }
    }
}

/// 信息变更: asks for a change of the employer's address (行政区域, 单位住所) or legal
/// representative (with a new licence) on an approved application, checked as the enterprise
/// step checks them; staff review it. The employer's name and USCC, the agent and the phone
/// cannot change this way (`change_needs_new_application`: revoke the certificate and apply
/// anew). The certificate is not touched.
#[utoipa::path(post, path = "/api/v1/applications/{id}/changes", tag = "applications",
    params(("id" = i64, Path)), request_body = ChangeInput, security(("applicant_session" = [])),
    responses((status = 201, body = ChangeBody), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn submit(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<ChangeInput>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let change = state
        .changes
        .submit(&applicant, path.into_inner(), &body)
        .await?;
    Ok(HttpResponse::Created().json(ChangeBody::from(&change)))
}

/// The information changes of one of the applicant's applications, newest first, with their
/// review status and reasons.
#[utoipa::path(get, path = "/api/v1/applications/{id}/changes", tag = "applications",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = [ChangeBody]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let changes = state.changes.list(&applicant, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(changes.iter().map(ChangeBody::from).collect::<Vec<_>>()))
}

/// An information change as reviewers see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffChangeBody {
    /// What the applicant sees.
    #[serde(flatten)]
    pub change: ChangeBody,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 单位名称.
    pub unit_name: String,
    /// The reviewer who decided.
    pub decided_by: Option<String>,
    /// The SMS notices to the agent about this change, oldest first (detail view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notices: Option<Vec<NoticeBody>>,
}

impl From<&ChangeRecord> for StaffChangeBody {
    fn from(change: &ChangeRecord) -> Self {
        Self {
            change: ChangeBody::from(change),
            uscc: change.uscc.clone(),
            unit_name: change.unit_name.clone(),
            decided_by: change.decided_by.clone(),
            notices: None,
        }
    }
}

/// One change with its notices.
async fn one_staff_body(
    state: &AppState,
    change: &ChangeRecord,
) -> Result<StaffChangeBody, AppError> {
    let mut body = StaffChangeBody::from(change);
    body.notices = Some(
        super::staff::notice_bodies(state, &format!("information_change:{}", change.id)).await?,
    );
    Ok(body)
}

/// Change-queue query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChangeQueueQuery {
    /// `submitted` (default), `approved` or `rejected`.
    pub status: Option<String>,
    /// Page, from 1.
    pub page: Option<u64>,
    /// Rows per page (1–100, default 20).
    pub per_page: Option<u64>,
}

/// A page of the change queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeQueuePage {
    /// The changes.
    pub items: Vec<StaffChangeBody>,
    /// Matching changes in all.
    pub total: u64,
    /// This page.
    pub page: u64,
    /// Rows per page.
    pub per_page: u64,
}

/// The information changes waiting for review (or decided ones), oldest submission first.
#[utoipa::path(get, path = "/api/v1/staff/information-changes", tag = "staff",
    params(ChangeQueueQuery), security(("staff_session" = [])),
    responses((status = 200, body = ChangeQueuePage), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn queue(
    state: web::Data<AppState>,
    query: web::Query<ChangeQueueQuery>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let status = match query.status.as_deref() {
        None => ChangeStatus::Submitted,
        Some(value) => ChangeStatus::parse(value).ok_or_else(|| AppError::BadRequest {
            detail: format!("change status {value}"),
            message: "状态可选：submitted、approved、rejected",
        })?,
    };
    let paging = Paging::of(query.page, query.per_page);
    let (changes, total) = state
        .changes
        .queue(status, paging.offset(), paging.per_page)
        .await?;
    Ok(HttpResponse::Ok().json(ChangeQueuePage {
        items: changes.iter().map(StaffChangeBody::from).collect(),
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

/// One information change: the details before and after, the new licence (through
/// `GET /api/v1/staff/uploads/{id}`) and the SMS notices about it.
#[utoipa::path(get, path = "/api/v1/staff/information-changes/{id}", tag = "staff",
    params(("id" = i64, Path)), security(("staff_session" = [])),
    responses((status = 200, body = StaffChangeBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let change = state.changes.for_staff(path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(one_staff_body(&state, &change).await?))
}

/// Approves a submitted information change: the application's enterprise details and the
/// employer record take the new values, the employment platform receives them (the
/// application's push queued again with the next revision), the agent gets the SMS; audited as
/// `information_change.approve`. The certificates are not touched.
#[utoipa::path(post, path = "/api/v1/staff/information-changes/{id}/approve", tag = "staff",
    params(("id" = i64, Path)), security(("staff_session" = [])),
    responses((status = 200, body = StaffChangeBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn approve(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    reviewer: StaffSession,
) -> Result<HttpResponse, AppError> {
    let change = state
        .changes
        .decide(&reviewer, path.into_inner(), Outcome::Approve)
        .await?;
    state.notices.flush().await;
    Ok(HttpResponse::Ok().json(one_staff_body(&state, &change).await?))
}

/// Rejects a submitted information change with a reason (as an application's rejection:
/// required, at most 200 characters); nothing else changes, the agent gets the SMS; audited
/// as `information_change.reject`.
#[utoipa::path(post, path = "/api/v1/staff/information-changes/{id}/reject", tag = "staff",
    params(("id" = i64, Path)), request_body = RejectRequest, security(("staff_session" = [])),
    responses((status = 200, body = StaffChangeBody), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn reject(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<RejectRequest>,
    reviewer: StaffSession,
) -> Result<HttpResponse, AppError> {
    let change = state
        .changes
        .decide(
            &reviewer,
            path.into_inner(),
            Outcome::Reject(body.reason.clone()),
        )
        .await?;
    state.notices.flush().await;
    Ok(HttpResponse::Ok().json(one_staff_body(&state, &change).await?))
}
