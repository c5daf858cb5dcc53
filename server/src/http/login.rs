//! QR scan-to-login over HTTP (`docs/qr-login.md`): the hosted page and its event stream, the
//! mini-program's scan / confirm / deny, and the embedded API of portals that draw the QR
//! themselves.

use std::{sync::Arc, time::Duration};

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite},
    http::header,
    web,
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    principals::{MpSession, PortalClient},
};
use crate::clock::Clock;
use crate::failure::{Describe, ErrorKind};
use crate::{
    error::{AppError, RequestError},
    kv::Subscription,
    login::{Eligible, LoginError, LoginSession, LoginState, Logins, Requester, oidc::Claims, qr},
    tokens,
};

/// The cookie that binds a hosted session to the browser that started it.
pub const BROWSER_COOKIE: &str = "mcert_login";
/// Keep-alive comment interval of event streams (proxies close idle connections).
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Longest long poll.
const MAX_WAIT_SECS: u64 = 25;

/// The hosted QR page (`server/templates/login_page.html`). Every value is HTML-escaped by the
/// template, once; only the QR code's SVG, which the server draws itself, goes in as it is.
#[derive(askama::Template)]
#[template(path = "login_page.html")]
struct LoginPage<'a> {
    nonce: &'a str,
    portal_name: &'a str,
    portal_origin: &'a str,
    qr_text: &'a str,
    qr_svg: &'a str,
    match_code: &'a str,
    expires_at: String,
    events_url: String,
    continue_url: String,
    restart_url: &'a str,
}

/// The error page (`server/templates/login_page_error.html`).
#[derive(askama::Template)]
#[template(path = "login_page_error.html")]
struct ErrorPage<'a> {
    nonce: &'a str,
    title: &'a str,
    message: &'a str,
}

/// Text for HTML element content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A rendered page, or the plain error page if the template could not be rendered (it writes
/// into a `String`, so only a value's own `Display` could fail).
pub(super) fn rendered(
    status: actix_web::http::StatusCode,
    template: &impl askama::Template,
    nonce: &str,
) -> HttpResponse {
    match template.render() {
        Ok(html) => page(status, html, nonce),
        Err(error) => {
            tracing::error!(error = %error, "page not rendered");
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body("服务器内部错误，请稍后重试")
        }
    }
}

/// A page with the strict CSP its inline script and style are allowed under by `nonce`.
fn page(status: actix_web::http::StatusCode, html: String, nonce: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        // For browsers that predate CSP's frame-ancestors: no framing (clickjacking) either way.
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
                 img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
                 frame-ancestors 'none'"
            ),
        ))
        .body(html)
}

/// The error page (for what must not redirect to a portal), in Chinese.
pub fn error_page(status: actix_web::http::StatusCode, title: &str, message: &str) -> HttpResponse {
    let nonce = tokens::random_token(16);
    let template = ErrorPage {
        nonce: &nonce,
        title,
        message,
    };
    rendered(status, &template, &nonce)
}

fn login_path(id: &str) -> String {
    format!("/login/{id}")
}

/// The cookie for a new hosted session.
pub fn browser_cookie(id: &str, secret: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(BROWSER_COOKIE, secret.to_string())
        .path(login_path(id))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(3))
        .finish()
}

/// The cookie that tells one browser from another behind a shared address, so hosted logins
/// can be limited per browser as well as per address.
pub const BROWSER_ID_COOKIE: &str = "mcert_browser";

/// The browser-id cookie: a random id for a year, sent only to the authorization endpoint.
pub fn browser_id_cookie(id: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(BROWSER_ID_COOKIE, id.to_string())
        .path("/oauth2/authorize")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The hosted session `id` if this request comes from the browser that created it.
async fn browser_session(
    logins: &Logins,
    request: &HttpRequest,
    id: &str,
) -> Result<LoginSession, LoginError> {
    let session = logins.get(id).await?;
    let secret = request
        .cookie(BROWSER_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if session.belongs_to_browser(&secret) {
        Ok(session)
    } else {
        Err(LoginError::NotCreator)
    }
}

/// A login error as a page: the same description as the JSON answer, with a title and the
/// way back to the portal.
fn page_error(error: &LoginError) -> HttpResponse {
    let description = error.describe();
    let title = match description.kind {
        ErrorKind::Forbidden => "请在发起登录的浏览器中操作",
        ErrorKind::NotFound | ErrorKind::Gone => "登录二维码已失效",
        _ => {
            tracing::error!(error = %crate::telemetry::error_chain(error), "login page failed");
            return error_page(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "服务暂时不可用",
                "登录服务暂时不可用，请稍后再试。",
            );
        }
    };
    error_page(
        crate::error::status_of(description.kind),
        title,
        &description.message,
    )
}

/// The QR login page of a hosted session (only for the browser that started it).
#[utoipa::path(get, path = "/login/{id}", tag = "login", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html"), (status = 403, content_type = "text/html"),
        (status = 404, content_type = "text/html")))]
