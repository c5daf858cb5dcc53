//! The mini-program's account steps: WeChat sign-in, real-name verification, phone binding.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppState, otp::SendCodeResponse, principals::MpSession};
use crate::{
    certificates::Standing,
    downloads::Reverification,
    error::AppError,
    people::{BindOutcome, PersonRecord},
};

/// A `wx.login` code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MpSignInRequest {
    /// The code `wx.login` gave (single use, 5 minutes).
    pub code: String,
}

/// A mini-program session.
#[derive(Debug, Serialize, ToSchema)]
pub struct MpSessionBody {
    /// Bearer token for the other `/api/v1/mp/*` calls.
    pub token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// Whether real-name verification has been passed already.
    pub verified: bool,
}

/// The verified person as the mini-program shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonBody {
    /// 姓名.
    pub name: String,
    /// 身份证号, masked (`110105********002X`).
    pub id_number: String,
    /// When the face verification passed.
    pub verified_at: DateTime<Utc>,
    /// The phones bound to the person.
    pub phones: Vec<String>,
}

impl PersonBody {
    fn new(person: &PersonRecord, phones: Vec<String>) -> Self {
        Self {
            name: person.name.clone(),
            id_number: person.masked_id_number(),
            verified_at: person.verified_at,
            phones,
        }
    }
}

/// Signs in with a `wx.login` code (the server asks WeChat; the `session_key` stays there).
#[utoipa::path(post, path = "/api/v1/mp/session", tag = "mini-program", request_body = MpSignInRequest,
    responses((status = 201, body = MpSessionBody), (status = 400, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn sign_in(
    state: web::Data<AppState>,
    body: web::Json<MpSignInRequest>,
) -> Result<HttpResponse, AppError> {
    let signed = state.people.sign_in(&body.code).await?;
    Ok(HttpResponse::Created().json(MpSessionBody {
        token: signed.token,
        expires_at: signed.expires_at,
        verified: signed.user.person_id.is_some(),
    }))
}

/// Ends the mini-program session.
#[utoipa::path(delete, path = "/api/v1/mp/session", tag = "mini-program",
    security(("mp_session" = [])), responses((status = 204)))]
