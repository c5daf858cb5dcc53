//! Split-key endpoints for the phone: enrolment, the two co-signing steps, PIN checks and key
//! status. Bytes travel as standard base64 (see `docs/split-key.md`).

use actix_web::{HttpResponse, web};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppState, principals::DeviceToken};
use crate::{
    cosign::{OpenedSession, Purpose},
    domain::CertificateSerial,
    enrol::Ticket,
    error::AppError,
};

pub(super) fn decode(field: &'static str, value: &str) -> Result<Vec<u8>, AppError> {
    STANDARD.decode(value).map_err(|e| AppError::BadRequest {
        detail: format!("{field}: {e}"),
        message: "提交的数据不是有效的 base64 编码，请更新小程序后重试",
    })
}

/// A co-signing session as the phone sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CosignSession {
    /// Session id; also the bytes the PIN proof is bound to.
    pub session_id: String,
    /// The canonical message to sign, base64.
    pub message: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

impl From<OpenedSession> for CosignSession {
    fn from(session: OpenedSession) -> Self {
        Self {
            session_id: session.id,
            message: STANDARD.encode(&session.message),
            expires_at: session.expires_at,
        }
    }
}

/// Start of an enrolment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The enrolment ticket (下载码).
    pub ticket: String,
    /// The phone's public share P1, SEC1, base64.
    pub p1: String,
}

/// An enrolment waiting for its first co-signed signature.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolResponse {
    /// Serial of the pending certificate.
    pub serial: String,
    /// The joint public key P (SEC1 uncompressed, base64) that goes in the certificate.
    pub public_key: String,
    /// Session over the key-enrolment message.
    pub cosign: CosignSession,
}

/// Starts enrolling a split key under a ticket.
#[utoipa::path(post, path = "/api/v1/enrolments", tag = "keys", request_body = EnrolRequest,
    responses((status = 201, body = EnrolResponse),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn enrol(
    state: web::Data<AppState>,
    body: web::Json<EnrolRequest>,
) -> Result<HttpResponse, AppError> {
    let ticket = Ticket::parse(&body.ticket)?;
    let p1 = decode("p1", &body.p1)?;
    let started = state.enrolment.start(&ticket, &p1).await?;
    Ok(HttpResponse::Created().json(EnrolResponse {
        serial: started.serial.to_string(),
        public_key: STANDARD.encode(&started.public_key),
        cosign: started.session.into(),
    }))
}

/// The phone's first co-signing step: its round sealed to the transport key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartialsRequest {
    /// `version (2) ‖ A (65) ‖ SM4-GCM(Q1 ‖ proof) ‖ tag` (244 bytes), base64.
    pub sealed_round: Option<String>,
    /// Version 1 (Q1 in clear): refused with `cosign_protocol_outdated`.
    pub q1: Option<String>,
    /// Version 1 (the PIN proof in clear): refused with `cosign_protocol_outdated`.
    pub proof: Option<String>,
}

/// The server's partial signature, sealed for the phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartialsResponse {
    /// `SM4-GCM(r ‖ s2 ‖ s3) ‖ tag` (112 bytes), base64.
    pub sealed_partials: String,
}

/// Opens the sealed round, checks the PIN proof and returns the server's sealed partials.
#[utoipa::path(post, path = "/api/v1/cosign/{session_id}/partials", tag = "keys",
    params(("session_id" = String, Path)), request_body = PartialsRequest,
    responses((status = 200, body = PartialsResponse),
              (status = 403, description = "wrong PIN (`pin_incorrect`, with `remaining_attempts`)", body = crate::error::ErrorBody),
              (status = 423, description = "key locked", body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 400, description = "also `cosign_protocol_outdated` for a version 1 body and `cosign_round_undecryptable`", body = crate::error::ErrorBody)))]
pub async fn partials(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<PartialsRequest>,
) -> Result<HttpResponse, AppError> {
    let sealed_round = match &*body {
        PartialsRequest {
            sealed_round: Some(sealed),
            q1: None,
            proof: None,
        } => decode("sealed_round", sealed)?,
        PartialsRequest {
            sealed_round: None,
            q1: Some(_),
            proof: Some(_),
        } => {
            return Err(AppError::Cosign(
                crate::cosign::CosignError::RoundOutdated { version: 1 },
            ));
        }
        _ => {
            return Err(AppError::BadRequest {
                detail: "expected exactly the field sealed_round".to_string(),
                message: "请求缺少加密的签名数据 sealed_round，请更新小程序后重试",
            });
        }
    };
    let sealed_partials = state
        .enrolment
        .cosigner()
        .partials(&path.into_inner(), &sealed_round)
        .await?;
    Ok(HttpResponse::Ok().json(PartialsResponse {
        sealed_partials: STANDARD.encode(sealed_partials),
    }))
}

/// The co-signing transport key the phone seals its rounds to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransportKeyResponse {
    /// SEC1 uncompressed SM2 point (65 bytes), base64; the mini-program pins this value.
    pub public_key: String,
    /// The co-signing round version sealed to it.
    pub round_version: u8,
}

/// The server's co-signing transport key. Published for configuration: a client pins the value
/// it was built with and refuses another, so a proxy cannot substitute its own.
#[utoipa::path(get, path = "/api/v1/mp/transport-key", tag = "keys",
    responses((status = 200, body = TransportKeyResponse)))]
