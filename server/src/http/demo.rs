//! The demo employment portal (development mode only): a plain OIDC relying party served by
//! the same process, so that a newcomer can watch a whole QR login — `/demo` → 扫码登录 →
//! mcert's QR page → `mcert-phone scan` → back at `/demo` with the employer's name. It talks to
//! mcert only over HTTP, as any portal would: authorize with `state`, `nonce` and PKCE, the code
//! exchanged at the token endpoint with its client secret, the ID token verified. The `state`
//! is bound to the browser that started the login (a cookie holds it until the callback), so
//! that nobody can finish their own login in somebody else's browser (login CSRF).

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite},
    http::{StatusCode, header},
    web,
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::{sync::Arc, time::Duration};

use super::{
    AppState,
    login::{error_page, escape},
};
use crate::audit::Actor;
use crate::{
    login::oidc::{Claims, with_query},
    portals::{BusinessItem, ClientKind, PortalDraft, Portals},
    tokens,
};

/// The demo portal's client id.
pub const CLIENT_ID: &str = "demo-portal";
const COOKIE: &str = "demo_portal_session";
/// Holds the `state` of the login this browser started, until its callback.
const LOGIN_COOKIE: &str = "demo_portal_login";
const PENDING_TTL: Duration = Duration::from_secs(600);
const SESSION_TTL: Duration = Duration::from_secs(3600);

/// The demo portal: registered (again) with a fresh secret on first use after each start, so
/// that a development server that nobody demonstrates with has no portal and no audit entry for it.
pub struct DemoPortal {
    base: String,
    portals: Arc<Portals>,
    secret: tokio::sync::OnceCell<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for DemoPortal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoPortal")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl DemoPortal {
    /// The demo portal of the mcert at `base` (its public base URL).
    pub fn new(portals: Arc<Portals>, base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            portals,
            secret: tokio::sync::OnceCell::new(),
            http,
        })
    }

    /// Registers the portal now if this process has not yet.
    pub async fn register(&self) -> anyhow::Result<()> {
        self.registered().await.map(|_| ())
    }

    /// Its client secret, registering the portal first if this process has not yet.
    async fn secret(&self) -> Option<&str> {
        match self.registered().await {
            Ok(secret) => Some(secret.as_str()),
            Err(error) => {
                tracing::error!(error = %error, "demo portal not registered");
                None
            }
        }
    }

    async fn registered(&self) -> anyhow::Result<&String> {
        self.secret
            .get_or_try_init(|| async {
                let registered = self
                    .portals
                    .register_fixed(
                        CLIENT_ID,
                        PortalDraft {
                            name: "就业彩云南（示例门户）".into(),
                            kind: ClientKind::Confidential,
                            origins: vec![self.base.clone()],
                            redirect_uris: vec![format!("{}/demo/callback", self.base)],
                            post_logout_redirect_uris: vec![format!("{}/demo", self.base)],
                            scopes: vec![],
                            items: demo_items(),
                            backchannel_logout_uri: Some(format!(
                                "{}/demo/backchannel-logout",
                                self.base
                            )),
                        },
                        &Actor::Development("dev-demo"),
                    )
                    .await?;
                registered
                    .secret
                    .ok_or_else(|| anyhow::anyhow!("the demo portal has no secret"))
            })
            .await
    }
}

/// What the demo keeps between the redirect to mcert and the callback.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    verifier: String,
    nonce: String,
}

/// The demo's signed-in user.
#[derive(Debug, Serialize, Deserialize)]
struct Signed {
    claims: Claims,
    id_token: String,
}

/// The demo's signed-in user of this browser; `end` signs them out.
async fn signed_in(state: &AppState, request: &HttpRequest, end: bool) -> Option<Signed> {
    let key = format!(
        "demo-session:{}",
        tokens::digest(request.cookie(COOKIE)?.value())
    );
    let stored = if end {
        state.kv.take(&key).await
    } else {
        state.kv.get(&key).await
    };
    let signed: Signed = serde_json::from_slice(&stored.ok()??).ok()?;
    // mcert ended the session over the back channel (a revocation, a withdrawn item).
    if !end
        && state
            .kv
            .get(&ended_key(&signed.claims.sid))
            .await
            .ok()?
            .is_some()
    {
        return None;
    }
    Some(signed)
}

