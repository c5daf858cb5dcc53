//! The primary holder's pages (`/account`): signed in by scanning a QR with the mini-program —
//! mcert is its own OpenID Connect client (`mcert-account`, public, PKCE) through the same
//! authorize → QR page → phone confirmation → code → token steps as any portal — then the
//! employer's certificates, 权限授权 (seed 000 §四(三): the sub-certificate table and the
//! 事项授权 dialog, per portal) and a certificate's signature history.
//!
//! The page session holds the login's access token in kv, so it ends when the login does: a
//! revoked certificate or ended session (back-channel) signs the page out at its next request.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, http::StatusCode, web};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{Chrome, Form, PageCaller, PageError, Site, html, see_other};
use crate::{
    audit::Actor,
    ca::Role,
    certificates::Standing,
    cosign::log::LogQuery,
    domain::CertificateSerial,
    error::AppError,
    grants::{GrantChange, ItemGrant, SubCertificate, phone::PhoneGrantError},
    http::AppState,
    login::{
        LoginIdentity,
        oidc::{ACCESS_TOKEN_TTL, TokenRequest, with_query},
    },
    portals::{ClientKind, Portal, PortalDraft},
    tokens,
};

/// A service error on a page of this site.
fn page_error(error: impl Into<AppError>) -> PageError {
    super::site_error(Site::Account, error)
}

/// mcert's own client id for these pages.
pub const CLIENT_ID: &str = "mcert-account";
const PENDING_TTL: std::time::Duration = std::time::Duration::from_secs(300);
const PENDING_COOKIE: &str = "mcert_account_login";

fn callback_uri(state: &AppState) -> String {
    format!("{}/account/callback", state.oidc.issuer())
}

/// The `mcert-account` client, registered the first time it is needed (and again when the
/// public URL changed).
async fn account_client(state: &AppState) -> Result<Portal, AppError> {
    let callback = callback_uri(state);
    let existing = state
        .portals
        .get(CLIENT_ID)
        .await
        .map_err(crate::ca::CaError::Storage)?;
    if let Some(portal) = existing.filter(|p| p.redirect_uris == [callback.clone()]) {
        return Ok(portal);
    }
    let issuer = state.oidc.issuer().to_string();
    let registered = state
        .portals
        .register_fixed(
            CLIENT_ID,
            PortalDraft {
                name: "mcert 证书管理".into(),
                kind: ClientKind::Public,
                origins: vec![issuer.clone()],
                redirect_uris: vec![callback],
                post_logout_redirect_uris: vec![format!("{issuer}/account/sign-in")],
                scopes: ["openid", "profile", "employer", "grants"]
                    .map(String::from)
                    .to_vec(),
                items: Vec::new(),
                backchannel_logout_uri: None,
            },
            &Actor::System,
        )
        .await
        .map_err(|error| {
            tracing::error!(error = %error, "the account pages' client not registered");
            AppError::Internal {
                detail: "the account pages' client could not be registered",
            }
        })?;
    Ok(registered.portal)
}

/// The signed-in certificate (the login behind the page's session).
#[derive(Debug)]
pub struct AccountPage {
    identity: LoginIdentity,
    token: String,
}

fn session_key(token: &str) -> String {
    format!("account-session:{}", tokens::digest(token))
}

impl AccountPage {
    fn chrome(&self, current: &str) -> Chrome {
        let user = format!(
            "{}（{}）",
            self.identity.employer_name, self.identity.holder_name
        );
        let mut nav: Vec<(&'static str, &'static str)> = vec![("/account", "本单位证书")];
        if self.identity.role == "primary" {
            nav.push(("/account/grants", "权限授权"));
        }
        Chrome::new(Site::Account, Some(user)).with_nav(&nav, current)
    }
}

impl FromRequest for AccountPage {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = PageCaller::of(request, Site::Account);
        Box::pin(async move {
            let (state, token) = caller.session()?;
            let access = state
                .kv
                .get(&session_key(&token))
                .await
                .map_err(page_error)?;
            let Some(access) = access.and_then(|bytes| String::from_utf8(bytes).ok()) else {
                return Err(caller.sign_in());
            };
            match state.oidc.bearer(&access).await {
                Ok(login) if login.client_id == CLIENT_ID => Ok(Self {
                    identity: login.identity,
                    token,
                }),
                Err(error) if error.error == "server_error" => {
                    Err(page_error(AppError::Internal {
                        detail: "the account session's access token could not be looked up",
                    }))
                }
                Ok(_) | Err(_) => Err(caller.sign_in()),
            }
        })
    }
}

#[derive(askama::Template)]
#[template(path = "pages/account/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    message: Option<&'static str>,
}

