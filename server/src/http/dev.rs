//! Development-mode endpoints (`MCERT_DEV_MODE=true`): they stand in for staff tools so that the
//! SDK, `mcert-phone` and portal developers can exercise mcert on their own machine. The route
//! table mounts them only in development mode. `/dev/clock` answers only when the development
//! clock is on too (`MCERT_DEV_CLOCK`).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::audit::Actor;
use crate::{
    ca::{HolderDraft, UnitDraft},
    clock::DevClockError,
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

/// The server's time on the development clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevClockBody {
    /// The server's current time.
    pub now: DateTime<Utc>,
    /// How far ahead of the system's time the server is, in seconds.
    pub offset_secs: i64,
}

/// How far to move the development clock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClockRequest {
    /// Seconds forward (at least 1).
    pub advance_secs: i64,
}

fn dev_clock(state: &AppState) -> Result<&std::sync::Arc<crate::clock::DevClock>, AppError> {
    state
        .dev_clock
        .as_ref()
        .ok_or(AppError::DevClock(DevClockError::Off))
}

fn clock_body(dev_clock: &crate::clock::DevClock) -> DevClockBody {
    use crate::clock::Clock as _;
    DevClockBody {
        now: dev_clock.now(),
        offset_secs: dev_clock.offset().num_seconds(),
    }
}

/// The server's time (development mode with `MCERT_DEV_CLOCK=true` only).
#[utoipa::path(get, path = "/dev/clock", tag = "development",
    responses((status = 200, body = DevClockBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn clock(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(clock_body(dev_clock(&state)?)))
}

/// Moves the server's time forward: countdowns, SMS resend minutes, QR codes and everything
/// else with a time to live move with it (development mode with `MCERT_DEV_CLOCK=true` only).
#[utoipa::path(post, path = "/dev/clock", tag = "development",
    request_body = AdvanceClockRequest,
    responses((status = 200, body = DevClockBody), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn advance_clock(
    state: web::Data<AppState>,
    body: web::Json<AdvanceClockRequest>,
) -> Result<HttpResponse, AppError> {
    let dev_clock = dev_clock(&state)?;
    // Seconds past what a TimeDelta holds are as far as it goes, which the clock refuses.
    let by = TimeDelta::try_seconds(body.advance_secs).unwrap_or(if body.advance_secs < 0 {
        TimeDelta::MIN
    } else {
        TimeDelta::MAX
    });
    dev_clock.advance(by)?;
    // The memory store reads the clock; Redis keeps its own time and is told.
    let moved = by.to_std().unwrap_or_default();
    state.kv.fast_forward(moved).await?;
    tracing::warn!(
        advance_secs = body.advance_secs,
        offset_secs = dev_clock.offset().num_seconds(),
        "development clock moved forward"
    );
    Ok(HttpResponse::Ok().json(clock_body(dev_clock)))
}
