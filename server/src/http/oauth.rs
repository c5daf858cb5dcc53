//! OAuth 2 / OpenID Connect endpoints (DESIGN.md §7, `docs/qr-login.md`). Errors here follow
//! RFC 6749 (`{error, error_description}`), not mcert's `{code, message}`.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};

use super::{
    AppState,
    login::{BROWSER_ID_COOKIE, basic_credentials, browser_cookie, browser_id_cookie, error_page},
};
use crate::{
    ca::Jwks,
    login::Requester,
    login::oidc::{AuthorizeError, AuthorizeRequest, OAuthError, TokenRequest, TokenResponse},
    portals::Portal,
};

/// The public keys that sign ID tokens (ES256).
#[utoipa::path(get, path = "/oauth2/jwks", tag = "oauth2", responses((status = 200, body = Jwks)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "max-age=300, public"))
        .json(state.authority.token_keys().jwks())
}

/// OpenID Connect discovery.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oauth2",
    responses((status = 200, content_type = "application/json")))]
pub async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "max-age=300, public"))
        .json(state.oidc.discovery())
}

fn oauth_error(status: StatusCode, error: &OAuthError) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"mcert\""));
    }
    response.json(serde_json::json!({
        "error": error.error,
        "error_description": error.description,
    }))
}

/// The authorization endpoint: checks the request, creates a hosted login session bound to
/// this browser and shows its QR page. An unknown client or unregistered redirect URI gets an
/// error page; other errors go back to the portal (RFC 6749 §4.1.2.1).
#[utoipa::path(get, path = "/oauth2/authorize", tag = "oauth2",
    responses((status = 303, description = "to the QR page, or back to the portal with an error"),
        (status = 400, content_type = "text/html")))]
pub async fn authorize(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<AuthorizeRequest>,
) -> HttpResponse {
    let address = super::client_address(&request);
    let secure = state.oidc.issuer().starts_with("https://");
    // A browser without an id gets one now; limits count it from its next login on.
    let known_browser = request
        .cookie(BROWSER_ID_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|id| id.len() == 22);
    let browser_id = known_browser
        .clone()
        .unwrap_or_else(|| crate::tokens::random_token(16));
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    let requester = Requester {
        limit_key: &address,
        browser_id: Some(&browser_id),
        address: super::client_ip(&request),
        user_agent,
    };
    match state.oidc.authorize(&query.into_inner(), requester).await {
        Ok((created, _)) => {
            let session = created.session;
            let mut response = HttpResponse::SeeOther();
            response
                .insert_header((header::LOCATION, format!("/login/{}", session.id)))
                .insert_header((header::CACHE_CONTROL, "no-store"));
            if let Some(secret) = created.browser_secret {
                response.cookie(browser_cookie(&session.id, &secret, secure));
            }
            if known_browser.is_none() {
                response.cookie(browser_id_cookie(&browser_id, secure));
            }
            response.finish()
        }
        Err(error @ AuthorizeError::Redirect { .. }) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, error.location().unwrap_or_default()))
            .finish(),
        Err(AuthorizeError::NoRedirect { message }) => {
            error_page(StatusCode::BAD_REQUEST, "无法发起登录", &message)
        }
    }
}

/// Parameters of a form body; a parameter given twice is refused (RFC 6749 §3.2).
fn form_fields(body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let mut request = TokenRequest::default();
    let mut seen = std::collections::HashSet::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if !seen.insert(name.to_string()) {
            return Err(OAuthError {
                error: "invalid_request",
                description: format!("parameter {name} is repeated"),
            });
        }
        let value = Some(value.into_owned());
        match name.as_ref() {
            "grant_type" => request.grant_type = value,
            "code" => request.code = value,
            "redirect_uri" => request.redirect_uri = value,
            "code_verifier" => request.code_verifier = value,
            "client_id" => request.client_id = value,
            "client_secret" => request.client_secret = value,
            "token" => request.token = value,
            "token_type_hint" => request.token_type_hint = value,
            _ => {}
        }
    }
    Ok(request)
}

/// A form body and the portal that sent it, authenticated by its client credentials (HTTP Basic
/// or in the form); the OAuth error answer otherwise.
async fn authenticated(
    state: &AppState,
    request: &HttpRequest,
    body: &[u8],
) -> Result<(TokenRequest, Portal), HttpResponse> {
    let form = form_fields(body).map_err(|error| oauth_error(StatusCode::BAD_REQUEST, &error))?;
    match state.oidc.client(basic_credentials(request), &form).await {
        Ok(client) => Ok((form, client)),
        Err(error) if error.error == "invalid_client" => {
            Err(oauth_error(StatusCode::UNAUTHORIZED, &error))
        }
        Err(error) => Err(oauth_error(StatusCode::BAD_REQUEST, &error)),
    }
}

