//! 证书废除 over HTTP: the agent on the application site (signed in with the applying phone and
//! an SMS code) and staff, each with a cause (seed 000 §五(一)).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    principals::{AdminSession, ApplicantSession, MpSession},
};
use crate::{
    ca::{CertificateRecord, RevocationRecord},
    certificates::{Revocations, Standing},
    domain::CertificateSerial,
    error::AppError,
};

/// A certificate of an application, as the application site lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationCertificateBody {
    /// Serial, hex.
    pub serial: String,
    /// `primary` or `sub`.
    pub role: String,
    /// The holder.
    pub holder_name: String,
    /// `pending`, `active`, `expired`, `revoked`, …
    pub status: String,
    /// The status in Chinese (已激活, 已废除, 已过期, …).
    pub status_label: String,
    /// Valid from.
    pub not_before: DateTime<Utc>,
    /// Valid until.
    pub not_after: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The cause chosen when it was revoked.
    pub revocation_cause: Option<String>,
    /// The cause in Chinese.
    pub revocation_cause_zh: Option<&'static str>,
}

impl ApplicationCertificateBody {
    fn of(certificate: CertificateRecord, now: DateTime<Utc>) -> Self {
        let standing = Standing::of(&certificate, now);
        let cause = certificate.revocation.as_ref().and_then(|r| r.cause);
        Self {
            serial: certificate.serial.to_string(),
            role: certificate.role.as_str().to_string(),
            holder_name: certificate.holder_name,
            status: standing.as_str().to_string(),
            status_label: standing.label_zh().to_string(),
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            revoked_at: certificate.revocation.as_ref().map(|r| r.revoked_at),
            revocation_cause: cause.map(|c| c.as_str().to_string()),
            revocation_cause_zh: cause.map(|c| c.label_zh()),
        }
    }
}

/// The certificates downloaded for one of the applicant's applications (证书废除 lists them).
#[utoipa::path(get, path = "/api/v1/applications/{id}/certificates", tag = "applications",
    params(("id" = i64, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = [ApplicationCertificateBody]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn application_certificates(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let certificates = state
        .revocations
        .of_application(&applicant, path.into_inner())
        .await?;
    let body: Vec<_> = certificates
        .into_iter()
        .map(|certificate| ApplicationCertificateBody::of(certificate, now))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Why a certificate is revoked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationRequest {
    /// `holder_changed` (证书使用人变更), `phone_changed` (证书使用人手机号变更),
    /// `employer_renamed` (单位名称变更), `no_longer_needed` (不再使用) or `key_compromise`
    /// (手机丢失或密钥泄露).
    pub cause: String,
}

/// A revocation done.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationBody {
    /// Serial, hex.
    pub serial: String,
    /// The RFC 5280 reason in the CRL and OCSP.
    pub reason: &'static str,
    /// The cause.
    pub cause: Option<&'static str>,
    /// The cause in Chinese.
    pub cause_zh: Option<&'static str>,
    /// When.
    pub revoked_at: DateTime<Utc>,
}

impl From<RevocationRecord> for RevocationBody {
    fn from(revocation: RevocationRecord) -> Self {
        Self {
            serial: revocation.serial.to_string(),
            reason: revocation.reason.as_str(),
            cause: revocation.cause.map(|c| c.as_str()),
            cause_zh: revocation.cause.map(|c| c.label_zh()),
            revoked_at: revocation.revoked_at,
        }
    }
}

/// The revocation's effects beyond the CA: portals whose sessions ended hear it now.
async fn revoked(state: &AppState, revocation: RevocationRecord) -> HttpResponse {
    state.backchannel.flush().await;
    HttpResponse::Ok().json(RevocationBody::from(revocation))
}

/// 证书废除 by the agent: revokes a certificate of their application at once (CRL, OCSP, no new
/// login or co-signature, open portal sessions ended, the platform told with the cause, the
/// holder's SMS). The application can then be applied for again.
#[utoipa::path(post, path = "/api/v1/applications/{id}/certificates/{serial}/revocation",
    tag = "applications", params(("id" = i64, Path), ("serial" = String, Path)),
    request_body = RevocationRequest, security(("applicant_session" = [])),
    responses((status = 200, body = RevocationBody), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn revoke_by_applicant(
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    body: web::Json<RevocationRequest>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let (id, serial) = path.into_inner();
    let serial = CertificateSerial::parse(&serial)?;
    let cause = Revocations::cause(&body.cause)?;
    let revocation = state
        .revocations
        .by_applicant(&applicant, id, &serial, cause)
        .await?;
    Ok(revoked(&state, revocation).await)
}

/// 证书废除 by the holder in the mini-program: opens a co-signing session over the canonical
/// `revocation_request` of their certificate; the PIN (the co-signing endpoints) completes it,
/// and the signature's answer carries the revocation.
#[utoipa::path(post, path = "/api/v1/mp/certificates/{serial}/revocation", tag = "keys",
    params(("serial" = String, Path)), request_body = RevocationRequest,
    security(("mp_session" = [])),
    responses((status = 201, body = super::keys::CosignSession),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 423, body = crate::error::ErrorBody)))]
pub async fn revoke_by_holder(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<RevocationRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let cause = Revocations::cause(&body.cause)?;
    let opened = state
        .revocations
        .start_by_holder(&user, &path.into_inner(), cause)
        .await?;
    Ok(HttpResponse::Created().json(super::keys::CosignSession::from(opened)))
}

/// Staff revoke a certificate for a cause (audited as the staff member).
#[utoipa::path(post, path = "/api/v1/staff/certificates/{serial}/revocation", tag = "staff",
    params(("serial" = String, Path)), request_body = RevocationRequest,
    security(("staff_session" = [])),
    responses((status = 200, body = RevocationBody), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn revoke_by_staff(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<RevocationRequest>,
    reviewer: AdminSession,
) -> Result<HttpResponse, AppError> {
    let serial = CertificateSerial::parse(&path.into_inner())?;
    let cause = Revocations::cause(&body.cause)?;
    let revocation = state
        .revocations
        .by_staff(&serial, cause, &reviewer.actor())
        .await?;
    Ok(revoked(&state, revocation).await)
}