fn ended_key(sid: &str) -> String {
    format!("demo-ended:{}", tokens::digest(sid))
}

/// The demo portal's back-channel logout endpoint: a logout token from mcert (checked as a
/// relying party must) ends the demo's session of that login at once; 400 for anything else.
pub async fn backchannel_logout(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    let sid = token
        .as_deref()
        .ok_or_else(|| "logout_token missing".to_string())
        .and_then(|token| {
            state
                .oidc
                .verify_logout_token(token, CLIENT_ID)
                .map_err(|error| error.description)
        });
    match sid {
        // A second token for the same session finds it ended already: fine either way.
        Ok(sid) => match state
            .kv
            .put_if_absent(
                &ended_key(&sid),
                b"1",
                std::time::Duration::from_secs(86_400),
            )
            .await
        {
            Ok(_) => HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish(),
            Err(error) => {
                tracing::error!(error = %error, "demo portal could not end a session");
                HttpResponse::ServiceUnavailable().finish()
            }
        },
        Err(why) => {
            tracing::warn!(why, "demo portal refused a logout token");
            HttpResponse::BadRequest()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
    }
}

fn demo(state: &AppState) -> Option<&DemoPortal> {
    state.demo.as_deref()
}

fn portal_page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; \
             frame-ancestors 'none'",
        ))
        .body(format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">\
             <title>就业彩云南（示例门户）</title><style>\
             body{{margin:0;font:16px/1.6 system-ui,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;background:#f4f6f9;color:#1f2933}}\
             header{{background:#1a5fb4;color:#fff;padding:14px 20px;font-size:18px}}\
             main{{max-width:560px;margin:32px auto;background:#fff;border-radius:8px;padding:24px;box-shadow:0 2px 10px rgba(0,0,0,.06)}}\
             a.button{{display:inline-block;background:#1a5fb4;color:#fff;text-decoration:none;padding:10px 22px;border-radius:6px}}\
             dt{{color:#5b6675;font-size:14px}}dd{{margin:0 0 10px}}.note{{color:#8a94a3;font-size:13px}}\
             </style></head><body><header>就业彩云南 · 示例门户（开发模式）</header><main>{body}</main></body></html>"
        ))
}

/// The demo portal's home: a login button, or who is signed in.
pub async fn home(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Some(signed) = signed_in(&state, &request, false).await else {
        return portal_page(
            "<h1>单位用户登录</h1><p>使用手机CA证书扫码登录：在“就业彩云南”小程序（开发时用 \
             <code>mcert-phone scan</code>）扫描登录页上的二维码，并输入证书 PIN 码确认。</p>\
             <p><a class=\"button\" id=\"login\" href=\"/demo/login\">扫码登录</a></p>\
             <p><a href=\"/demo/seal\">文件盖章（电子印章）</a></p>",
        );
    };
    let claims = &signed.claims;
    let field = |value: &Option<String>| escape(value.as_deref().unwrap_or("—"));
    portal_page(&format!(
        "<h1 id=\"employer\">{employer}</h1><p>已通过手机CA证书登录。</p><dl>\
         <dt>统一社会信用代码</dt><dd id=\"uscc\">{uscc}</dd>\
         <dt>经办人</dt><dd id=\"holder\">{holder}</dd>\
         <dt>证书</dt><dd id=\"certificate\">{serial}（{role}）</dd>\
         <dt>可办理事项</dt><dd id=\"items\">{items}</dd></dl>\
         <p><a class=\"button\" href=\"/demo/logout\">退出登录</a> <a href=\"/demo/seal\">文件盖章</a></p>\
         <p class=\"note\">sub = {sub}</p>",
        employer = field(&claims.employer_name),
        uscc = field(&claims.uscc),
        holder = field(&claims.name),
        serial = field(&claims.certificate_serial),
        role = match claims.certificate_role.as_deref() {
            Some("primary") => "主证书",
            Some("sub") => "子证书",
            _ => "—",
        },
        sub = escape(&claims.sub),
        items = item_names(claims.items.as_deref().unwrap_or_default()),
    ))
}