pub async fn sign_out(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    if let Some(token) = super::bearer_token(&request) {
        state.people.sign_out(token).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The verified person and their phones; `404 person_not_verified` (未查询到人员信息，请先实名认证)
/// before real-name verification.
#[utoipa::path(get, path = "/api/v1/mp/me", tag = "mini-program", security(("mp_session" = [])),
    responses((status = 200, body = PersonBody), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn me(state: web::Data<AppState>, user: MpSession) -> Result<HttpResponse, AppError> {
    let (person, phones) = state.people.person_of(&user).await?;
    Ok(HttpResponse::Ok().json(PersonBody::new(&person, phones)))
}

/// Real-name verification input.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RealNameRequest {
    /// 姓名, as on the application.
    pub name: String,
    /// 身份证号.
    pub id_number: String,
    /// What `wx.startFacialRecognitionVerify` returned; the server asks WeChat what it means.
    pub verify_result: String,
}

/// Real-name verification (实名认证): name, ID number and a face verification of this person
/// by this WeChat user, checked with WeChat by the server.
#[utoipa::path(post, path = "/api/v1/mp/real-name", tag = "mini-program", request_body = RealNameRequest,
    security(("mp_session" = [])),
    responses((status = 200, body = PersonBody), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn real_name(
    state: web::Data<AppState>,
    body: web::Json<RealNameRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let person = state
        .people
        .verify_real_name(&user, &body.name, &body.id_number, &body.verify_result)
        .await?;
    let phones = state.people.phones_of(&person).await?;
    Ok(HttpResponse::Ok().json(PersonBody::new(&person, phones)))
}

/// A phone to prove.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneCodeRequest {
    /// The phone written on the application as the agent's (经办人手机号码).
    pub phone: String,
}

/// Sends the SMS code for the phone to download with (verified people only; the usual
/// per-phone and per-address limits apply).
#[utoipa::path(post, path = "/api/v1/mp/phone-codes", tag = "mini-program", request_body = PhoneCodeRequest,
    security(("mp_session" = [])),
    responses((status = 201, body = SendCodeResponse), (status = 404, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn phone_code(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<PhoneCodeRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let sent = state
        .people
        .send_phone_code(&user, &body.phone, &super::client_address(&request))
        .await?;
    Ok(HttpResponse::Created().json(SendCodeResponse {
        expires_at: sent.expires_at,
        resend_after_secs: sent.resend_after_secs,
    }))
}

/// A phone and its code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindPhoneRequest {
    /// The phone.
    pub phone: String,
    /// The 6-digit code sent to it.
    pub code: String,
}

/// A binding.
#[derive(Debug, Serialize, ToSchema)]
pub struct BindingBody {
    /// The phone.
    pub phone: String,
    /// `bound` now, or `already_bound` to this person.
    pub outcome: String,
}

/// Binds the phone to the verified person: the code proves it is at hand, the carrier's
/// three-element check that it is registered to the person (else `409 phone_not_owned`: 未获取到
/// 绑定信息), and nobody else may hold it (else `409 phone_bound`: 手机号已被绑定).
#[utoipa::path(post, path = "/api/v1/mp/phones", tag = "mini-program", request_body = BindPhoneRequest,
    security(("mp_session" = [])),
    responses((status = 200, body = BindingBody), (status = 400, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn bind_phone(
    state: web::Data<AppState>,
    body: web::Json<BindPhoneRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let outcome = state
        .people
        .bind_phone(&user, &body.phone, &body.code)
        .await?;
    Ok(HttpResponse::Ok().json(BindingBody {
        phone: body.phone.trim().to_string(),
        outcome: match outcome {
            BindOutcome::AlreadyBound => "already_bound",
            _ => "bound",
        }
        .to_string(),
    }))
}

/// Unbinds one of the person's phones (手机号解绑), audited.
#[utoipa::path(delete, path = "/api/v1/mp/phones/{phone}", tag = "mini-program",
    params(("phone" = String, Path)), security(("mp_session" = [])),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn unbind_phone(
    state: web::Data<AppState>,
    path: web::Path<String>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    state.people.unbind_phone(&user, &path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An employer the person may download a certificate for.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployerBody {
    /// The approved application to download for.
    pub application_id: i64,
    /// 单位名称.
    pub unit_name: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// The agent's phone on the application.
    pub phone: String,
    /// Whether it can be downloaded now (the employment platform has the data).
    pub ready: bool,
    /// The seed's wording of the data sync (申请资料同步：…).
    pub sync_status_label: String,
}

/// The employers with an approved application for this person on one of their bound phones
/// (手机CA证书下载); `404 no_binding_info` (未获取到绑定信息) when there is none.
#[utoipa::path(get, path = "/api/v1/mp/employers", tag = "mini-program", security(("mp_session" = [])),
    responses((status = 200, body = [EmployerBody]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn employers(
    state: web::Data<AppState>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let list: Vec<EmployerBody> = state
        .downloads
        .employers(&user)
        .await?
        .into_iter()
        .filter_map(|d| {
            let ready = d.ready();
            let enterprise = d.application.enterprise?;
            let agent = d.application.agent?;
            Some(EmployerBody {
                application_id: d.application.id,
                unit_name: enterprise.name,
                uscc: enterprise.uscc,
                phone: agent.phone,
                ready,
                sync_status_label: d.sync.label_zh().to_string(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// Start of a download.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadRequest {
    /// The employer's approved application (from `/api/v1/mp/employers`).
    pub application_id: i64,
    /// The phone's public share P1, SEC1, base64.
    pub p1: String,
    /// Needed when the person holds an active (or PIN-locked) certificate for the employer
    /// already: the real-name steps again, as for an unlock.
    pub reverification: Option<UnlockRequest>,
}

/// Downloads the certificate (下载新证书): the split-key enrolment for the chosen application;
/// the phone finishes with `/api/v1/cosign/{session_id}/partials` and `…/signature` (the PIN it
/// chose masks its share). A download on a new phone revokes the old phone's certificate once
/// the new one is active, and the holder is told by SMS. While the person holds an active
/// certificate for the employer, `reverification` is required (`403
/// download_reverification_required` without it).
#[utoipa::path(post, path = "/api/v1/mp/downloads", tag = "mini-program", request_body = DownloadRequest,
    security(("mp_session" = [])),
    responses((status = 201, body = super::keys::EnrolResponse), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn download(
    state: web::Data<AppState>,
    body: web::Json<DownloadRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    let p1 = super::keys::decode("p1", &body.p1)?;
    let proof = body.reverification.as_ref().map(UnlockRequest::proof);
    let started = state
        .downloads
        .start(&user, body.application_id, &p1, proof.as_ref())
        .await?;
    Ok(HttpResponse::Created().json(super::keys::EnrolResponse {
        serial: started.serial.to_string(),
        public_key: STANDARD.encode(&started.public_key),
        cosign: started.session.into(),
    }))
}

/// A downloaded certificate as the mini-program lists it (已下载证书).
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldCertificateBody {
    /// Serial, hex.
    pub serial: String,
    /// 单位名称.
    pub unit_name: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// `primary` (the employer's first certificate) or `sub`.
    pub role: String,
    /// `active`, `revoked` or `expired` (`not_yet_valid` before its validity begins).
    pub status: String,
    /// The seed's wording: 已激活, 已废除 or 已过期 (未生效).
    pub status_label: String,
    /// Valid until.
    pub not_after: DateTime<Utc>,
    /// Whether it is the person's default certificate (默认证书).
    pub default: bool,
}

/// The certificates the person downloaded, with their role and which one is the default.
#[utoipa::path(get, path = "/api/v1/mp/certificates", tag = "mini-program", security(("mp_session" = [])),
    responses((status = 200, body = [HeldCertificateBody]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn certificates(
    state: web::Data<AppState>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let (held, default) = state.people.certificates(&user).await?;
    let now = state.clock.now();
    let list: Vec<HeldCertificateBody> = held
        .into_iter()
        .map(|c| {
            let standing = Standing::of(&c, now);
            HeldCertificateBody {
                serial: c.serial.to_string(),
                unit_name: c.unit_name,
                uscc: c.uscc,
                role: c.role.as_str().to_string(),
                status: standing.as_str().to_string(),
                status_label: standing.label_zh().to_string(),
                not_after: c.not_after,
                default: default == Some(c.id),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// Makes one of the person's active certificates the default (点证书卡片 → 默认证书).
#[utoipa::path(put, path = "/api/v1/mp/certificates/{serial}/default", tag = "mini-program",
    params(("serial" = String, Path)), security(("mp_session" = [])),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn set_default(
    state: web::Data<AppState>,
    path: web::Path<String>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    state.people.set_default(&user, &path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What unlocking asks for: the real-name steps again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockRequest {
    /// A fresh `wx.startFacialRecognitionVerify` result of the person.
    pub verify_result: String,
    /// One of the person's bound phones.
    pub phone: String,
    /// The SMS code sent to it (`POST /api/v1/mp/phone-codes`).
    pub code: String,
}

impl UnlockRequest {
    fn proof(&self) -> Reverification {
        Reverification {
            verify_result: self.verify_result.clone(),
            phone: self.phone.clone(),
            code: self.code.clone(),
        }
    }
}

/// Unlocks a certificate locked after 6 wrong PINs, by repeating real-name verification: a
/// fresh face result and an SMS code to a bound phone; audited as `key.unlock`.
#[utoipa::path(post, path = "/api/v1/mp/certificates/{serial}/unlock", tag = "mini-program",
    params(("serial" = String, Path)), request_body = UnlockRequest, security(("mp_session" = [])),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn unlock(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<UnlockRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    state
        .downloads
        .unlock(&user, &path.into_inner(), &body.proof())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