pub async fn login_page(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    let session = match browser_session(&state.logins, &request, &id).await {
        Ok(session) => session,
        Err(error) => return page_error(&error),
    };
    let qr_text = state.logins.qr_text(&session.id);
    let svg = match qr::svg(&qr_text, 240) {
        Ok(svg) => svg,
        Err(error) => {
            tracing::error!(error = %error, "QR code not drawn");
            return page_error(&LoginError::Corrupt);
        }
    };
    let restart_url = session
        .authorization
        .as_ref()
        .map(|a| a.restart_url.as_str())
        .unwrap_or_default();
    let nonce = tokens::random_token(16);
    let path = login_path(&session.id);
    let template = LoginPage {
        nonce: &nonce,
        portal_name: &session.portal_name,
        portal_origin: &session.origin,
        qr_text: &qr_text,
        qr_svg: &svg,
        match_code: &session.match_code,
        expires_at: session.expires_at.to_rfc3339(),
        events_url: format!("{path}/events"),
        continue_url: format!("{path}/continue"),
        restart_url,
    };
    rendered(actix_web::http::StatusCode::OK, &template, &nonce)
}

/// The page's live status (Server-Sent Events; only for the browser that started it).
#[utoipa::path(get, path = "/login/{id}/events", tag = "login", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream"), (status = 403, body = crate::error::ErrorBody)))]
pub async fn login_events(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    browser_session(&state.logins, &request, &id).await?;
    let next = format!("{}/continue", login_path(&id));
    event_response(&state.logins, &id, Some(next), state.clock.clone()).await
}

/// After the phone confirmed (or declined): the browser that started the login goes back to
/// the portal with a single-use authorization code (or `access_denied`).
#[utoipa::path(get, path = "/login/{id}/continue", tag = "login", params(("id" = String, Path)),
    responses((status = 303, description = "to the portal's redirect URI"), (status = 403, content_type = "text/html")))]
pub async fn login_continue(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    let session = match browser_session(&state.logins, &request, &id).await {
        Ok(session) => session,
        Err(error) => return page_error(&error),
    };
    let finished = match session.state {
        LoginState::Confirmed => state.logins.consume(&id).await,
        LoginState::Denied | LoginState::Mismatched => Ok(session),
        LoginState::Pending | LoginState::Scanned => {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, login_path(&id)))
                .finish();
        }
        _ => Err(LoginError::Expired),
    };
    let location = match finished {
        Ok(session) => state.oidc.finish_hosted(&session).await,
        Err(error) => return page_error(&error),
    };
    match location {
        Ok(location) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            // The session is over: the cookie goes with it.
            .cookie({
                let mut cookie = browser_cookie(&id, "", false);
                cookie.make_removal();
                cookie
            })
            .finish(),
        Err(error) => error_page(
            actix_web::http::StatusCode::BAD_REQUEST,
            "登录未完成",
            &format!("登录未能完成（{}），请回到门户网站重新登录。", error.error),
        ),
    }
}

/// What a QR code opens outside the mini-program.
#[utoipa::path(get, path = "/q/{id}", tag = "login", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html")))]
pub async fn qr_landing(path: web::Path<String>) -> HttpResponse {
    let _ = path.into_inner();
    error_page(
        actix_web::http::StatusCode::OK,
        "请用小程序扫码",
        "这是门户网站的登录二维码。请打开微信中的“就业彩云南”小程序，在“扫码登录”中扫描该二维码，并在手机上确认登录。",
    )
}

// ---------------------------------------------------------------------------------------------
// Event streams and long polls.

/// One SSE event.
fn sse(state: LoginState, next: Option<&str>) -> web::Bytes {
    let data = match (state, next) {
        (LoginState::Confirmed, Some(next)) => {
            serde_json::json!({ "state": state.as_str(), "next": next })
        }
        _ => serde_json::json!({ "state": state.as_str() }),
    };
    web::Bytes::from(format!("event: {}\ndata: {data}\n\n", state.as_str()))
}