/// The names of the demo portal's items with these codes, as the portal shows what the login
/// may do; a sub-certificate without grants is told where grants come from.
fn item_names(codes: &[String]) -> String {
    if codes.is_empty() {
        return "无（子证书须由主证书持有人进行事项授权）".to_string();
    }
    let catalogue = demo_items();
    let names: Vec<String> = codes
        .iter()
        .map(|code| {
            let name = catalogue
                .iter()
                .find(|item| &item.code == code)
                .map_or(code.as_str(), |item| item.name.as_str());
            escape(name)
        })
        .collect();
    names.join("、")
}

/// Starts a login: `state`, `nonce` and a PKCE verifier, then off to mcert's authorize.
pub async fn login(state: web::Data<AppState>) -> HttpResponse {
    let Some(demo) = demo(&state) else {
        return HttpResponse::NotFound().finish();
    };
    if demo.secret().await.is_none() {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "示例门户暂时不可用",
            "请稍后再试。",
        );
    }
    let oauth_state = tokens::random_token(16);
    let pending = Pending {
        verifier: tokens::random_token(32),
        nonce: tokens::random_token(16),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
    let stored = match serde_json::to_vec(&pending) {
        Ok(bytes) => state
            .kv
            .put_if_absent(&format!("demo-pending:{oauth_state}"), &bytes, PENDING_TTL)
            .await
            .is_ok(),
        Err(_) => false,
    };
    if !stored {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "示例门户暂时不可用",
            "请稍后再试。",
        );
    }
    let location = with_query(
        &format!("{}/oauth2/authorize", demo.base),
        &[
            ("response_type", Some("code")),
            ("client_id", Some(CLIENT_ID)),
            (
                "redirect_uri",
                Some(&format!("{}/demo/callback", demo.base)),
            ),
            ("scope", Some("openid profile employer")),
            ("state", Some(&oauth_state)),
            ("nonce", Some(&pending.nonce)),
            ("code_challenge", Some(&challenge)),
            ("code_challenge_method", Some("S256")),
        ],
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(login_cookie(oauth_state, demo.base.starts_with("https://")))
        .finish()
}

/// The cookie that binds a login's `state` to this browser: sent back only to the demo's own
/// pages, and on the top-level redirect back from mcert (`Lax`).
fn login_cookie(oauth_state: String, secure: bool) -> Cookie<'static> {
    Cookie::build(LOGIN_COOKIE, oauth_state)
        .path("/demo")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            PENDING_TTL.as_secs() as i64,
        ))
        .finish()
}

/// Whether `oauth_state` is the one this browser's login cookie holds.
fn started_here(request: &HttpRequest, oauth_state: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    request
        .cookie(LOGIN_COOKIE)
        .is_some_and(|cookie| bool::from(cookie.value().as_bytes().ct_eq(oauth_state.as_bytes())))
}

/// The callback query.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    id_token: String,
}

