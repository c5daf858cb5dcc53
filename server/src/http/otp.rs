//! Phone sign-in for applicants: the slider check, SMS codes, and sessions.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppState, principals::ApplicantSession};
use crate::{
    applicants::ApplicantRecord, captcha::TrackPoint, domain::PhoneNumber, error::AppError,
    otp::OtpPurpose,
};

/// A slider challenge.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeResponse {
    /// Challenge id; the proof-of-work prefix.
    pub id: String,
    /// Track length the drag must cover, CSS pixels.
    pub track_width: u32,
    /// Find `nonce` with SM3(id ‖ ":" ‖ nonce) starting with this many zero bits.
    pub difficulty_bits: u32,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Starts a slider check.
/// The proof of work grows with the challenges the address asked for in the last 10 minutes;
/// past 60 it is refused (429) until the 10 minutes are over.
#[utoipa::path(post, path = "/api/v1/captcha", tag = "applicants",
    responses((status = 201, body = ChallengeResponse),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn challenge(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let challenge = state
        .captcha
        .challenge(&super::client_address(&request))
        .await?;
    Ok(HttpResponse::Created().json(ChallengeResponse {
        id: challenge.id,
        track_width: challenge.track_width,
        difficulty_bits: challenge.difficulty_bits,
        expires_at: challenge.expires_at,
    }))
}

/// One pointer sample of the drag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackSample {
    /// Milliseconds since the pointer went down.
    pub t: u64,
    /// Slider position, CSS pixels.
    pub x: f64,
}

/// The page's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// The proof-of-work nonce.
    pub nonce: String,
    /// The recorded drag.
    pub track: Vec<TrackSample>,
}

/// A pass for one SMS code request.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerResponse {
    /// Single use, two minutes.
    pub captcha_pass: String,
}

/// Checks the drag and the proof of work (one answer per challenge).
#[utoipa::path(post, path = "/api/v1/captcha/{id}", tag = "applicants",
    params(("id" = String, Path)), request_body = AnswerRequest,
    responses((status = 200, body = AnswerResponse),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn answer(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AnswerRequest>,
) -> Result<HttpResponse, AppError> {
    let track: Vec<TrackPoint> = body
        .track
        .iter()
        .map(|p| TrackPoint { t: p.t, x: p.x })
        .collect();
    let pass = state
        .captcha
        .answer(&path.into_inner(), &body.nonce, &track)
        .await?;
    Ok(HttpResponse::Ok().json(AnswerResponse { captcha_pass: pass }))
}

/// What the code is for.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    /// Registering or signing in on the application site.
    ApplicantLogin,
    /// Checking the phone a certificate is downloaded to.
    DownloadPhone,
}

/// A code request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendCodeRequest {
    /// 11-digit mainland mobile number.
    pub phone: String,
    /// What the code is for.
    pub purpose: CodePurpose,
    /// The pass from the slider check.
    pub captcha_pass: String,
}

/// A code on its way.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendCodeResponse {
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
    /// Seconds before another code may be requested.
    pub resend_after_secs: u64,
}

/// Sends a 6-digit SMS code after a passed slider check.
#[utoipa::path(post, path = "/api/v1/otp", tag = "applicants", request_body = SendCodeRequest,
    responses((status = 201, body = SendCodeResponse),
              (status = 400, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn send_code(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<SendCodeRequest>,
) -> Result<HttpResponse, AppError> {
    let phone = PhoneNumber::parse(&body.phone)?;
    state.captcha.consume(&body.captcha_pass).await?;
    let address = super::client_address(&request);
    let purpose = match body.purpose {
        CodePurpose::ApplicantLogin => OtpPurpose::ApplicantLogin,
        CodePurpose::DownloadPhone => OtpPurpose::DownloadPhone,
    };
    let sent = state.otp.send(&phone, purpose, &address).await?;
    Ok(HttpResponse::Created().json(SendCodeResponse {
        expires_at: sent.expires_at,
        resend_after_secs: sent.resend_after_secs,
    }))
}

/// Sign-in with an SMS code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    /// The phone the code went to.
    pub phone: String,
    /// The 6-digit code.
    pub code: String,
}

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicantBody {
    /// Account id.
    pub id: i64,
    /// The phone, masked (`138****8000`).
    pub phone: String,
    /// First sign-in.
    pub created_at: DateTime<Utc>,
}

impl From<&ApplicantRecord> for ApplicantBody {
    fn from(applicant: &ApplicantRecord) -> Self {
        Self {
            id: applicant.id,
            phone: applicant.phone.masked(),
            created_at: applicant.created_at,
        }
    }
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInResponse {
    /// Bearer token for the application API.
    pub token: String,
    /// Whether this sign-in registered the account.
    pub registered: bool,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// The account.
    pub applicant: ApplicantBody,
}

/// Registers (first time) or signs in with the phone and its SMS code.
#[utoipa::path(post, path = "/api/v1/applicants/session", tag = "applicants",
    request_body = SignInRequest,
    responses((status = 200, body = SignInResponse), (status = 400, body = crate::error::ErrorBody)))]
pub async fn sign_in(
    state: web::Data<AppState>,
    body: web::Json<SignInRequest>,
) -> Result<HttpResponse, AppError> {
    let phone = PhoneNumber::parse(&body.phone)?;
    let signed_in = state.applicants.sign_in(&phone, &body.code).await?;
    Ok(HttpResponse::Ok().json(SignInResponse {
        token: signed_in.token,
        registered: signed_in.registered,
        expires_at: signed_in.expires_at,
        applicant: ApplicantBody::from(&signed_in.applicant),
    }))
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/applicants/me", tag = "applicants",
    security(("applicant_session" = [])),
    responses((status = 200, body = ApplicantBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(
    _state: web::Data<AppState>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(ApplicantBody::from(&*applicant)))
}

/// Signs out.
#[utoipa::path(delete, path = "/api/v1/applicants/session", tag = "applicants",
    security(("applicant_session" = [])), responses((status = 204)))]
pub async fn sign_out(
    state: web::Data<AppState>,
    session: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    state.applicants.sign_out(session.token()).await?;
    Ok(HttpResponse::NoContent().finish())
}
