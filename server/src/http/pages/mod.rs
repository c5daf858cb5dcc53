//! The web pages: the applicant site (`/apply`), the staff console (`/staff`), the primary
//! holder's pages (`/account`). Server-rendered
//! askama templates (`server/templates/pages/`) over the same services the API uses; small
//! JavaScript modules (`server/assets/`) only where a page needs them (the slider, the SMS
//! countdown, upload previews, the region picker). Every page has a strict CSP with a nonce, no
//! third-party request, and its forms post back to the page (303 after success, the form again
//! with the service's Chinese message next to the field otherwise).
//!
//! A page's session is an HttpOnly, SameSite=Lax cookie holding the same bearer token the API
//! issues; a page's POST must come from this origin (`Origin`, or `Sec-Fetch-Site`), and a page
//! script's call to the JSON API is accepted with the cookie only with the `X-Mcert-Page`
//! header, which no other site can send without CORS (`principals.rs`).

pub mod account;
pub mod apply;
pub mod assets;
pub mod console;

use std::collections::HashMap;

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    cookie::{Cookie, SameSite},
    http::{StatusCode, header},
};

use crate::{
    error::{AppError, status_of},
    failure::{Describe, ErrorKind},
    tokens,
};

/// The site a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// 数字证书申请 (`/apply`).
    Apply,
    /// CA 审核管理 (`/staff`).
    Staff,
    /// 证书管理 of the primary holder (`/account`).
    Account,
}

impl Site {
    /// The site's name in the header.
    pub fn name(self) -> &'static str {
        match self {
            Self::Apply => "用人单位手机端数字证书申请",
            Self::Staff => "数字证书审核管理",
            Self::Account => "单位证书管理",
        }
    }

    /// Its home page.
    pub fn home(self) -> &'static str {
        match self {
            Self::Apply => "/apply",
            Self::Staff => "/staff",
            Self::Account => "/account",
        }
    }

    /// Its sign-in page.
    pub fn sign_in(self) -> &'static str {
        match self {
            Self::Apply => "/apply/sign-in",
            Self::Staff => "/staff/sign-in",
            Self::Account => "/account/sign-in",
        }
    }

    /// Its sign-out action.
    pub fn sign_out(self) -> &'static str {
        match self {
            Self::Apply => "/apply/sign-out",
            Self::Staff => "/staff/sign-out",
            Self::Account => "/account/sign-out",
        }
    }

    /// The cookie holding its session token.
    pub fn cookie(self) -> &'static str {
        match self {
            Self::Apply => "mcert_apply",
            Self::Staff => "mcert_staff",
            Self::Account => "mcert_account",
        }
    }
}

/// One link of a site's navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Where.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// The page shown is under it.
    pub current: bool,
}

/// What every page's frame needs: the CSP nonce, the site, who is signed in.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Allows the page's own scripts and styles.
    pub nonce: String,
    /// The site.
    pub site: Site,
    /// Who is signed in (masked phone, staff name), for the header.
    pub user: Option<String>,
    /// The site's navigation.
    pub nav: Vec<NavLink>,
}

impl Chrome {
    /// A frame for `site` with a fresh nonce.
    pub fn new(site: Site, user: Option<String>) -> Self {
        Self {
            nonce: tokens::random_token(16),
            site,
            user,
            nav: Vec::new(),
        }
    }

    /// The same, with `nav` (`current` marks the page's section).
    #[must_use]
    pub fn with_nav(mut self, links: &[(&'static str, &'static str)], current: &str) -> Self {
        self.nav = links
            .iter()
            .map(|&(href, label)| NavLink {
                href,
                label,
                current: href == current,
            })
            .collect();
        self
    }
}

/// A form as posted and as shown again: the values typed and the message of each field.
#[derive(Debug, Clone, Default)]
pub struct Form {
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    /// A message about the whole form.
    pub message: Option<String>,
}

impl Form {
    /// A form showing `values`.
    pub fn with_values(values: HashMap<String, String>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }

    /// The value of `name`, or "".
    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// Whether `name` holds `value` (a checked radio, a selected option).
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.value(name) == value
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_string(), value.into());
    }

    /// The message about `name`, or "".
    pub fn error(&self, name: &str) -> &str {
        self.errors.get(name).map_or("", String::as_str)
    }

    /// Whether anything is wrong.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.message.is_some()
    }

    /// Records `error` next to its field (the field the service named, or `fallback`), or for
    /// the whole form when it names none and no fallback is given.
    pub fn refuse(&mut self, error: &AppError, fallback: Option<&str>) {
        let description = error.describe();
        if status_of(description.kind).is_server_error() {
            tracing::error!(error = %crate::telemetry::error_chain(error), "page action failed");
        }
        let message = description.message.into_owned();
        match description.field.or(fallback) {
            Some(field) => {
                self.errors.insert(field.to_string(), message);
            }
            None => self.message = Some(message),
        }
    }
}

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in, or the session ended: to the sign-in page, then back to `next`.
    #[error("not signed in")]
    SignIn {
        /// Which site.
        site: Site,
        /// Where to come back to (a path of this site).
        next: Option<String>,
    },
    /// A POST from another site.
    #[error("cross-site form post")]
    CrossSite(Site),
    /// A service refused, on a page of a site.
    #[error("{0}")]
    App(AppError, Site),
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        Self::App(error, Site::Apply)
    }
}

/// A service error as a page error of the applicant site.
pub fn page_error(error: impl Into<AppError>) -> PageError {
    site_error(Site::Apply, error)
}

/// A service error as a page error of `site` (its error page has the site's frame).
pub fn site_error(site: Site, error: impl Into<AppError>) -> PageError {
    PageError::App(error.into(), site)
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn { .. } => StatusCode::SEE_OTHER,
            Self::CrossSite(_) => StatusCode::FORBIDDEN,
            Self::App(error, _) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn { site, next } => {
                let location = match next {
                    Some(next) => format!(
                        "{}?{}",
                        site.sign_in(),
                        url::form_urlencoded::Serializer::new(String::new())
                            .append_pair("next", next)
                            .finish()
                    ),
                    None => site.sign_in().to_string(),
                };
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, location))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish()
            }
            Self::CrossSite(site) => error_page(
                *site,
                StatusCode::FORBIDDEN,
                "请求来源不正确",
                "该操作只能在本网站的页面上提交。请回到本网站刷新页面后重新操作。",
            ),
            Self::App(error, site) => {
                let description = error.describe();
                let status = status_of(description.kind);
                if status.is_server_error() {
                    tracing::error!(error = %crate::telemetry::error_chain(error), "page failed");
                }
                let title = match description.kind {
                    ErrorKind::NotFound => "未找到",
                    ErrorKind::Forbidden => "没有权限",
                    ErrorKind::Conflict => "操作未完成",
                    _ if status.is_server_error() => "服务暂时不可用",
                    _ => "操作未完成",
                };
                error_page(*site, status, title, &description.message)
            }
        }
    }
}

/// The error page of the sites.
#[derive(askama::Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    title: &'a str,
    message: &'a str,
}

/// An error page, with a way back to the page before.
pub fn error_page(site: Site, status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let chrome = Chrome::new(site, None);
    let nonce = chrome.nonce.clone();
    let page = ErrorPage {
        chrome,
        title,
        message,
    };
    html(status, &page, &nonce)
}

/// A rendered page under the sites' CSP: scripts only with the nonce (module imports inherit
/// it), styles from the page's own origin, images from it and from `data:`/`blob:` (upload
/// previews), requests and form posts to it alone, no framing.
pub fn html(status: StatusCode, template: &impl askama::Template, nonce: &str) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header(("Referrer-Policy", "same-origin"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header(("X-Frame-Options", "DENY"))
            .insert_header((
                "Content-Security-Policy",
                format!(
                    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; \
                     img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; \
                     base-uri 'none'; frame-ancestors 'none'"
                ),
            ))
            .body(body),
        Err(error) => {
            tracing::error!(error = %error, "page not rendered");
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body("服务器内部错误，请稍后重试")
        }
    }
}

/// A 303 to `location` (after a successful post).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Whether cookies are `Secure`: the public URL is https.
pub fn secure(state: &crate::http::AppState) -> bool {
    state.oidc.issuer().starts_with("https://")
}

/// A 303 to `location` that sets `site`'s session cookie to `token` (signed in) or removes it
/// (`token` empty: signed out).
pub fn with_session(
    state: &crate::http::AppState,
    site: Site,
    token: &str,
    location: &str,
) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(session_cookie(site, token, secure(state)))
        .finish()
}

/// Query of a page that says what was just done.
#[derive(Debug, serde::Deserialize)]
pub struct DoneQuery {
    /// The action just done.
    pub done: Option<String>,
}

/// The session cookie of `site` holding `token` (empty and expired to sign out).
pub fn session_cookie(site: Site, token: &str, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(site.cookie(), token.to_string())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish();
    if token.is_empty() {
        cookie.make_removal();
    }
    cookie
}

/// Whether the request comes from a page of this origin: its `Origin` names this host, or,
/// without one, the browser says `Sec-Fetch-Site: same-origin`.
pub fn same_origin(request: &HttpRequest) -> bool {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = request.connection_info().host().to_string();
        return origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(&host));
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "same-origin")
}