/// The portal's callback: exchanges the code with its secret and verifies the ID token.
pub async fn callback(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<Callback>,
) -> HttpResponse {
    let Some(demo) = demo(&state) else {
        return HttpResponse::NotFound().finish();
    };
    // Whatever the outcome, the login this browser started is over.
    let fail = |message: &str| {
        let mut page = error_page(StatusCode::BAD_REQUEST, "示例门户：登录失败", message);
        let _ = page.add_removal_cookie(&login_cookie(String::new(), false));
        page
    };
    let Some(oauth_state) = &query.state else {
        return fail("回调缺少 state。");
    };
    // Before anything else: a callback for a login another browser started (an attacker's
    // code sent to a victim) must not sign this browser in, nor show that login's error.
    if !started_here(&request, oauth_state) {
        return fail(
            "这次登录不是由本浏览器发起的（state 与本浏览器的登录记录不符）。请回到示例门户，重新点击“扫码登录”。",
        );
    }
    if let Some(error) = &query.error {
        let _ = state.kv.take(&format!("demo-pending:{oauth_state}")).await;
        return fail(&format!("mcert 返回：{error}（例如在手机上拒绝了登录）。"));
    }
    let Some(code) = &query.code else {
        return fail("回调缺少 code。");
    };
    let pending = match state.kv.take(&format!("demo-pending:{oauth_state}")).await {
        Ok(Some(bytes)) => serde_json::from_slice::<Pending>(&bytes).ok(),
        _ => None,
    };
    let Some(pending) = pending else {
        return fail("state 无效或已使用，请重新登录。");
    };
    let Some(secret) = demo.secret().await else {
        return fail("示例门户未能登记。");
    };
    let answer = demo
        .http
        .post(format!("{}/oauth2/token", demo.base))
        .basic_auth(CLIENT_ID, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &format!("{}/demo/callback", demo.base)),
            ("code_verifier", &pending.verifier),
        ])
        .send()
        .await;
    let answer = match answer {
        Ok(response) if response.status().is_success() => response.json::<TokenAnswer>().await.ok(),
        Ok(response) => {
            tracing::warn!(status = %response.status(), "demo portal: token exchange refused");
            None
        }
        Err(error) => {
            tracing::warn!(error = %error, "demo portal: token endpoint unreachable");
            None
        }
    };
    let Some(answer) = answer else {
        return fail("授权码换取令牌失败，请重新登录。");
    };
    let claims = match state
        .oidc
        .verify_id_token(&answer.id_token, Some(CLIENT_ID), false)
    {
        Ok(claims) if claims.nonce.as_deref() == Some(pending.nonce.as_str()) => claims,
        _ => return fail("ID 令牌验证失败。"),
    };
    let token = tokens::random_token(32);
    let signed = Signed {
        claims,
        id_token: answer.id_token,
    };
    let stored = match serde_json::to_vec(&signed) {
        Ok(bytes) => state
            .kv
            .put_if_absent(
                &format!("demo-session:{}", tokens::digest(&token)),
                &bytes,
                SESSION_TTL,
            )
            .await
            .is_ok(),
        Err(_) => false,
    };
    if !stored {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "示例门户暂时不可用",
            "请稍后再试。",
        );
    }
    let mut done = login_cookie(String::new(), false);
    done.make_removal();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/demo"))
        .cookie(
            Cookie::build(COOKIE, token)
                .path("/demo")
                .http_only(true)
                .secure(demo.base.starts_with("https://"))
                .same_site(SameSite::Lax)
                .finish(),
        )
        .cookie(done)
        .finish()
}