/// Query of the sign-in page: why the last login did not finish.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    error: Option<String>,
}

/// `GET /account/sign-in`: 扫码登录 with the mini-program.
pub async fn sign_in_form(query: web::Query<SignInQuery>) -> HttpResponse {
    let message = query.error.as_deref().map(|error| match error {
        "access_denied" => "手机上拒绝了登录，或登录已取消。可以重新扫码登录。",
        "expired" => "登录已超时，请重新扫码登录。",
        _ => "登录没有完成，请重新扫码登录。",
    });
    let page = SignInPage {
        chrome: Chrome::new(Site::Account, None),
        message,
    };
    html(StatusCode::OK, &page, &page.chrome.nonce)
}

/// What a login keeps between the redirect to the QR page and the callback.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    verifier: String,
    nonce: String,
}

/// `POST /account/login`: starts a login as `mcert-account` (state, nonce and PKCE) and goes to
/// the authorization endpoint's QR page.
pub async fn login(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    super::posted_here(&request, Site::Account)?;
    account_client(&state).await.map_err(page_error)?;
    let oauth_state = tokens::random_token(16);
    let pending = Pending {
        verifier: tokens::random_token(32),
        nonce: tokens::random_token(16),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
    let bytes = serde_json::to_vec(&pending).map_err(|_| {
        page_error(AppError::Internal {
            detail: "pending login not serialisable",
        })
    })?;
    state
        .kv
        .put_if_absent(
            &format!("account-pending:{oauth_state}"),
            &bytes,
            PENDING_TTL,
        )
        .await
        .map_err(page_error)?;
    let location = with_query(
        &format!("{}/oauth2/authorize", state.oidc.issuer()),
        &[
            ("response_type", Some("code")),
            ("client_id", Some(CLIENT_ID)),
            ("redirect_uri", Some(&callback_uri(&state))),
            ("scope", Some("openid profile employer grants")),
            ("state", Some(&oauth_state)),
            ("nonce", Some(&pending.nonce)),
            ("code_challenge", Some(&challenge)),
            ("code_challenge_method", Some("S256")),
        ],
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .cookie(pending_cookie(&oauth_state, super::secure(&state)))
        .finish())
}

fn pending_cookie(value: &str, secure: bool) -> actix_web::cookie::Cookie<'static> {
    let mut cookie = actix_web::cookie::Cookie::build(PENDING_COOKIE, value.to_string())
        .path("/account/callback")
        .http_only(true)
        .secure(secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .finish();
    if value.is_empty() {
        cookie.make_removal();
    }
    cookie
}

/// The authorization endpoint's answer.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /account/callback`: the code of a login this browser started, exchanged for the
/// login's tokens; the page session keeps the access token.
pub async fn callback(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<Callback>,
) -> Result<HttpResponse, PageError> {
    let fail = |why: &str| {
        let mut response = see_other(&format!("/account/sign-in?error={why}"));
        let _ = response.add_cookie(&pending_cookie("", super::secure(&state)));
        Ok(response)
    };
    let started = request
        .cookie(PENDING_COOKIE)
        .map(|c| c.value().to_string());
    let Some(oauth_state) = query
        .state
        .clone()
        .filter(|s| started.as_deref() == Some(s))
    else {
        return fail("state");
    };
    let pending = state
        .kv
        .take(&format!("account-pending:{oauth_state}"))
        .await
        .map_err(page_error)?
        .and_then(|bytes| serde_json::from_slice::<Pending>(&bytes).ok());
    let Some(pending) = pending else {
        return fail("expired");
    };
    if let Some(error) = &query.error {
        return fail(if error == "access_denied" {
            "access_denied"
        } else {
            "failed"
        });
    }
    let Some(code) = &query.code else {
        return fail("failed");
    };
    let request = TokenRequest {
        grant_type: Some("authorization_code".into()),
        code: Some(code.clone()),
        redirect_uri: Some(callback_uri(&state)),
        code_verifier: Some(pending.verifier),
        client_id: Some(CLIENT_ID.into()),
        client_secret: None,
        token: None,
        token_type_hint: None,
    };
    let tokens = match state.oidc.client(None, &request).await {
        Ok(client) => state.oidc.token(&client, &request).await,
        Err(error) => Err(error),
    };
    let Ok(answer) = tokens else {
        return fail("failed");
    };
    let nonce_matches = state
        .oidc
        .verify_id_token(&answer.id_token, Some(CLIENT_ID), false)
        .is_ok_and(|claims| claims.nonce.as_deref() == Some(pending.nonce.as_str()));
    if !nonce_matches {
        return fail("failed");
    }
    let token = tokens::random_token(32);
    state
        .kv
        .put_if_absent(
            &session_key(&token),
            answer.access_token.as_bytes(),
            ACCESS_TOKEN_TTL,
        )
        .await
        .map_err(page_error)?;
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/account"))
        .cookie(super::session_cookie(
            Site::Account,
            &token,
            super::secure(&state),
        ))
        .cookie(pending_cookie("", super::secure(&state)))
        .finish())
}

