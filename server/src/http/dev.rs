//! Development-mode endpoints (`MCERT_DEV_MODE=true`): they stand in for staff tools so that the
//! SDK, `mcert-phone` and portal developers can exercise mcert on their own machine. The route
//! table mounts them only in development mode.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::audit::Actor;
use crate::{
    ca::{HolderDraft, UnitDraft},
    error::AppError,
};

/// Who the ticket is for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevTicketRequest {
    /// Unified social credit code.
    pub uscc: String,
    /// Employer name.
    pub unit_name: String,
    /// Holder name.
    pub holder_name: String,
    /// Holder resident ID number.
    pub id_number: String,
    /// Holder mobile phone.
    pub phone: String,
}

/// A new ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevTicketResponse {
    /// The ticket, shown once.
    pub ticket: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Creates an enrolment ticket without a staff login (development mode only).
#[utoipa::path(post, path = "/dev/enrolment-tickets", tag = "development",
    request_body = DevTicketRequest,
    responses((status = 201, body = DevTicketResponse), (status = 400, body = crate::error::ErrorBody)))]
pub async fn enrolment_ticket(
    state: web::Data<AppState>,
    body: web::Json<DevTicketRequest>,
) -> Result<HttpResponse, AppError> {
    let unit = UnitDraft::parse(&body.uscc, &body.unit_name)?;
    let holder = HolderDraft::parse(&body.holder_name, &body.id_number, &body.phone)?;
    let issued = state
        .enrolment
        .create_ticket(unit, holder, &Actor::Development("dev-endpoint"))
        .await?;
    Ok(HttpResponse::Created().json(DevTicketResponse {
        ticket: issued.ticket.to_string(),
        expires_at: issued.expires_at,
    }))
}

/// Which phone's messages to show.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OutboxQuery {
    /// Only messages to this phone.
    pub phone: Option<String>,
}

/// The development SMS outbox, newest first (development mode without a real provider only).
#[utoipa::path(get, path = "/dev/sms", tag = "development", params(OutboxQuery),
    responses((status = 200, description = "`[{phone, text, sent_at}]`, newest first"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn sms_outbox(
    state: web::Data<AppState>,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    let outbox = state.dev_sms.as_ref().ok_or(AppError::BadRequest {
        detail: "a real SMS provider is configured".into(),
        message: "已配置真实短信服务，开发模式短信发件箱不可用",
    })?;
    Ok(HttpResponse::Ok().json(outbox.recent(query.phone.as_deref())))
}