fn parse_state(bytes: &[u8]) -> Option<LoginState> {
    serde_json::from_slice(&[b"\"", bytes, b"\""].concat()).ok()
}

struct Watch {
    subscription: Subscription,
    first: Option<LoginState>,
    last: LoginState,
    expires_at: DateTime<Utc>,
    next: Option<String>,
    done: bool,
    clock: Arc<dyn Clock>,
}

/// The stream of a session's states: the current one, then every change, `expired` when the
/// time runs out, a keep-alive comment when quiet; it ends after a state that needs nothing
/// more from the page (confirmed or final).
fn state_stream(watch: Watch) -> impl Stream<Item = Result<web::Bytes, actix_web::Error>> {
    futures_util::stream::unfold(watch, |mut watch| async move {
        if watch.done {
            return None;
        }
        let ends = |state: LoginState| state.is_final() || state == LoginState::Confirmed;
        if let Some(first) = watch.first.take() {
            watch.done = ends(first);
            return Some((Ok(sse(first, watch.next.as_deref())), watch));
        }
        loop {
            let until_expiry = (watch.expires_at - watch.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            tokio::select! {
                message = watch.subscription.next() => {
                    let Some(state) = message.as_deref().and_then(parse_state) else {
                        // The store closed the channel: the page reconnects.
                        return None;
                    };
                    if state == watch.last {
                        continue;
                    }
                    watch.last = state;
                    watch.done = ends(state);
                    return Some((Ok(sse(state, watch.next.as_deref())), watch));
                }
                () = tokio::time::sleep(until_expiry) => {
                    watch.done = true;
                    return Some((Ok(sse(LoginState::Expired, None)), watch));
                }
                () = tokio::time::sleep(KEEP_ALIVE) => {
                    return Some((Ok(web::Bytes::from_static(b": keep-alive\n\n")), watch));
                }
            }
        }
    })
}

async fn event_response(
    logins: &Logins,
    id: &str,
    next: Option<String>,
    clock: Arc<dyn Clock>,
) -> Result<HttpResponse, AppError> {
    let (subscription, session) = logins.watch(id).await?;
    let watch = Watch {
        subscription,
        first: Some(session.state),
        last: session.state,
        expires_at: session.expires_at,
        next,
        done: false,
        clock,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(state_stream(watch)))
}

// ---------------------------------------------------------------------------------------------
// The mini-program.

/// A scanned QR code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The QR code's text (`{public_url}/q/{id}`).
    pub qr: String,
}

/// The portal asking.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalBody {
    /// Client id.
    pub client_id: String,
    /// Registered name.
    pub name: String,
    /// Registered origin.
    pub origin: String,
}

/// A certificate the phone may log in with.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginCertificateBody {
    /// Serial, upper-case hex.
    pub serial: String,
    /// 单位名称.
    pub unit_name: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// `primary` or `sub`.
    pub role: String,
    /// The person's default certificate.
    pub default: bool,
}

impl From<&Eligible> for LoginCertificateBody {
    fn from(e: &Eligible) -> Self {
        Self {
            serial: e.certificate.serial.to_string(),
            unit_name: e.certificate.unit_name.clone(),
            uscc: e.certificate.uscc.clone(),
            role: e.certificate.role.as_str().to_string(),
            default: e.default,
        }
    }
}

/// Where and when the login was started, as the phone shows it (请求来自 云南昆明 · 1.2.3.* ·
/// Chrome · 10 秒前).
#[derive(Debug, Serialize, ToSchema)]
pub struct InitiatorBody {
    /// Coarse location of the browser's address, when the IP database knows it (`云南昆明`).
    pub location: Option<String>,
    /// The browser's address without its host part (`1.2.3.*`), or `未知`.
    pub address: String,
    /// Browser family (`Chrome`, `微信`), when known.
    pub browser: Option<String>,
    /// When the login was started.
    pub started_at: DateTime<Utc>,
    /// `location · address · browser`: the words the phone shows before the age; signed into
    /// the login challenge as `initiator`.
    pub summary: String,
}

impl From<&crate::login::Initiator> for InitiatorBody {
    fn from(initiator: &crate::login::Initiator) -> Self {
        Self {
            location: initiator.location.clone(),
            address: initiator.masked_address.clone(),
            browser: initiator.browser.clone(),
            started_at: initiator.at,
            summary: initiator.summary(),
        }
    }
}

