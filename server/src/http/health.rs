//! `GET /healthz`.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::AppState;

/// Component health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// Database: `ok` or `unavailable`.
    pub database: &'static str,
    /// Short-lived store: `ok` or `unavailable`.
    pub kv: &'static str,
}

/// Database and kv status; 503 when either is down.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let (database, kv) = tokio::join!(state.authority.ping(), state.kv.ping());
    let label = |ok: bool| if ok { "ok" } else { "unavailable" };
    let healthy = database.is_ok() && kv.is_ok();
    if let Err(e) = &database {
        tracing::warn!(error = %crate::telemetry::error_chain(e), "database health check failed");
    }
    if let Err(e) = &kv {
        tracing::warn!(error = %crate::telemetry::error_chain(e), "kv health check failed");
    }
    let body = Health {
        status: label(healthy),
        database: label(database.is_ok()),
        kv: label(kv.is_ok()),
    };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