/// The token endpoint (authorization-code grant; `client_secret_basic`, `client_secret_post`,
/// or PKCE alone for public clients).
#[utoipa::path(post, path = "/oauth2/token", tag = "oauth2",
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400), (status = 401)))]
pub async fn token(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (form, client) = match authenticated(&state, &request, &body).await {
        Ok(authenticated) => authenticated,
        Err(refusal) => return refusal,
    };
    match state.oidc.token(&client, &form).await {
        Ok(answer) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(answer),
        Err(error) if error.error == "server_error" => {
            oauth_error(StatusCode::SERVICE_UNAVAILABLE, &error)
        }
        Err(error) => oauth_error(StatusCode::BAD_REQUEST, &error),
    }
}

/// Token introspection (RFC 7662) for a confidential portal's backend (`client_secret_basic` or
/// `client_secret_post`): `{active, scope, client_id, sub, sid, certificate_serial,
/// certificate_role, certificate_status, items, grant_id}` for one of its live access tokens
/// whose certificate is in force now, `{"active": false}` for anything else. `items` are those
/// the certificate may do at this moment.
#[utoipa::path(post, path = "/oauth2/introspect", tag = "oauth2",
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, content_type = "application/json"), (status = 400), (status = 401)))]
pub async fn introspect(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (form, client) = match authenticated(&state, &request, &body).await {
        Ok(authenticated) => authenticated,
        Err(refusal) => return refusal,
    };
    match state.oidc.introspect(&client, &form).await {
        Ok(answer) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(answer),
        Err(error) if error.error == "invalid_client" => {
            oauth_error(StatusCode::UNAUTHORIZED, &error)
        }
        Err(error) if error.error == "server_error" => {
            oauth_error(StatusCode::SERVICE_UNAVAILABLE, &error)
        }
        Err(error) => oauth_error(StatusCode::BAD_REQUEST, &error),
    }
}

/// Userinfo for a bearer access token (GET or POST).
#[utoipa::path(get, path = "/oauth2/userinfo", tag = "oauth2",
    responses((status = 200, content_type = "application/json"), (status = 401)))]
pub async fn userinfo(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let refuse = |description: &str| {
        HttpResponse::Unauthorized()
            .insert_header((
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
            ))
            .json(serde_json::json!({ "error": "invalid_token", "error_description": description }))
    };
    let Some(access_token) = super::bearer_token(&request) else {
        return refuse("a bearer access token is required");
    };
    match state.oidc.userinfo(access_token).await {
        Ok(claims) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(claims),
        Err(error) if error.error == "invalid_token" => refuse(&error.description),
        Err(error) => oauth_error(StatusCode::SERVICE_UNAVAILABLE, &error),
    }
}

/// RP-initiated logout parameters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct LogoutQuery {
    /// An ID token mcert issued to the portal.
    pub id_token_hint: Option<String>,
    /// A registered post-logout redirect URI of that portal.
    pub post_logout_redirect_uri: Option<String>,
    /// Returned as is.
    pub state: Option<String>,
}

/// RP-initiated logout: the login's access tokens end; back to the portal or a 已退出 page.
#[utoipa::path(get, path = "/oauth2/logout", tag = "oauth2", params(LogoutQuery),
    responses((status = 303), (status = 200, content_type = "text/html"), (status = 400, content_type = "text/html")))]
pub async fn logout(state: web::Data<AppState>, query: web::Query<LogoutQuery>) -> HttpResponse {
    match state
        .oidc
        .logout(
            query.id_token_hint.as_deref(),
            query.post_logout_redirect_uri.as_deref(),
            query.state.as_deref(),
        )
        .await
    {
        Ok(Some(location)) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish(),
        Ok(None) => error_page(
            StatusCode::OK,
            "已退出",
            "您已退出登录。如需再次登录，请回到门户网站扫码登录。",
        ),
        Err(error) => error_page(
            StatusCode::BAD_REQUEST,
            "无法退出",
            &format!(
                "退出请求无效（{}）。请回到门户网站重新操作。",
                error.description
            ),
        ),
    }
}
