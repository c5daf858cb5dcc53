//! Thin HTTP handlers: extract, parse, call one service, respond.

pub mod applications;
pub mod changes;
pub mod demo;
pub mod dev;
pub mod forwarded;
pub mod grants;
pub mod health;
pub mod keys;
pub mod login;
pub mod mp;
pub mod oauth;
pub mod openapi;
pub mod otp;
pub mod pages;
pub mod pki;
pub mod principals;
pub mod renewals;
pub mod revocations;
pub mod seals;
pub mod signatures;
pub mod staff;
pub mod uploads;

use std::sync::Arc;

use crate::{
    applicants::Applicants,
    applications::Applications,
    ca::{Authority, CertStore},
    captcha::Captcha,
    clock::{Clock, DevClock},
    downloads::Downloads,
    enrol::Enrolment,
    error::{AppError, RequestError},
    kv::Kv,
    login::{Logins, oidc::Oidc},
    notify::Notifier,
    otp::OtpService,
    people::People,
    portals::Portals,
    providers::sms::DevSms,
    staff::Staff,
    sync::Syncer,
    uploads::Uploads,
};

/// The client's address (through the trusted proxies, `forwarded.rs`), if the connection has
/// one.
fn client_ip(request: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
    let peer = request.peer_addr().map(|a| a.ip());
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok());
    match request.app_data::<actix_web::web::Data<AppState>>() {
        Some(state) => state.trusted_proxies.client_ip(peer, forwarded),
        None => peer.map(crate::geo::canonical_ip),
    }
}

/// The client's address as rate limits count it (an IPv6 client by its /64).
fn client_address(request: &actix_web::HttpRequest) -> String {
    forwarded::limit_key(client_ip(request))
}

/// The token of an `Authorization: Bearer …` header, if there is a non-empty one.
fn bearer_token(request: &actix_web::HttpRequest) -> Option<&str> {
    request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// Every answer under `/api/`: never cached (they carry personal data: the mini-program's
/// certificates, an applicant's files, a portal's ID token), and an error that something other
/// than our handlers answered in plain text (an unknown path, a body over the payload limit)
/// becomes the JSON error body too.
pub async fn api_answers(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::{
        StatusCode,
        header::{self, HeaderValue},
    };
    let api = request.path().starts_with("/api/");
    let mut response = next.call(request).await?.map_into_boxed_body();
    if !api {
        return Ok(response);
    }
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !json {
        let refused = match status {
            StatusCode::NOT_FOUND => RequestError::NoEndpoint,
            StatusCode::METHOD_NOT_ALLOWED => RequestError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => RequestError::TooLarge {
                limit: crate::startup::PAYLOAD_LIMIT,
            },
            status => RequestError::Refused { status },
        };
        let answer = actix_web::ResponseError::error_response(&AppError::from(refused));
        response = response.into_response(answer);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The certificate authority.
    pub authority: Arc<Authority>,
    /// The registry behind the CA.
    pub store: Arc<dyn CertStore>,
    /// Short-lived state.
    pub kv: Arc<dyn Kv>,
    /// Split-key enrolment, co-signing and PIN checks.
    pub enrolment: Arc<Enrolment>,
    /// What finished co-signatures complete.
    pub signing: Arc<crate::signing::Signing>,
    /// The slider check before SMS codes.
    pub captcha: Arc<Captcha>,
    /// SMS one-time codes.
    pub otp: Arc<OtpService>,
    /// Applicant accounts and sessions.
    pub applicants: Arc<Applicants>,
    /// Applicants' files.
    pub uploads: Arc<Uploads>,
    /// The application wizard.
    pub applications: Arc<Applications>,
    /// Staff accounts and sessions.
    pub staff: Arc<Staff>,
    /// The employment-platform sync worker.
    pub sync: Arc<Syncer>,
    /// The SMS notice outbox worker.
    pub notices: Arc<Notifier>,
    /// WeChat users, real-name verification and phone bindings.
    pub people: Arc<People>,
    /// Certificate downloads in the mini-program.
    pub downloads: Arc<Downloads>,
    /// Registered portals (OIDC clients).
    pub portals: Arc<Portals>,
    /// Item grants: what each certificate may do at each portal.
    pub grants: Arc<crate::grants::Grants>,
    /// The primary holder's grants on the phone.
    pub phone_grants: Arc<crate::grants::phone::PhoneGrants>,
    /// Staff choosing a new primary certificate.
    pub primaries: Arc<crate::certificates::Primaries>,
    /// 证书废除 by the agent and by staff.
    pub revocations: Arc<crate::certificates::Revocations>,
    /// 年审延期 by the holder and staff, and renewal fees.
    pub renewals: Arc<crate::certificates::Renewals>,
    /// 信息变更 by the agent, reviewed by staff.
    pub changes: Arc<crate::applications::changes::InformationChanges>,
    /// Electronic seals: making them, sealing documents, verifying seal signatures.
    pub sealing: Arc<crate::seals::sealing::Sealing>,
    /// The signature log: what each mobile key signed.
    pub signature_log: Arc<crate::cosign::log::SignatureLog>,
    /// Expiry reminders (30 and 7 days before).
    pub reminders: Arc<crate::certificates::expiry::Reminders>,
    /// QR login sessions.
    pub logins: Arc<Logins>,
    /// The OpenID Connect provider.
    pub oidc: Arc<Oidc>,
    /// Back-channel logout tokens for portals whose sessions ended.
    pub backchannel: Arc<crate::login::backchannel::BackChannel>,
    /// The demo portal (development mode only).
    pub demo: Option<Arc<demo::DemoPortal>>,
    /// The development SMS outbox (development mode without a real provider only).
    pub dev_sms: Option<Arc<DevSms>>,
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<forwarded::TrustedProxies>,
    /// The time the server goes by.
    pub clock: Arc<dyn Clock>,
    /// The development clock that `/dev/clock` moves (`MCERT_DEV_CLOCK`); it is also `clock`.
    pub dev_clock: Option<Arc<DevClock>>,
}
