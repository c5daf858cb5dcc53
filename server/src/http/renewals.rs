//! 年审延期 over HTTP: the holder asks in the mini-program (the PIN completes it through the
//! co-signing endpoints), staff list renewals and record a billable renewal's fee paid.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    principals::{AdminSession, MpSession, StaffSession},
};
use crate::{certificates::RenewalRecord, error::AppError};

/// A renewal that took effect.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalBody {
    /// Id (what staff record the payment against).
    pub id: i64,
    /// The new certificate, hex.
    pub serial: String,
    /// The certificate it follows (revoked as superseded), hex.
    pub previous_serial: String,
    /// The employer's USCC.
    pub uscc: String,
    /// The employer.
    pub unit_name: String,
    /// The new certificate's end of validity.
    pub not_after: DateTime<Utc>,
    /// The fee due in yuan; absent when the certificate renews free.
    pub fee_yuan: Option<u32>,
    /// When the renewal took effect.
    pub renewed_at: DateTime<Utc>,
    /// When staff recorded the fee paid.
    pub paid_at: Option<DateTime<Utc>>,
}

impl From<RenewalRecord> for RenewalBody {
    fn from(renewal: RenewalRecord) -> Self {
        Self {
            id: renewal.id,
            serial: renewal.serial.to_string(),
            previous_serial: renewal.previous_serial.to_string(),
            uscc: renewal.uscc,
            unit_name: renewal.unit_name,
            not_after: renewal.not_after,
            fee_yuan: renewal.fee_yuan,
            renewed_at: renewal.renewed_at,
            paid_at: renewal.paid_at,
        }
    }
}

/// A renewal waiting for the holder's PIN.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalSessionBody {
    /// The co-signing session over the `renewal_request` (signed with the current
    /// certificate).
    #[serde(flatten)]
    pub session: super::keys::CosignSession,
    /// The certificate that will follow it, hex.
    pub new_serial: String,
    /// Its end of validity.
    pub not_after: DateTime<Utc>,
}

/// 年审延期 by the holder: from 30 days before expiry, while the employer's name and USCC and
/// the holder's name and phone are unchanged, opens a co-signing session over the canonical
/// `renewal_request`. The PIN (the co-signing endpoints) completes it: the signature's answer
/// carries the new certificate (same key, new serial, a year longer) and the renewal; the old
/// certificate is superseded at that moment.
#[utoipa::path(post, path = "/api/v1/mp/certificates/{serial}/renewal", tag = "keys",
    params(("serial" = String, Path)), security(("mp_session" = [])),
    responses((status = 201, body = RenewalSessionBody),
        (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 423, body = crate::error::ErrorBody)))]
pub async fn renew_by_holder(
    state: web::Data<AppState>,
    path: web::Path<String>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let started = state
        .renewals
        .start_by_holder(&user, &path.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(RenewalSessionBody {
        session: started.session.into(),
        new_serial: started.serial.to_string(),
        not_after: started.not_after,
    }))
}

/// Which renewals staff see.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RenewalQuery {
    /// Only renewals whose fee is not yet recorded paid.
    #[serde(default)]
    pub unpaid: bool,
}

/// The renewals, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/staff/renewals", tag = "staff", params(RenewalQuery),
    security(("staff_session" = [])),
    responses((status = 200, body = [RenewalBody]), (status = 401, body = crate::error::ErrorBody)))]
pub async fn staff_renewals(
    state: web::Data<AppState>,
    query: web::Query<RenewalQuery>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let renewals = state.renewals.list(query.unpaid).await?;
    Ok(HttpResponse::Ok().json(
        renewals
            .into_iter()
            .map(RenewalBody::from)
            .collect::<Vec<_>>(),
    ))
}

/// Staff record a billable renewal's fee paid (until the ordering portal takes payments),
/// audited as `renewal.paid`.
#[utoipa::path(post, path = "/api/v1/staff/renewals/{id}/payment", tag = "staff",
    params(("id" = i64, Path)), security(("staff_session" = [])),
    responses((status = 200, body = RenewalBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn mark_paid(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    staff: AdminSession,
) -> Result<HttpResponse, AppError> {
    let renewal = state.renewals.mark_paid(&staff, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(RenewalBody::from(renewal)))
}