/// Signs out of the demo and of the login at mcert (RP-initiated logout).
pub async fn logout(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Some(demo) = demo(&state) else {
        return HttpResponse::NotFound().finish();
    };
    let location = match signed_in(&state, &request, true).await {
        Some(signed) => with_query(
            &format!("{}/oauth2/logout", demo.base),
            &[
                ("id_token_hint", Some(&signed.id_token)),
                (
                    "post_logout_redirect_uri",
                    Some(&format!("{}/demo", demo.base)),
                ),
            ],
        ),
        None => "/demo".to_string(),
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The demo portal's business items: those of seed 000's screenshots (单位服务) and those seed
/// 003 lists (公共就业服务), 失业保险 granted to every physical sub-certificate and not
/// removable, as seed 000's grant dialog says.
fn demo_items() -> Vec<BusinessItem> {
    const UNIT: &str = "单位服务";
    const SERVICES: &str = "公共就业服务";
    [
        ("unit_info", "单位基础信息维护", UNIT),
        ("unit_bank_account", "单位银行账号信息维护", UNIT),
        ("employment_registration", "单位人员就业登记", UNIT),
        ("unemployment_registration", "单位人员失业登记", UNIT),
        ("registration_query", "单位人员就失业登记查询", UNIT),
        ("registration_print", "单位就失业登记审批后打印", UNIT),
        ("document_seal", "单位文件资料授权签章", UNIT),
        (
            "graduate_social_insurance_subsidy",
            "小微企业招用高校毕业生社保补贴",
            UNIT,
        ),
        ("employment_unemployment", "就业失业登记", SERVICES),
        ("unemployment_insurance", "失业保险", SERVICES),
        ("startup_guarantee_loan", "小微企业创业担保贷款", SERVICES),
        ("training", "技能培训和创业培训服务", SERVICES),
        (
            "investment_employment_subsidy",
            "招商引资和非国有企业吸纳就业补贴",
            SERVICES,
        ),
        ("public_welfare_post_subsidy", "公益性岗位补贴", SERVICES),
        (
            "graduate_hiring_subsidy",
            "小微企业吸纳高校毕业生补贴",
            SERVICES,
        ),
        (
            "hard_to_employ_subsidy",
            "企业吸纳就业困难人员补贴",
            SERVICES,
        ),
        ("public_recruitment", "公共招聘服务", SERVICES),
    ]
    .into_iter()
    .map(|(code, name, group)| BusinessItem {
        code: code.into(),
        name: name.into(),
        group: Some(group.into()),
        locked_for: (code == "unemployment_insurance").then_some(crate::ca::MediaType::Physical),
    })
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Sealing a PDF (加盖电子印章): the portal uploads the file to mcert with its client credentials,
// shows the seal QR, and once the phone confirmed collects the stamped PDF.

/// The employer the demo seals for: the signed-in one, else the demo application's.
async fn sealing_employer(state: &AppState, request: &HttpRequest) -> (String, String) {
    match signed_in(state, request, false).await {
        Some(Signed { claims, .. }) => (
            claims
                .uscc
                .unwrap_or_else(|| crate::demo::UNIT_USCC.to_string()),
            claims
                .employer_name
                .unwrap_or_else(|| crate::demo::UNIT_NAME.to_string()),
        ),
        None => (
            crate::demo::UNIT_USCC.to_string(),
            crate::demo::UNIT_NAME.to_string(),
        ),
    }
}

/// The upload form.
pub async fn seal_form(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    if demo(&state).is_none() {
        return HttpResponse::NotFound().finish();
    }
    let (uscc, name) = sealing_employer(&state, &request).await;
    portal_page(&format!(
        "<h1>文件盖章</h1><p>为 <b>{name}</b>（{uscc}）加盖电子印章：上传 PDF（不超过 10 MB，未加密），\
         选择盖章位置，用手机CA证书扫码并输入 PIN 码确认。</p>\
         <form method=\"post\" action=\"/demo/seal\" enctype=\"multipart/form-data\">\
         <p><label>文件标题 <input name=\"title\" value=\"劳动合同（示例）\" required></label></p>\
         <p><label>PDF 文件 <input type=\"file\" name=\"file\" accept=\"application/pdf\" required></label></p>\
         <p><label>页码 <input name=\"page\" value=\"1\" size=\"3\"></label> \
         <label>距左边 <input name=\"x_mm\" value=\"150\" size=\"4\"> mm</label> \
         <label>距上边 <input name=\"y_mm\" value=\"230\" size=\"4\"> mm</label>（印章中心）</p>\
         <p><button class=\"button\" type=\"submit\">盖章</button></p></form>\
         <p class=\"note\">没有 PDF？<a href=\"/demo/sample.pdf\">下载示例文件</a></p>",
        name = escape(&name),
        uscc = escape(&uscc),
    ))
}

/// A one-page sample document to seal.
pub async fn sample_pdf() -> HttpResponse {
    let out = crate::seals::sample_pdf(&[
        "mcert demo: sample contract",
        "Party A: the demo employer. Party B: an employee.",
    ]);
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"sample.pdf\"",
        ))
        .body(out)
}

#[derive(Debug, Deserialize)]
struct CreatedSeal {
    id: String,
    qr_text: String,
    qr_svg: String,
    match_code: String,
}

/// Forwards the upload to mcert (`POST /api/v1/seal-sessions/pdf`) and shows the seal QR.
pub async fn seal_upload(
    state: web::Data<AppState>,
    request: HttpRequest,
    mut payload: actix_multipart::Multipart,
) -> HttpResponse {
    use futures_util::TryStreamExt as _;
    let Some(demo) = demo(&state) else {
        return HttpResponse::NotFound().finish();
    };
    let (uscc, _) = sealing_employer(&state, &request).await;
    let mut form = reqwest::multipart::Form::new().text("uscc", uscc);
    let limit = mcert_ses::pdf::MAX_PDF_BYTES + 64 * 1024;
    let mut read = 0usize;
    loop {
        let field = match payload.try_next().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                return error_page(StatusCode::BAD_REQUEST, "上传失败", "请重新选择文件上传。");
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if !["title", "file", "page", "x_mm", "y_mm"].contains(&name.as_str()) {
            continue;
        }
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.try_next().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    if read > limit {
                        return error_page(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "文件过大",
                            "PDF 不能超过 10 MB。",
                        );
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => {
                    return error_page(StatusCode::BAD_REQUEST, "上传失败", "请重新选择文件上传。");
                }
            }
        }
        form = if name == "file" {
            form.part(
                name,
                reqwest::multipart::Part::bytes(bytes).file_name("document.pdf"),
            )
        } else {
            form.text(name, String::from_utf8_lossy(&bytes).into_owned())
        };
    }
    let Some(secret) = demo.secret().await else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "示例门户暂时不可用",
            "请稍后再试。",
        );
    };
    let answer = demo
        .http
        .post(format!("{}/api/v1/seal-sessions/pdf", demo.base))
        .basic_auth(CLIENT_ID, Some(secret))
        .multipart(form)
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(_) => {
            return error_page(
                StatusCode::BAD_GATEWAY,
                "盖章请求失败",
                "mcert 暂时无法访问，请稍后再试。",
            );
        }
    };
    if !response.status().is_success() {
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let message = body["message"]
            .as_str()
            .unwrap_or("盖章请求被拒绝。")
            .to_string();
        return error_page(StatusCode::BAD_REQUEST, "盖章请求被拒绝", &message);
    }
    let Ok(created) = response.json::<CreatedSeal>().await else {
        return error_page(
            StatusCode::BAD_GATEWAY,
            "盖章请求失败",
            "mcert 的应答无法读取。",
        );
    };
    portal_page(&format!(
        "<h1>请用手机扫码盖章</h1><div id=\"qr\">{svg}</div>\
         <p>二维码内容：<code id=\"qr-text\">{text}</code></p>\
         <p>请在手机上选择数字 <b id=\"code\">{code}</b>，核对文件与印章后输入 PIN 码确认。</p>\
         <p>确认后：<a class=\"button\" id=\"document\" href=\"/demo/seal/{id}/document.pdf\">下载盖章后的文件</a></p>\
         <p class=\"note\">二维码 2 分钟内有效。</p>",
        svg = created.qr_svg,
        text = escape(&created.qr_text),
        code = escape(&created.match_code),
        id = escape(&created.id),
    ))
}