/// What the phone shows before confirming (a login, or a seal on a document).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanBody {
    /// The login session.
    pub id: String,
    /// Who asks.
    pub portal: PortalBody,
    /// `login` or `seal`.
    pub purpose: &'static str,
    /// What is asked for.
    pub scopes: Vec<String>,
    /// Three codes; the person taps the one the portal's page shows (a wrong tap ends the
    /// login).
    pub match_choices: Vec<String>,
    /// Where and when the login was started.
    pub initiator: InitiatorBody,
    /// Set when the phone is known to be in another province than the browser that started
    /// the login: show it above the choices.
    pub region_warning: Option<String>,
    /// When the QR stops working.
    pub expires_at: DateTime<Utc>,
    /// The person's usable certificates, default first (for a seal, those of the sealing
    /// employer).
    pub certificates: Vec<LoginCertificateBody>,
    /// A seal: the document to be sealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<super::seals::SealedDocumentBody>,
    /// A seal: the seal that will be stamped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal: Option<super::seals::SealPictureBody>,
    /// A seal: the employer whose seal it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employer: Option<super::seals::EmployerBody>,
}

/// Scans a login QR code: the session turns `scanned`; the answer is what the phone shows.
#[utoipa::path(post, path = "/api/v1/mp/logins", tag = "login", request_body = ScanRequest,
    security(("mp_session" = [])),
    responses((status = 200, body = ScanBody), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 410, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn scan(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<ScanRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let scanned = state
        .logins
        .scan(&body.qr, &user, super::client_ip(&request))
        .await?;
    let session = scanned.session;
    let (document, seal, employer) = match &session.seal {
        Some(order) => {
            // The structure the confirmation will sign, made anew now if its list changed.
            let (seal, _) = state.sealing.seals().structure_of(order.seal_id).await?;
            (
                Some(super::seals::SealedDocumentBody::from(order)),
                Some(super::seals::SealPictureBody::from(&seal)),
                Some(super::seals::EmployerBody {
                    uscc: order.uscc.clone(),
                    name: order.employer_name.clone(),
                }),
            )
        }
        None => (None, None, None),
    };
    Ok(HttpResponse::Ok().json(ScanBody {
        portal: PortalBody {
            client_id: session.client_id.clone(),
            name: session.portal_name.clone(),
            origin: session.origin.clone(),
        },
        purpose: session.purpose(),
        scopes: session.scopes.clone(),
        match_choices: session.match_choices.clone(),
        initiator: InitiatorBody::from(&session.initiator),
        region_warning: scanned.region_warning,
        expires_at: session.expires_at,
        certificates: scanned.certificates.iter().map(Into::into).collect(),
        document,
        seal,
        employer,
        id: session.id,
    }))
}

/// The certificate to confirm with, and the code the person tapped.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// One of the scan's certificates.
    pub serial: String,
    /// The one of the scan's `match_choices` that the person tapped.
    pub match_code: String,
}

/// Checks the tapped code (another than the page shows ends the login: `403 login_match_wrong`,
/// the page shows it), then opens the co-signing session over the login challenge; the phone
/// completes it with the co-signing endpoints (PIN proof, then signature) and the page hears
/// of it.
#[utoipa::path(post, path = "/api/v1/mp/logins/{id}/confirm", tag = "login",
    params(("id" = String, Path)), request_body = ConfirmRequest, security(("mp_session" = [])),
    responses((status = 201, body = super::keys::CosignSession),
        (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 410, body = crate::error::ErrorBody), (status = 423, body = crate::error::ErrorBody)))]
pub async fn confirm(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ConfirmRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let opened = if state.logins.get(&id).await?.seal.is_some() {
        state
            .sealing
            .start_confirmation(&id, &user, &body.serial, &body.match_code)
            .await?
    } else {
        state
            .logins
            .start_confirmation(&id, &user, &body.serial, &body.match_code)
            .await?
    };
    Ok(HttpResponse::Created().json(super::keys::CosignSession::from(opened)))
}

