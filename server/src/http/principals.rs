//! Who is calling: each kind of caller is an extractor that a handler takes as an argument, so
//! an endpoint that needs a signed-in caller says so in its signature and gets the verified
//! principal or never runs (the request is refused with the caller's own "not signed in" code).
//! No handler reads credentials itself.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::{AppState, bearer_token};
use crate::{
    applicants::{ApplicantError, ApplicantRecord},
    cosign::CosignError,
    error::AppError,
    login::oidc::BearerLogin,
    people::{PeopleError, WxUserRecord},
    portals::Portal,
    staff::{Reviewer, StaffError},
};

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// The application state and the bearer token of a request, taken before the request is
/// dropped (extractors' futures outlive the borrow).
fn state_and_bearer(request: &HttpRequest) -> (Option<web::Data<AppState>>, Option<String>) {
    (
        request.app_data::<web::Data<AppState>>().cloned(),
        bearer_token(request).map(str::to_owned),
    )
}

/// The state and the applicant's token: the bearer token, or a page's session cookie when a
/// page script of this origin calls (`X-Mcert-Page`, a header no other site can send without a
/// CORS preflight this server never answers).
fn state_and_applicant_token(
    request: &HttpRequest,
) -> (Option<web::Data<AppState>>, Option<String>) {
    let (state, bearer) = state_and_bearer(request);
    let from_page = || {
        (request.headers().contains_key("x-mcert-page") && super::pages::same_origin(request))
            .then(|| super::pages::session_token(request, super::pages::Site::Apply))
            .flatten()
    };
    (state, bearer.or_else(from_page))
}

fn missing_state() -> AppError {
    AppError::Internal {
        detail: "application state missing from the route table",
    }
}

/// A signed-in staff member (bearer staff session).
#[derive(Debug)]
pub struct StaffSession {
    staff: Reviewer,
    token: String,
}

impl StaffSession {
    /// The session token, to end it.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::ops::Deref for StaffSession {
    type Target = Reviewer;
    fn deref(&self) -> &Reviewer {
        &self.staff
    }
}

impl FromRequest for StaffSession {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, token) = state_and_bearer(request);
        Box::pin(async move {
            let state = state.ok_or_else(missing_state)?;
            let token = token.ok_or(StaffError::NotSignedIn)?;
            let staff = state.staff.authenticate(&token).await?;
            Ok(Self { staff, token })
        })
    }
}

/// A signed-in staff member who is an administrator (a reviewer is refused with
/// `staff_not_administrator`).
#[derive(Debug)]
pub struct AdminSession(Reviewer);

impl std::ops::Deref for AdminSession {
    type Target = Reviewer;
    fn deref(&self) -> &Reviewer {
        &self.0
    }
}

impl FromRequest for AdminSession {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = StaffSession::from_request(request, payload);
        Box::pin(async move {
            let session = session.await?;
            session.administrator()?;
            Ok(Self(session.staff))
        })
    }
}

/// A signed-in applicant of the application site (bearer applicant session).
#[derive(Debug)]
pub struct ApplicantSession {
    applicant: ApplicantRecord,
    token: String,
}

impl ApplicantSession {
    /// The session token, to end it.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::ops::Deref for ApplicantSession {
    type Target = ApplicantRecord;
    fn deref(&self) -> &ApplicantRecord {
        &self.applicant
    }
}

impl FromRequest for ApplicantSession {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, token) = state_and_applicant_token(request);
        Box::pin(async move {
            let state = state.ok_or_else(missing_state)?;
            let token = token.ok_or(ApplicantError::NotSignedIn)?;
            let applicant = state.applicants.authenticate(&token).await?;
            Ok(Self { applicant, token })
        })
    }
}

/// A signed-in WeChat user of the mini-program (bearer mini-program session).
#[derive(Debug)]
pub struct MpSession {
    user: WxUserRecord,
    token: String,
}

impl MpSession {
    /// The session token, to end it.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::ops::Deref for MpSession {
    type Target = WxUserRecord;
    fn deref(&self) -> &WxUserRecord {
        &self.user
    }
}

impl FromRequest for MpSession {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, token) = state_and_bearer(request);
        Box::pin(async move {
            let state = state.ok_or_else(missing_state)?;
            let token = token.ok_or(PeopleError::NotSignedIn)?;
            let user = state.people.authenticate(&token).await?;
            Ok(Self { user, token })
        })
    }
}

/// A portal's backend, authenticated with its client credentials (HTTP Basic, RFC 6749
/// §2.3.1).
#[derive(Debug)]
pub struct PortalClient(Portal);

impl std::ops::Deref for PortalClient {
    type Target = Portal;
    fn deref(&self) -> &Portal {
        &self.0
    }
}

impl FromRequest for PortalClient {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let credentials = super::login::basic_credentials(request);
        Box::pin(async move {
            let unauthorised = || AppError::Unauthorized {
                code: crate::failure::code::CLIENT_UNAUTHORIZED,
                message: "门户身份验证失败：请使用登记时发放的 client_id 和 client_secret（HTTP Basic）",
            };
            let state = state.ok_or_else(missing_state)?;
            let (id, secret) = credentials.ok_or_else(unauthorised)?;
            let portal = state
                .portals
                .authenticate(&id, Some(&secret))
                .await
                .map_err(crate::login::LoginError::from)?
                .ok_or_else(unauthorised)?;
            Ok(Self(portal))
        })
    }
}

/// A portal acting for the holder who logged in to it: the portal's OAuth access token (bearer),
/// with the login it stands for.
#[derive(Debug)]
pub struct PortalLogin(BearerLogin);

impl std::ops::Deref for PortalLogin {
    type Target = BearerLogin;
    fn deref(&self) -> &BearerLogin {
        &self.0
    }
}

impl FromRequest for PortalLogin {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, token) = state_and_bearer(request);
        Box::pin(async move {
            let invalid = || AppError::Unauthorized {
                code: crate::failure::code::ACCESS_TOKEN_INVALID,
                message: "访问令牌无效、已过期或已退出登录：请重新扫码登录门户后再试",
            };
            let state = state.ok_or_else(missing_state)?;
            let token = token.ok_or_else(invalid)?;
            match state.oidc.bearer(&token).await {
                Ok(login) => Ok(Self(login)),
                Err(error) if error.error == "server_error" => Err(AppError::Internal {
                    detail: "the access token could not be looked up",
                }),
                Err(_) => Err(invalid()),
            }
        })
    }
}

/// The phone a certificate was downloaded to: its device token (bearer), checked by the service
/// against the certificate the request names.
#[derive(Debug)]
pub struct DeviceToken(String);

impl DeviceToken {
    /// The token as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromRequest for DeviceToken {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            bearer_token(request)
                .map(|token| Self(token.to_owned()))
                .ok_or(AppError::Cosign(CosignError::DeviceTokenInvalid)),
        )
    }
}