/// The stamped PDF: collected from mcert once the phone confirmed (kept for an hour).
pub async fn seal_document(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let Some(demo) = demo(&state) else {
        return HttpResponse::NotFound().finish();
    };
    let id = path.into_inner();
    if id.len() != 22
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return HttpResponse::NotFound().finish();
    }
    let key = format!("demo-sealed:{id}");
    let pdf = match state.kv.get(&key).await {
        Ok(Some(pdf)) => Some(pdf),
        _ => None,
    };
    let pdf = match pdf {
        Some(pdf) => pdf,
        None => {
            let Some(secret) = demo.secret().await else {
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "示例门户暂时不可用",
                    "请稍后再试。",
                );
            };
            let collected = demo
                .http
                .post(format!("{}/api/v1/seal-sessions/{id}/result", demo.base))
                .basic_auth(CLIENT_ID, Some(secret))
                .send()
                .await;
            let confirmed = matches!(&collected, Ok(r) if r.status().is_success());
            if !confirmed {
                return error_page(
                    StatusCode::CONFLICT,
                    "尚未盖章",
                    "手机上还没有确认盖章（或二维码已过期）。请在手机上确认后再下载。",
                );
            }
            let fetched = demo
                .http
                .get(format!(
                    "{}/api/v1/seal-sessions/{id}/document.pdf",
                    demo.base
                ))
                .basic_auth(CLIENT_ID, Some(secret))
                .send()
                .await;
            let pdf = match fetched {
                Ok(response) if response.status().is_success() => response.bytes().await.ok(),
                _ => None,
            };
            let Some(pdf) = pdf else {
                return error_page(
                    StatusCode::BAD_GATEWAY,
                    "下载失败",
                    "盖章后的文件暂时无法取回，请稍后再试。",
                );
            };
            let _ = state.kv.put_if_absent(&key, &pdf, SESSION_TTL).await;
            pdf.to_vec()
        }
    };
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"stamped.pdf\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(pdf)
}
