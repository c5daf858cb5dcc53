//! The signature log over HTTP: the holder's history of their certificate in the mini-program,
//! and a staff search by certificate, employer and time.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    principals::{MpSession, StaffSession},
};
use crate::{
    cosign::log::{LogQuery, SignatureEntry},
    domain::CertificateSerial,
    error::AppError,
};

/// One entry of the signature log.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureEntryBody {
    /// Place in the audit chain.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The certificate.
    pub serial: String,
    /// `signed`, or `pin_failed` for a wrong PIN that was refused.
    pub outcome: &'static str,
    /// `login`, `grant_change`, `key_enrolment`, `verify_pin`, `change_pin`, …
    pub purpose: Option<String>,
    /// The co-signing session.
    pub cosign_session: Option<String>,
    /// SM3 of the signed message, hex.
    pub message_sm3: Option<String>,
    /// For a login or a seal: the login (sealing) session.
    pub login_session: Option<String>,
    /// For a login or a grant change: the portal's client id.
    pub portal: Option<String>,
    /// For a grant change: the sub-certificate granted to.
    pub grantee: Option<String>,
    /// For a seal: the seal's code (电子印章标识, `esID`).
    pub seal: Option<String>,
    /// For a seal or a stamped PDF's signature: the document hash signed (SM3, hex; for a PDF
    /// the stamped revision's).
    pub document_hash: Option<String>,
}

impl From<SignatureEntry> for SignatureEntryBody {
    fn from(entry: SignatureEntry) -> Self {
        let text = |name: &str| entry.detail[name].as_str().map(str::to_string);
        Self {
            seq: entry.seq,
            at: entry.at,
            outcome: if entry.signed { "signed" } else { "pin_failed" },
            purpose: text("purpose"),
            cosign_session: text("cosign_session"),
            message_sm3: text("message_sm3"),
            login_session: text("login_session"),
            portal: text("portal"),
            grantee: text("grantee"),
            seal: text("seal"),
            document_hash: text("document_hash"),
            serial: entry.serial,
        }
    }
}

fn body(entries: Vec<SignatureEntry>) -> HttpResponse {
    let body: Vec<SignatureEntryBody> = entries.into_iter().map(Into::into).collect();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// What the signed-in person's certificate signed (and the wrong PINs refused), newest first,
/// at most 200.
#[utoipa::path(get, path = "/api/v1/mp/certificates/{serial}/signatures", tag = "keys",
    params(("serial" = String, Path)), security(("mp_session" = [])),
    responses((status = 200, body = [SignatureEntryBody]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn holder_history(
    state: web::Data<AppState>,
    path: web::Path<String>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let entries = state
        .signature_log
        .of_holder(&user, &path.into_inner())
        .await?;
    Ok(body(entries))
}

/// A staff search of the signature log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SignatureQuery {
    /// One certificate.
    pub serial: Option<String>,
    /// Every certificate of one employer.
    pub uscc: Option<String>,
    /// From (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Until, exclusive (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// Staff search the signature log by certificate, employer and time, newest first, at most 200.
#[utoipa::path(get, path = "/api/v1/staff/signatures", tag = "staff", params(SignatureQuery),
    security(("staff_session" = [])),
    responses((status = 200, body = [SignatureEntryBody]), (status = 400, body = crate::error::ErrorBody)))]
pub async fn staff_search(
    state: web::Data<AppState>,
    query: web::Query<SignatureQuery>,
    _staff: StaffSession,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let serial = query
        .serial
        .as_deref()
        .map(CertificateSerial::parse)
        .transpose()?;
    let entries = state
        .signature_log
        .search(LogQuery {
            serial,
            uscc: query.uscc.map(|uscc| uscc.trim().to_string()),
            since: query.since,
            until: query.until,
        })
        .await?;
    Ok(body(entries))
}