/// Query of a sign-in page: where to go afterwards.
#[derive(Debug, serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

impl NextQuery {
    /// The page asked for.
    pub fn next(&self) -> Option<&str> {
        self.next.as_deref()
    }
}

/// A form post of `site` that must come from this origin (a sign-in, the start of a login).
pub fn posted_here(request: &HttpRequest, site: Site) -> Result<(), PageError> {
    if same_origin(request) {
        Ok(())
    } else {
        Err(PageError::CrossSite(site))
    }
}

/// The `next` a sign-in page was given, if it is a path of `site` (never another site).
pub fn next_path(site: Site, next: Option<&str>) -> String {
    next.filter(|next| {
        next.starts_with(site.home())
            && !next.starts_with("//")
            && !next.contains(['\\', '\r', '\n'])
            && !next.starts_with(site.sign_in())
    })
    .unwrap_or(site.home())
    .to_string()
}

/// What a page's caller extractor starts from: the state, the site's session token and where
/// to come back to after signing in. Taken from the request before the extractor's future runs.
#[derive(Debug)]
pub struct PageCaller {
    site: Site,
    state: Option<actix_web::web::Data<crate::http::AppState>>,
    token: Option<String>,
    next: Option<String>,
    cross_site: bool,
}

impl PageCaller {
    /// The caller of `request` on `site`.
    pub fn of(request: &HttpRequest, site: Site) -> Self {
        Self {
            site,
            state: request
                .app_data::<actix_web::web::Data<crate::http::AppState>>()
                .cloned(),
            token: session_token(request, site),
            next: return_path(request),
            cross_site: request.method() != actix_web::http::Method::GET && !same_origin(request),
        }
    }

    /// The state and the session token; a post from another site is refused first, and
    /// without a token the caller is sent to sign in.
    pub fn session(
        &self,
    ) -> Result<(actix_web::web::Data<crate::http::AppState>, String), PageError> {
        if self.cross_site {
            return Err(PageError::CrossSite(self.site));
        }
        match (&self.state, &self.token) {
            (Some(state), Some(token)) => Ok((state.clone(), token.clone())),
            _ => Err(self.sign_in()),
        }
    }

    /// To the site's sign-in page, and back to the page asked for afterwards.
    pub fn sign_in(&self) -> PageError {
        PageError::SignIn {
            site: self.site,
            next: self.next.clone(),
        }
    }
}

/// The cookie token of `site` in `request`, if any.
pub fn session_token(request: &HttpRequest, site: Site) -> Option<String> {
    request
        .cookie(site.cookie())
        .map(|c| c.value().to_string())
        .filter(|token| !token.is_empty())
}

/// Where a signed-out visitor comes back to: the page asked for, or, for a form posted when the
/// session had ended, the page the form was on (its `Referer`, a path of this origin).
pub fn return_path(request: &HttpRequest) -> Option<String> {
    if request.method() == actix_web::http::Method::GET {
        return Some(match request.query_string() {
            "" => request.path().to_string(),
            query => format!("{}?{query}", request.path()),
        });
    }
    let referer = request.headers().get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    let host = request.connection_info().host().to_string();
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str()?),
        None => url.host_str()?.to_string(),
    };
    authority
        .eq_ignore_ascii_case(&host)
        .then(|| url.path().to_string())
}

/// One line of a certificate's signature history, as the console and the holder's pages show
/// it.
#[derive(Debug)]
pub struct SignatureRow {
    /// When (Beijing time).
    pub at: String,
    /// What was signed (扫码登录, 事项授权, …).
    pub what: &'static str,
    /// Signed, or a wrong PIN refused.
    pub signed: bool,
    /// The portal and the SM3 of the message, when recorded.
    pub detail: String,
}

impl SignatureRow {
    /// The row of `entry`.
    pub fn of(entry: crate::cosign::log::SignatureEntry) -> Self {
        let detail = |key: &str| entry.detail.get(key).and_then(|v| v.as_str());
        Self {
            at: beijing(entry.at),
            what: detail("purpose")
                .and_then(crate::cosign::Purpose::parse)
                .map_or("签名", crate::cosign::Purpose::label_zh),
            signed: entry.signed,
            detail: [
                detail("portal").map(|p| format!("门户 {p}")),
                detail("message_sm3").map(|h| format!("SM3 {h}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("；"),
        }
    }
}

/// Beijing time as the pages show it (2026-12-08 09:30).
pub fn beijing(time: chrono::DateTime<chrono::Utc>) -> String {
    (time + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