pub async fn transport_key(state: web::Data<AppState>) -> HttpResponse {
    use sm2::elliptic_curve::sec1::ToEncodedPoint as _;
    let key = state.enrolment.cosigner().transport_public_key();
    HttpResponse::Ok().json(TransportKeyResponse {
        public_key: STANDARD.encode(key.to_encoded_point(false).as_bytes()),
        round_version: mcert_signer::transport::ROUND_VERSION,
    })
}

/// The finished signature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureRequest {
    /// DER SM2 signature, base64.
    pub signature: String,
}

/// What the signature completed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureResponse {
    /// `key_enrolment`, `verify_pin`, `change_pin`, `login`, `grant_change`,
    /// `revocation_request`, `renewal_request`, `seal` or `seal_pdf`.
    pub purpose: String,
    /// The certificate (for a renewal: the new one, which the phone keeps from now on).
    pub serial: String,
    /// For an enrolment or a renewal: the signed certificate, PEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// For an enrolment: the phone's device token (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// For a grant change: what the sub-certificate may do at the portal now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<super::grants::SavedGrantBody>,
    /// For a revocation request: the revocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<super::revocations::RevocationBody>,
    /// For a renewal request: the renewal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal: Option<super::renewals::RenewalBody>,
    /// For a seal on a PDF: the next co-signing session, over the stamped PDF's signed
    /// attributes (their message digest is the seal's `dataHash`); sign it with the same PIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<CosignSession>,
}

/// Verifies the phone's final signature over the session's message and completes its purpose.
#[utoipa::path(post, path = "/api/v1/cosign/{session_id}/signature", tag = "keys",
    params(("session_id" = String, Path)), request_body = SignatureRequest,
    responses((status = 200, body = SignatureResponse),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn signature(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SignatureRequest>,
) -> Result<HttpResponse, AppError> {
    let signature = decode("signature", &body.signature)?;
    let finished = state.signing.finish(&path.into_inner(), &signature).await?;
    if finished.grant.is_some() || finished.revocation.is_some() || finished.renewal.is_some() {
        // A withdrawn item, a revocation or a supersession ended sessions: tell the portals now.
        state.backchannel.flush().await;
    }
    Ok(HttpResponse::Ok().json(SignatureResponse {
        purpose: finished.purpose.as_str().into(),
        serial: finished.serial.to_string(),
        certificate: finished.certificate_pem,
        device_token: finished.device_token,
        grant: finished.grant.map(Into::into),
        revocation: finished.revocation.map(Into::into),
        renewal: finished.renewal.map(Into::into),
        next: finished.next.map(Into::into),
    }))
}

/// Which PIN check.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyCheckPurpose {
    /// Confirm the PIN.
    VerifyPin,
    /// Confirm the old PIN before re-masking under a new one.
    ChangePin,
}

/// A PIN-check request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyCheckRequest {
    /// `verify_pin` or `change_pin`.
    pub purpose: KeyCheckPurpose,
}

/// Opens a co-signing session over a key-check message (the PIN is checked by the proof).
#[utoipa::path(post, path = "/api/v1/certificates/{serial}/key-checks", tag = "keys",
    params(("serial" = String, Path)), request_body = KeyCheckRequest,
    security(("device_token" = [])),
    responses((status = 201, body = CosignSession),
              (status = 401, body = crate::error::ErrorBody), (status = 423, body = crate::error::ErrorBody)))]
pub async fn key_check(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<KeyCheckRequest>,
    device: DeviceToken,
) -> Result<HttpResponse, AppError> {
    let serial = CertificateSerial::parse(&path.into_inner())?;
    let purpose = match body.purpose {
        KeyCheckPurpose::VerifyPin => Purpose::VerifyPin,
        KeyCheckPurpose::ChangePin => Purpose::ChangePin,
    };
    let session = state
        .enrolment
        .key_check(&serial, device.as_str(), purpose)
        .await?;
    Ok(HttpResponse::Created().json(CosignSession::from(session)))
}

/// A key's state for its phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyStatusResponse {
    /// The certificate.
    pub serial: String,
    /// `pending`, `active`, `revoked` or `abandoned`.
    pub status: String,
    /// Locked after six wrong PINs.
    pub locked: bool,
    /// Wrong PINs that may still be tried.
    pub remaining_attempts: u32,
}

/// The key's status (locked, attempts left) for the phone holding it.
#[utoipa::path(get, path = "/api/v1/certificates/{serial}/key", tag = "keys",
    params(("serial" = String, Path)), security(("device_token" = [])),
    responses((status = 200, body = KeyStatusResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn key_status(
    state: web::Data<AppState>,
    path: web::Path<String>,
    device: DeviceToken,
) -> Result<HttpResponse, AppError> {
    let serial = CertificateSerial::parse(&path.into_inner())?;
    let status = state.enrolment.key_status(&serial, device.as_str()).await?;
    Ok(HttpResponse::Ok().json(KeyStatusResponse {
        serial: status.serial.to_string(),
        status: status.status.as_str().into(),
        locked: status.locked,
        remaining_attempts: status.remaining_attempts,
    }))
}