/// Declines the login on the phone; the page shows it and the portal gets `access_denied`.
#[utoipa::path(post, path = "/api/v1/mp/logins/{id}/deny", tag = "login",
    params(("id" = String, Path)), security(("mp_session" = [])),
    responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn deny(
    state: web::Data<AppState>,
    path: web::Path<String>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    state.logins.deny(&path.into_inner(), &user).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// The embedded flow: the portal's backend, with HTTP Basic client credentials.

/// `Authorization: Basic` client id and secret (RFC 6749 §2.3.1: each form-urlencoded).
pub fn basic_credentials(request: &HttpRequest) -> Option<(String, String)> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let encoded = value.strip_prefix("Basic ")?.trim();
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| -> String {
        url::form_urlencoded::parse(format!("v={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// The calling portal's own embedded session `id`; another portal's session is not found (not
/// told apart from an unknown one).
pub(super) async fn own_session(
    state: &AppState,
    portal: &PortalClient,
    id: &str,
) -> Result<LoginSession, AppError> {
    let session = state.logins.get(id).await?;
    if session.client_id == portal.client_id && session.authorization.is_none() {
        Ok(session)
    } else {
        Err(LoginError::NotFound.into())
    }
}

/// What the portal asks for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// Space-separated scopes, `openid` among them, each one the portal may ask for (default:
    /// every scope the portal may ask for); anything else is `400 login_scope_invalid`.
    pub scope: Option<String>,
    /// The address of the portal's user whose page shows the QR code, as the portal received
    /// it: the phone shows where the login was started (without it: 未知).
    pub browser_address: Option<String>,
    /// That browser's `User-Agent` header.
    pub browser_user_agent: Option<String>,
}

/// The body of a session request: empty (or only whitespace) means every default; anything
/// else must be the documented JSON object, so that a mistyped field or a broken body is refused
/// rather than silently granting the portal's every scope.
fn create_session_request(body: &[u8]) -> Result<CreateSessionRequest, RequestError> {
    let limit = crate::startup::JSON_LIMIT;
    if body.len() > limit {
        return Err(RequestError::TooLarge { limit });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(CreateSessionRequest::default());
    }
    serde_json::from_slice(body).map_err(|error| RequestError::LoginSessionBody {
        detail: error.to_string(),
    })
}

/// A new embedded session.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmbeddedSessionBody {
    /// The session id.
    pub id: String,
    /// What the QR code says.
    pub qr_text: String,
    /// The QR code as an `<svg>` element.
    pub qr_svg: String,
    /// Two digits to show beside the QR code.
    pub match_code: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// A hosted sealing session: the page to send the user's browser to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
}

/// Creates an embedded login session (the portal draws the QR in its own page).
#[utoipa::path(post, path = "/api/v1/login-sessions", tag = "login", request_body = CreateSessionRequest,
    security(("client_basic" = [])),
    responses((status = 201, body = EmbeddedSessionBody), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn create_session(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let body = create_session_request(&body)?;
    let browser_address = match body.browser_address.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<std::net::IpAddr>().map_err(|_| AppError::BadRequest {
            detail: format!("browser_address {text:?}"),
            message: "browser_address 应为用户浏览器的 IP 地址（如 222.172.200.68），请检查门户后端传入的值",
        })?),
    };
    let scopes: Vec<String> = match body.scope.as_deref() {
        Some(scope) => scope.split_ascii_whitespace().map(str::to_string).collect(),
        None => portal.scopes.clone(),
    };
    if !scopes.iter().any(|s| s == "openid") || scopes.iter().any(|s| !portal.allows_scope(s)) {
        return Err(RequestError::ScopeNotAllowed {
            asked: scopes,
            client_id: portal.client_id.clone(),
        }
        .into());
    }
    let address = super::client_address(&request);
    let requester = Requester {
        limit_key: &address,
        browser_id: None,
        address: browser_address,
        user_agent: body.browser_user_agent.as_deref(),
    };
    let created = state
        .logins
        .create(&portal, scopes, None, None, requester)
        .await?;
    embedded_session(&state, created)
}

/// `201` with a new embedded session (a login or a seal) as its portal draws it.
pub(super) fn embedded_session(
    state: &AppState,
    created: crate::login::Created,
) -> Result<HttpResponse, AppError> {
    let session = created.session;
    let qr_text = state.logins.qr_text(&session.id);
    let qr_svg = qr::svg(&qr_text, 240).map_err(|error| {
        tracing::error!(error = %error, "QR code not drawn");
        LoginError::Corrupt
    })?;
    let page_url = session
        .seal
        .as_ref()
        .and_then(|seal| seal.return_url.as_ref())
        .map(|_| format!("{}/seal/{}", state.logins.public_base(), session.id));
    Ok(HttpResponse::Created().json(EmbeddedSessionBody {
        id: session.id,
        qr_text,
        qr_svg,
        match_code: session.match_code,
        expires_at: session.expires_at,
        page_url,
    }))
}

/// The QR code of an embedded session as a PNG.
#[utoipa::path(get, path = "/api/v1/login-sessions/{id}/qr.png", tag = "login",
    params(("id" = String, Path)), security(("client_basic" = [])),
    responses((status = 200, content_type = "image/png"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn session_png(
    state: web::Data<AppState>,
    path: web::Path<String>,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let session = own_session(&state, &portal, &path.into_inner()).await?;
    let png = qr::png(&state.logins.qr_text(&session.id), 240).map_err(|error| {
        tracing::error!(error = %error, "QR code not drawn");
        LoginError::Corrupt
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/png"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(png))
}

/// Long-poll parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct WaitQuery {
    /// Seconds to wait for a change (at most 25).
    pub wait: Option<u64>,
    /// The state the portal last saw: answer at once if the session is elsewhere.
    pub state: Option<String>,
}

/// Where an embedded session stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStatusBody {
    /// The session id.
    pub id: String,
    /// `pending`, `scanned`, `confirmed`, `consumed`, `denied`, `expired` or `cancelled`.
    pub state: &'static str,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// The state of an embedded session; with `wait`, a long poll that answers on a change.
#[utoipa::path(get, path = "/api/v1/login-sessions/{id}", tag = "login",
    params(("id" = String, Path), WaitQuery), security(("client_basic" = [])),
    responses((status = 200, body = SessionStatusBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn session_status(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<WaitQuery>,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut session = own_session(&state, &portal, &id).await?;
    let wait = Duration::from_secs(query.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    let seen = query.state.as_deref().unwrap_or(session.state.as_str());
    if !wait.is_zero() && seen == session.state.as_str() && !session.state.is_final() {
        let (mut subscription, current) = state.logins.watch(&id).await?;
        session = current;
        if seen == session.state.as_str() {
            let until_expiry = (session.expires_at - state.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = subscription.next() => {}
                () = tokio::time::sleep(wait.min(until_expiry)) => {}
            }
            session = state.logins.get(&id).await?;
        }
    }
    Ok(HttpResponse::Ok().json(SessionStatusBody {
        id: session.id,
        state: session.state.as_str(),
        expires_at: session.expires_at,
    }))
}

/// The embedded session's state changes as Server-Sent Events.
#[utoipa::path(get, path = "/api/v1/login-sessions/{id}/events", tag = "login",
    params(("id" = String, Path)), security(("client_basic" = [])),
    responses((status = 200, content_type = "text/event-stream"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn session_events(
    state: web::Data<AppState>,
    path: web::Path<String>,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    own_session(&state, &portal, &id).await?;
    event_response(&state.logins, &id, None, state.clock.clone()).await
}

/// The result of a confirmed embedded session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResultBody {
    /// ES256 ID token for this portal.
    pub id_token: String,
    /// Its claims.
    pub claims: Claims,
}

/// Collects a confirmed session's result, once (`confirmed → consumed`).
#[utoipa::path(post, path = "/api/v1/login-sessions/{id}/result", tag = "login",
    params(("id" = String, Path)), security(("client_basic" = [])),
    responses((status = 200, body = SessionResultBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn session_result(
    state: web::Data<AppState>,
    path: web::Path<String>,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    if own_session(&state, &portal, &id).await?.seal.is_some() {
        // A sealing session's result is its seal signature (`/seal-sessions/{id}/result`).
        return Err(LoginError::NotFound.into());
    }
    let session = state.logins.consume(&id).await?;
    let (id_token, claims) = state
        .oidc
        .embedded_result(&session)
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "ID token not issued");
            LoginError::Corrupt
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SessionResultBody { id_token, claims }))
}

/// Cancels an embedded session.
#[utoipa::path(delete, path = "/api/v1/login-sessions/{id}", tag = "login",
    params(("id" = String, Path)), security(("client_basic" = [])),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel_session(
    state: web::Data<AppState>,
    path: web::Path<String>,
    portal: PortalClient,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    own_session(&state, &portal, &id).await?;
    state.logins.cancel(&id, &portal).await?;
    Ok(HttpResponse::NoContent().finish())
}