/// `POST /account/sign-out`.
pub async fn sign_out(
    state: web::Data<AppState>,
    account: AccountPage,
) -> Result<HttpResponse, PageError> {
    state
        .kv
        .take(&session_key(&account.token))
        .await
        .map_err(page_error)?;
    Ok(super::with_session(
        &state,
        Site::Account,
        "",
        Site::Account.sign_in(),
    ))
}

struct CertificateRow {
    serial: String,
    role: &'static str,
    holder_name: String,
    media: &'static str,
    status: &'static str,
    not_after: String,
    current: bool,
}

#[derive(askama::Template)]
#[template(path = "pages/account/home.html")]
struct HomePage {
    chrome: Chrome,
    employer_name: String,
    uscc: String,
    primary: bool,
    certificates: Vec<CertificateRow>,
}

/// `GET /account`: the employer's certificates.
pub async fn home(
    state: web::Data<AppState>,
    account: AccountPage,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let certificates = state
        .store
        .employer_certificates(&account.identity.uscc)
        .await
        .map_err(|e| page_error(crate::ca::CaError::Storage(e)))?
        .into_iter()
        .rev()
        .map(|c| {
            let standing = Standing::of(&c, now);
            CertificateRow {
                current: c.serial.to_string() == account.identity.serial,
                serial: c.serial.to_string(),
                role: if c.role == Role::Primary {
                    "主证书"
                } else {
                    "子证书"
                },
                holder_name: c.holder_name.clone(),
                media: c.media.label_zh(),
                status: standing.label_zh(),
                not_after: super::beijing(c.not_after),
            }
        })
        .collect();
    let page = HomePage {
        chrome: account.chrome("/account"),
        employer_name: account.identity.employer_name.clone(),
        uscc: account.identity.uscc.clone(),
        primary: account.identity.role == "primary",
        certificates,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

/// One item in the 事项授权 dialog.
struct ItemChoice {
    code: String,
    name: String,
    group: String,
    checked: bool,
    locked: bool,
}

/// One row of the sub-certificate table, with its dialog.
struct SubRow {
    index: usize,
    serial: String,
    type_name: &'static str,
    media: &'static str,
    bound_at: String,
    holder_id_masked: String,
    holder_name: String,
    granted: String,
    grant_id: String,
    items: Vec<ItemChoice>,
}

#[derive(askama::Template)]
#[template(path = "pages/account/grants.html")]
struct GrantsPage {
    chrome: Chrome,
    portals: Vec<(String, String)>,
    portal: Option<(String, String)>,
    rows: Vec<SubRow>,
    form: Form,
    done: bool,
}

/// The portals whose items a primary grants (every registered portal but this one).
async fn grant_portals(state: &AppState) -> Result<Vec<Portal>, PageError> {
    Ok(state
        .portals
        .all()
        .await
        .map_err(|e| page_error(crate::ca::CaError::Storage(e)))?
        .into_iter()
        .filter(|p| p.client_id != CLIENT_ID && !p.items.is_empty())
        .collect())
}

fn sub_row(index: usize, sub: SubCertificate, portal: &Portal) -> SubRow {
    let media = sub.certificate.media;
    let items = portal
        .items
        .iter()
        .map(|item| ItemChoice {
            code: item.code.clone(),
            name: item.name.clone(),
            group: item.group.clone().unwrap_or_default(),
            checked: sub.allowed.items.contains(&item.code),
            locked: item.locked_for == Some(media),
        })
        .collect::<Vec<_>>();
    let granted = items
        .iter()
        .filter(|i| i.checked)
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join("、");
    SubRow {
        index,
        serial: sub.certificate.serial.to_string(),
        type_name: sub.type_name_zh(),
        media: media.label_zh(),
        bound_at: super::beijing(sub.certificate.not_before),
        holder_id_masked: sub.holder_id_masked(),
        holder_name: sub.certificate.holder_name.clone(),
        granted,
        grant_id: sub.allowed.grant_id.clone(),
        items,
    }
}

/// Query of the grants page: the portal shown, and whether a save just happened.
#[derive(Debug, Deserialize)]
pub struct GrantsQuery {
    portal: Option<String>,
    done: Option<String>,
}

async fn grants_page(
    state: &AppState,
    account: &AccountPage,
    portal_id: Option<&str>,
    form: Form,
    done: bool,
) -> Result<HttpResponse, PageError> {
    let serial = CertificateSerial::parse(&account.identity.serial).map_err(page_error)?;
    let grantor = state.grants.grantor(&serial).await.map_err(page_error)?;
    let portals = grant_portals(state).await?;
    let portal = portal_id
        .and_then(|id| portals.iter().find(|p| p.client_id == id))
        .or(portals.first());
    let rows = match portal {
        Some(portal) => state
            .grants
            .sub_certificates(&grantor, portal)
            .await
            .map_err(page_error)?
            .into_iter()
            .enumerate()
            .map(|(i, sub)| sub_row(i + 1, sub, portal))
            .collect(),
        None => Vec::new(),
    };
    let page = GrantsPage {
        chrome: account.chrome("/account/grants"),
        portal: portal.map(|p| (p.client_id.clone(), p.name.clone())),
        portals: portals
            .iter()
            .map(|p| (p.client_id.clone(), p.name.clone()))
            .collect(),
        rows,
        form,
        done,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

/// `GET /account/grants`: 权限授权 (the primary only; 子证书看不到这个功能).
pub async fn grants(
    state: web::Data<AppState>,
    account: AccountPage,
    query: web::Query<GrantsQuery>,
) -> Result<HttpResponse, PageError> {
    grants_page(
        &state,
        &account,
        query.portal.as_deref(),
        Form::default(),
        query.done.is_some(),
    )
    .await
}

/// `POST /account/grants/{serial}`: 保存授权 — the sub-certificate's whole item set at a
/// portal, with the `grant_id` the dialog showed (a newer save makes this one stale).
pub async fn save_grants(
    state: web::Data<AppState>,
    account: AccountPage,
    path: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let fields = body.into_inner();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let portal_id = field("portal");
    let codes: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "item")
        .map(|(_, v)| v.clone())
        .collect();
    let outcome = async {
        let grantee = CertificateSerial::parse(&path.into_inner())?;
        let grantor_serial = CertificateSerial::parse(&account.identity.serial)?;
        let grantor = state.grants.grantor(&grantor_serial).await?;
        let portal = state
            .portals
            .get(&portal_id)
            .await
            .map_err(crate::grants::GrantError::from)?
            .filter(|p| p.client_id != CLIENT_ID)
            .ok_or_else(|| PhoneGrantError::PortalUnknown {
                client_id: portal_id.clone(),
            })?;
        // Items kept keep their windows; new ones have none.
        let saved: Vec<ItemGrant> = state
            .grants
            .sub_certificates(&grantor, &portal)
            .await?
            .into_iter()
            .find(|sub| sub.certificate.serial == grantee)
            .map(|sub| sub.grants)
            .unwrap_or_default();
        let items = codes
            .iter()
            .map(|code| {
                saved
                    .iter()
                    .find(|g| &g.code == code)
                    .cloned()
                    .unwrap_or(ItemGrant {
                        code: code.clone(),
                        starts_at: None,
                        ends_at: None,
                    })
            })
            .collect();
        let change = GrantChange {
            grant_id: field("grant_id"),
            items,
            signed: None,
        };
        let actor = Actor::Certificate(grantor.serial.to_string());
        state
            .grants
            .set_for(&grantor, &grantee, &portal, change, &actor)
            .await?;
        // A withdrawn item ended the grantee's sessions there: tell the portal now.
        state.backchannel.flush().await;
        Ok::<_, AppError>(portal.client_id)
    }
    .await;
    match outcome {
        Ok(portal) => Ok(see_other(&format!(
            "/account/grants?portal={portal}&done=1"
        ))),
        Err(error) => {
            let mut form = Form::default();
            form.refuse(&error, Some("grants"));
            grants_page(&state, &account, Some(&portal_id), form, false).await
        }
    }
}

#[derive(askama::Template)]
#[template(path = "pages/account/signatures.html")]
struct SignaturesPage {
    chrome: Chrome,
    serial: String,
    rows: Vec<super::SignatureRow>,
}

/// `GET /account/certificates/{serial}/signatures`: what one of the employer's certificates
/// signed, and the wrong PINs refused, newest first.
pub async fn signatures(
    state: web::Data<AppState>,
    account: AccountPage,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let serial = CertificateSerial::parse(&path.into_inner()).map_err(page_error)?;
    let entries = state
        .signature_log
        .search(LogQuery {
            serial: Some(serial.clone()),
            uscc: Some(account.identity.uscc.clone()),
            since: None,
            until: None,
        })
        .await
        .map_err(page_error)?;
    let rows = entries.into_iter().map(super::SignatureRow::of).collect();
    let page = SignaturesPage {
        chrome: account.chrome(""),
        serial: serial.to_string(),
        rows,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}
