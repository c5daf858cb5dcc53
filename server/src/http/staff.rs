//! Staff sign-in.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use crate::{
    error::AppError,
    staff::{StaffError, StaffRecord},
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
}

impl From<&StaffRecord> for StaffBody {
    fn from(staff: &StaffRecord) -> Self {
        Self {
            id: staff.id,
            username: staff.username.clone(),
            display_name: staff.display_name.clone(),
        }
    }
}

/// A staff session.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffSession {
    /// Bearer token for staff endpoints.
    pub token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The account.
    pub staff: StaffBody,
}

/// The staff bearer token of a request.
pub(super) fn staff_token(request: &HttpRequest) -> Result<&str, AppError> {
    request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(AppError::Staff(StaffError::NotSignedIn))
}

/// Signs a staff member in (five wrong passwords in a row lock the account for 15 minutes).
#[utoipa::path(post, path = "/api/v1/staff/session", tag = "staff", request_body = StaffSignIn,
    responses((status = 200, body = StaffSession), (status = 401, body = crate::error::ErrorBody),
              (status = 423, body = crate::error::ErrorBody)))]
#[post("/api/v1/staff/session")]
pub async fn sign_in(
    state: web::Data<AppState>,
    body: web::Json<StaffSignIn>,
) -> Result<HttpResponse, AppError> {
    let (token, staff) = state.staff.sign_in(&body.username, &body.password).await?;
    let ttl =
        chrono::TimeDelta::from_std(crate::staff::SESSION_TTL).unwrap_or(chrono::TimeDelta::MAX);
    Ok(HttpResponse::Ok().json(StaffSession {
        token,
        expires_at: Utc::now() + ttl,
        staff: StaffBody::from(&staff),
    }))
}

/// The signed-in staff account.
#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff", security(("staff_session" = [])),
    responses((status = 200, body = StaffBody), (status = 401, body = crate::error::ErrorBody)))]
#[get("/api/v1/staff/me")]
pub async fn me(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let staff = state.staff.authenticate(staff_token(&request)?).await?;
    Ok(HttpResponse::Ok().json(StaffBody::from(&staff)))
}

/// Signs out.
#[utoipa::path(delete, path = "/api/v1/staff/session", tag = "staff",
    security(("staff_session" = [])), responses((status = 204)))]
#[delete("/api/v1/staff/session")]
pub async fn sign_out(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    state.staff.sign_out(staff_token(&request)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
