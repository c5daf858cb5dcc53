//! QR scan-to-login end to end (docs/qr-login.md): the hosted OIDC flow with PKCE, the page's
//! event stream, the embedded API, and a failing attack for each security invariant of
//! DESIGN.md §12 items 1–4 and 7.

use mcert_server::audit::Actor;
use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use futures_util::StreamExt as _;
use mcert_server::{
    ca::RevocationReason,
    domain::CertificateSerial,
    portals::{ClientKind, PortalDraft},
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::{
    downloads::downloaded,
    helpers::{TestApp, spawn_app_with},
    phone::{Answer, TestPhone},
};

pub const REDIRECT: &str = "https://portal.example.cn/oidc/callback";
pub const PIN: &str = "135790";

/// What `downloaded` needs: a short agreement countdown and SMS codes without the minute.
fn quick(s: &mut mcert_server::configuration::Settings) {
    s.agreement_countdown_secs = 1;
    s.otp_limits.resend_interval = Duration::from_millis(1);
}

pub async fn app() -> TestApp {
    spawn_app_with(quick).await
}

/// A browser: no automatic redirects, cookies kept by hand.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Registers a portal: (client id, secret if confidential).
pub async fn portal(app: &TestApp, kind: ClientKind) -> (String, Option<String>) {
    let registered = app
        .state
        .portals
        .register(
            PortalDraft {
                name: "就业彩云南".into(),
                kind,
                origins: vec!["https://portal.example.cn".into()],
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec!["https://portal.example.cn/".into()],
                scopes: vec![],
                items: vec![],
                backchannel_logout_uri: None,
            },
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap();
    (registered.portal.client_id, registered.secret)
}

pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The page a browser was sent to, with its cookie.
pub struct Hosted {
    pub id: String,
    pub cookie: String,
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

pub async fn authorize(app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    browser()
        .get(format!("{}/oauth2/authorize", app.address))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// Starts a hosted login for `client` with this PKCE challenge.
pub async fn hosted(app: &TestApp, client: &str, challenge: &str) -> Hosted {
    hosted_with(app, client, challenge, "openid profile employer").await
}

/// [`hosted`] asking for `scope`.
pub async fn hosted_with(app: &TestApp, client: &str, challenge: &str, scope: &str) -> Hosted {
    let response = authorize(
        app,
        &[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    let id = to.strip_prefix("/login/").unwrap().to_string();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    let mut parts = set_cookie.split(';').map(str::trim);
    let cookie = parts.next().unwrap().to_string();
    assert!(cookie.starts_with("mcert_login="), "{set_cookie}");
    let attributes: Vec<&str> = parts.collect();
    assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
    assert!(
        attributes.contains(&format!("Path={to}").as_str()),
        "{set_cookie}"
    );
    Hosted { id, cookie }
}

/// The demo portal's home page as the browser with `cookie` sees it.
async fn demo_home(app: &TestApp, cookie: &str) -> String {
    page_get(app, "/demo", Some(cookie))
        .await
        .text()
        .await
        .unwrap()
}

pub async fn page_get(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = browser().get(format!("{}{path}", app.address));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// Reads Server-Sent Events: each next event's name.
pub struct Events {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Events {
    pub async fn open(app: &TestApp, path: &str, cookie: &str) -> Self {
        let response = page_get(app, path, Some(cookie)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            stream: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    pub async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if block.starts_with(':') {
                    continue;
                }
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .unwrap()
                        .trim()
                        .to_string()
                };
                let data: Value = serde_json::from_str(&field("data:")).unwrap();
                return (field("event:"), data);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .unwrap();
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

pub fn qr(app: &TestApp, id: &str) -> String {
    format!("{}/q/{id}", app.address)
}

pub async fn scan(app: &TestApp, token: &str, qr: &str) -> Answer {
    app.post_json("/api/v1/mp/logins", &json!({ "qr": qr }), Some(token))
        .await
}

/// The code the portal's page shows for login `id` (the person reads it there).
pub async fn page_code(app: &TestApp, id: &str) -> String {
    app.state.logins.get(id).await.unwrap().match_code
}

/// Asks to confirm login `id` with certificate `serial`, tapping the code the page shows: the
/// co-signing session, or the refusal.
pub async fn open_confirmation(app: &TestApp, token: &str, id: &str, serial: &str) -> Answer {
    let code = page_code(app, id).await;
    tap(app, token, id, serial, &code).await
}

/// Asks to confirm login `id` with certificate `serial`, tapping `code` on the phone.
pub async fn tap(app: &TestApp, token: &str, id: &str, serial: &str, code: &str) -> Answer {
    app.post_json(
        &format!("/api/v1/mp/logins/{id}/confirm"),
        &json!({ "serial": serial, "match_code": code }),
        Some(token),
    )
    .await
}

/// Confirms a scanned login with the phone's certificate and PIN.
pub async fn confirm(
    app: &TestApp,
    token: &str,
    id: &str,
    phone: &TestPhone,
    pin: &str,
) -> Result<Value, Answer> {
    let opened = open_confirmation(app, token, id, &phone.serial).await;
    if opened.status != 201 {
        return Err(opened);
    }
    app.cosign(&opened.body, &phone.public_key, &phone.share, pin)
        .await
}

async fn exchange(
    app: &TestApp,
    client: &str,
    secret: Option<&str>,
    code: &str,
    verifier: &str,
) -> Answer {
    let mut request = browser().post(format!("{}/oauth2/token", app.address));
    if let Some(secret) = secret {
        request = request.basic_auth(client, Some(secret));
    }
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    if secret.is_none() {
        form.push(("client_id", client));
    }
    let response = request.form(&form).send().await.unwrap();
    Answer::of(response).await
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Logs in through the hosted page: the code at the redirect.
async fn code_for(
    app: &TestApp,
    client: &str,
    challenge: &str,
    token: &str,
    phone: &TestPhone,
) -> String {
    code_with(
        app,
        client,
        challenge,
        "openid profile employer",
        token,
        phone,
    )
    .await
}

/// [`code_for`] asking for `scope`.
async fn code_with(
    app: &TestApp,
    client: &str,
    challenge: &str,
    scope: &str,
    token: &str,
    phone: &TestPhone,
) -> String {
    let page = hosted_with(app, client, challenge, scope).await;
    assert_eq!(scan(app, token, &qr(app, &page.id)).await.status, 200);
    confirm(app, token, &page.id, phone, PIN).await.unwrap();
    let back = page_get(
        app,
        &format!("/login/{}/continue", page.id),
        Some(&page.cookie),
    )
    .await;
    assert_eq!(back.status(), 303);
    query_param(&location(&back), "code").unwrap()
}

/// A hosted login asking for `scope` at portal `client` (confidential, `secret`) with `phone`'s
/// certificate: the verified ID token's claims and the access token.
pub async fn logged_in(
    app: &TestApp,
    (client, secret): (&str, &str),
    scope: &str,
    token: &str,
    phone: &TestPhone,
) -> (mcert_server::login::oidc::Claims, String) {
    let (verifier, challenge) = pkce();
    let code = code_with(app, client, &challenge, scope, token, phone).await;
    let tokens = exchange(app, client, Some(secret), &code, &verifier).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let claims = app
        .state
        .oidc
        .verify_id_token(
            tokens.body["id_token"].as_str().unwrap(),
            Some(client),
            false,
        )
        .unwrap();
    (
        claims,
        tokens.body["access_token"].as_str().unwrap().to_string(),
    )
}

/// The claims of the ID token a hosted login at portal `client` (confidential, `secret`) with
/// `phone`'s certificate ends in.
pub async fn login_claims(
    app: &TestApp,
    client: &str,
    secret: &str,
    token: &str,
    phone: &TestPhone,
) -> mcert_server::login::oidc::Claims {
    logged_in(
        app,
        (client, secret),
        "openid profile employer",
        token,
        phone,
    )
    .await
    .0
}

/// A browser at `authorize_url` while the phone scans and confirms: where it is sent back to.
pub async fn browser_login(
    app: &TestApp,
    authorize_url: &str,
    token: &str,
    phone: &TestPhone,
) -> String {
    let response = browser().get(authorize_url).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let id = location(&response)
        .strip_prefix("/login/")
        .unwrap()
        .to_string();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    assert_eq!(scan(app, token, &qr(app, &id)).await.status, 200);
    confirm(app, token, &id, phone, PIN).await.unwrap();
    let back = page_get(app, &format!("/login/{id}/continue"), Some(&cookie)).await;
    assert_eq!(back.status(), 303);
    location(&back)
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_login_with_pkce_ends_in_a_verified_id_token() {
    let app = app().await;
    let (client, secret) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139011", "openid-login", PIN).await;

    let discovery: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], app.address);
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );

    let (verifier, challenge) = pkce();
    let page = hosted(&app, &client, &challenge).await;
    let html = page_get(&app, &format!("/login/{}", page.id), Some(&page.cookie)).await;
    assert_eq!(html.status(), 200);
    let csp = html.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = html.text().await.unwrap();
    assert!(html.contains("就业彩云南") && html.contains("<svg"));
    // Invariant 2: the page, its events and its result belong to the creating browser only.
    for path in ["", "/events", "/continue"] {
        let path = format!("/login/{}{path}", page.id);
        let stranger = page_get(&app, &path, None).await;
        assert_eq!(stranger.status(), 403, "{path} without the cookie");
        let forged = page_get(&app, &path, Some("mcert_login=forged")).await;
        assert_eq!(forged.status(), 403, "{path} with another cookie");
    }

    let mut events = Events::open(&app, &format!("/login/{}/events", page.id), &page.cookie).await;
    assert_eq!(events.next().await.0, "pending");
    let scanned = scan(&app, &token, &qr(&app, &page.id)).await;
    assert_eq!(scanned.status, 200, "{:?}", scanned.body);
    assert_eq!(scanned.body["portal"]["name"], "就业彩云南");
    assert_eq!(
        scanned.body["portal"]["origin"],
        "https://portal.example.cn"
    );
    assert_eq!(
        scanned.body["certificates"][0]["serial"],
        phone.serial.as_str()
    );
    assert_eq!(scanned.body["certificates"][0]["role"], "primary");
    // Number matching: the phone offers three codes, one of them the page's.
    let choices: Vec<String> = scanned.body["match_choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(choices.len(), 3, "{choices:?}");
    let on_page: Vec<&String> = choices
        .iter()
        .filter(|c| html.contains(&format!("<b>{c}</b>")))
        .collect();
    assert_eq!(on_page, [&page_code(&app, &page.id).await], "{choices:?}");
    // Where and when the login was started: this test's own address and client.
    let initiator = &scanned.body["initiator"];
    assert_eq!(initiator["address"], "127.0.0.*", "{initiator}");
    assert!(initiator["started_at"].is_string());
    assert!(scanned.body["region_warning"].is_null());
    assert_eq!(events.next().await.0, "scanned");
    // Invariant 1: the QR is accepted once.
    let again = scan(&app, &token, &qr(&app, &page.id)).await;
    assert_eq!((again.status, again.code()), (409, "login_already_scanned"));

    let signed = confirm(&app, &token, &page.id, &phone, PIN).await.unwrap();
    assert_eq!(signed["purpose"], "login");
    let (event, data) = events.next().await;
    assert_eq!(event, "confirmed");
    assert_eq!(data["next"], format!("/login/{}/continue", page.id));

    let back = page_get(
        &app,
        &format!("/login/{}/continue", page.id),
        Some(&page.cookie),
    )
    .await;
    assert_eq!(back.status(), 303);
    let to = location(&back);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&to, "iss").as_deref(),
        Some(app.address.as_str())
    );
    let code = query_param(&to, "code").unwrap();
    let twice = page_get(
        &app,
        &format!("/login/{}/continue", page.id),
        Some(&page.cookie),
    )
    .await;
    assert_ne!(twice.status(), 303, "the result is handed out once");

    let tokens = exchange(&app, &client, secret.as_deref(), &code, &verifier).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(tokens.body["token_type"], "Bearer");
    let id_token = tokens.body["id_token"].as_str().unwrap();
    let claims = app
        .state
        .oidc
        .verify_id_token(id_token, Some(&client), false)
        .unwrap();
    assert_eq!(claims.nonce.as_deref(), Some("n-1"));
    assert_eq!(
        claims.employer_name.as_deref(),
        Some("昆明测试科技有限公司")
    );
    assert_eq!(
        claims.certificate_serial.as_deref(),
        Some(phone.serial.as_str())
    );
    assert_eq!(claims.certificate_role.as_deref(), Some("primary"));
    assert_eq!(claims.name.as_deref(), Some("张三"));
    assert_eq!(claims.amr, ["swk", "pin"]);
    assert_eq!(claims.sid, page.id);
    // Invariant 1: the code is accepted once.
    let replay = exchange(&app, &client, secret.as_deref(), &code, &verifier).await;
    assert_eq!(
        (replay.status, replay.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let access = tokens.body["access_token"].as_str().unwrap();
    let info = browser()
        .get(format!("{}/oauth2/userinfo", app.address))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["sub"], claims.sub.as_str());
    assert_eq!(info["uscc"], claims.uscc.unwrap().as_str());

    // A second login by the same holder of the same employer has the same subject.
    let (verifier2, challenge2) = pkce();
    let code2 = code_for(&app, &client, &challenge2, &token, &phone).await;
    let tokens2 = exchange(&app, &client, secret.as_deref(), &code2, &verifier2).await;
    let claims2 = app
        .state
        .oidc
        .verify_id_token(
            tokens2.body["id_token"].as_str().unwrap(),
            Some(&client),
            false,
        )
        .unwrap();
    assert_eq!(claims2.sub, claims.sub);

    // RP-initiated logout ends the access token and returns to the registered URI.
    let out = browser()
        .get(format!("{}/oauth2/logout", app.address))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "https://portal.example.cn/"),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "https://portal.example.cn/?state=bye");
    let after = browser()
        .get(format!("{}/oauth2/userinfo", app.address))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_authorize_requests_never_create_a_session() {
    let app = app().await;
    let (public, _) = portal(&app, ClientKind::Public).await;
    let (_, challenge) = pkce();

    // Unknown client or unregistered redirect URI: an error page, never a redirect.
    for query in [
        vec![
            ("response_type", "code"),
            ("client_id", "nobody"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
        ],
        vec![
            ("response_type", "code"),
            ("client_id", public.as_str()),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ],
    ] {
        let response = authorize(&app, &query).await;
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        assert!(response.text().await.unwrap().contains("无法发起登录"));
    }
    // Other errors go back to the portal with RFC 6749 codes and the state.
    for (query, error) in [
        (
            vec![
                ("response_type", "token"),
                ("scope", "openid"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "code"), ("scope", "openid")],
            "invalid_request",
        ),
        (
            vec![
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("response_type", "code"),
                ("scope", "profile"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("response_type", "code"),
                ("scope", "openid admin"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
            "invalid_scope",
        ),
    ] {
        let mut query = query;
        query.extend([
            ("client_id", public.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
        ]);
        let response = authorize(&app, &query).await;
        assert_eq!(response.status(), 303);
        let to = location(&response);
        assert_eq!(
            query_param(&to, "error").as_deref(),
            Some(error),
            "{query:?}"
        );
        assert_eq!(query_param(&to, "state").as_deref(), Some("s"));
        assert!(
            response.headers().get("set-cookie").is_none(),
            "no session for {query:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_are_bound_to_the_client_and_the_pkce_verifier() {
    let app = app().await;
    let (public, _) = portal(&app, ClientKind::Public).await;
    let (other, other_secret) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139012", "openid-pkce", PIN).await;

    // A wrong verifier: refused, and the code is gone for the right one too.
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &public, &challenge, &token, &phone).await;
    let (wrong, _) = pkce();
    let refused = exchange(&app, &public, None, &code, &wrong).await;
    assert_eq!(refused.body["error"], "invalid_grant");
    let late = exchange(&app, &public, None, &code, &verifier).await;
    assert_eq!(late.body["error"], "invalid_grant");

    // Another client cannot redeem it; a wrong secret is invalid_client.
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &public, &challenge, &token, &phone).await;
    let stolen = exchange(&app, &other, other_secret.as_deref(), &code, &verifier).await;
    assert_eq!(stolen.body["error"], "invalid_grant");
    let bad_secret = exchange(&app, &other, Some("not-the-secret"), "x", &verifier).await;
    assert_eq!(
        (bad_secret.status, bad_secret.body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // The public client with the right verifier.
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &public, &challenge, &token, &phone).await;
    let ok = exchange(&app, &public, None, &code, &verifier).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_usable_certificates_of_the_scanning_person_log_in() {
    let app = app().await;
    let (client, _) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139013", "openid-cert", PIN).await;
    let (_, challenge) = pkce();

    // Invariant 3: a signature over another session's challenge completes nothing.
    let a = hosted(&app, &client, &challenge).await;
    let b = hosted(&app, &client, &challenge).await;
    scan(&app, &token, &qr(&app, &a.id)).await;
    scan(&app, &token, &qr(&app, &b.id)).await;
    let session_a = open_confirmation(&app, &token, &a.id, &phone.serial).await;
    let session_b = open_confirmation(&app, &token, &b.id, &phone.serial).await;
    let signed_a = app
        .cosign(&session_a.body, &phone.public_key, &phone.share, PIN)
        .await
        .unwrap();
    // B's partials, then A's signature offered as B's: refused, B stays scanned.
    let id_b = session_b.body["session_id"].as_str().unwrap();
    let message_b = crate::phone::unb64(&session_b.body["message"]);
    let (_, round) = phone.begin(PIN, id_b, &message_b);
    assert_eq!(app.send_round(id_b, &round).await.status, 200);
    let swapped = app
        .post_json(
            &format!("/api/v1/cosign/{id_b}/signature"),
            &json!({ "signature": signed_a["signature"] }),
            None,
        )
        .await;
    assert_eq!((swapped.status, swapped.code()), (400, "signature_invalid"));
    let state_b = app.state.logins.get(&b.id).await.unwrap().state;
    assert_eq!(state_b.as_str(), "scanned");

    // Someone else's certificate cannot be chosen.
    let c = hosted(&app, &client, &challenge).await;
    let stranger = crate::people::mp_session(&app, "openid-stranger-login").await;
    let verified = crate::people::verify(
        &app,
        &stranger,
        "王五",
        "110105198001010032",
        "dev-pass:王五:110105198001010032:openid-stranger-login",
    )
    .await;
    assert_eq!(verified.status, 200);
    let none = scan(&app, &stranger, &qr(&app, &c.id)).await;
    assert_eq!((none.status, none.code()), (404, "no_certificate"));
    let scanned = scan(&app, &token, &qr(&app, &c.id)).await;
    assert_eq!(scanned.status, 200);
    let foreign = open_confirmation(&app, &stranger, &c.id, &phone.serial).await;
    assert_eq!((foreign.status, foreign.code()), (409, "login_state"));

    // Invariant 4: revoked between the PIN proof and the signature: the login is refused.
    let opened = open_confirmation(&app, &token, &c.id, &phone.serial).await;
    let id_c = opened.body["session_id"].as_str().unwrap();
    let message_c = crate::phone::unb64(&opened.body["message"]);
    let (signing, round) = phone.begin(PIN, id_c, &message_c);
    let partials = app.send_round(id_c, &round).await;
    assert_eq!(partials.status, 200);
    let serial = CertificateSerial::parse(&phone.serial).unwrap();
    app.state
        .authority
        .revoke(
            &serial,
            RevocationReason::KeyCompromise,
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap();
    let partials = partials.partials.unwrap();
    let signature = signing
        .finish(
            &partials,
            &mcert_signer::parse_public_key(&phone.public_key).unwrap(),
        )
        .unwrap();
    let refused = app
        .post_json(
            &format!("/api/v1/cosign/{id_c}/signature"),
            &json!({ "signature": crate::phone::b64(&signature) }),
            None,
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "certificate_not_usable")
    );
    assert_eq!(
        app.state.logins.get(&c.id).await.unwrap().state.as_str(),
        "scanned"
    );
    // And a revoked certificate is not offered at the next scan.
    let d = hosted(&app, &client, &challenge).await;
    let gone = scan(&app, &token, &qr(&app, &d.id)).await;
    assert_eq!((gone.status, gone.code()), (404, "no_certificate"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_cannot_log_in() {
    use sea_orm::ConnectionTrait as _;
    let app = app().await;
    let (client, _) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139014", "openid-expired", PIN).await;
    let (_, challenge) = pkce();
    let page = hosted(&app, &client, &challenge).await;
    assert_eq!(scan(&app, &token, &qr(&app, &page.id)).await.status, 200);
    let opened = open_confirmation(&app, &token, &page.id, &phone.serial).await;
    assert_eq!(opened.status, 201);
    // Its validity ends while the person types the PIN.
    app.db()
        .await
        .execute_unprepared(&format!(
            "UPDATE certificates SET not_after = '2020-01-01T00:00:00Z' WHERE serial = '{}'",
            phone.serial
        ))
        .await
        .unwrap();
    let refused = app
        .cosign(&opened.body, &phone.public_key, &phone.share, PIN)
        .await
        .unwrap_err();
    assert_eq!(
        (refused.status, refused.code()),
        (409, "certificate_not_usable")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn id_token_verification_allows_es256_only_with_our_issuer_and_audience() {
    let app = app().await;
    let (client, secret) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139015", "openid-jwt", PIN).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &client, &challenge, &token, &phone).await;
    let tokens = exchange(&app, &client, secret.as_deref(), &code, &verifier).await;
    let good = tokens.body["id_token"].as_str().unwrap();
    let oidc = &app.state.oidc;
    assert!(oidc.verify_id_token(good, Some(&client), false).is_ok());

    let (header, rest) = good.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let kid =
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()["kid"]
            .clone();
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
    // alg=none.
    let none = format!(
        "{}.{payload}.",
        encode(&json!({ "alg": "none", "kid": kid }))
    );
    // HS256 keyed with the public JWK (the classic algorithm-confusion attack).
    let jwks: Value = app.get("/oauth2/jwks").await.json().await.unwrap();
    let hs_header = encode(&json!({ "alg": "HS256", "typ": "JWT", "kid": kid }));
    let mac = {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(jwks.to_string().as_bytes()).unwrap();
        mac.update(format!("{hs_header}.{payload}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    };
    let hs256 = format!("{hs_header}.{payload}.{mac}");
    // A kid that is not ours, and a body changed under the real signature.
    let foreign_kid = format!(
        "{}.{rest}",
        encode(&json!({ "alg": "ES256", "kid": "attacker" }))
    );
    let mut other = claims.clone();
    other["sub"] = json!("someone-else");
    let tampered = format!(
        "{header}.{}.{}",
        encode(&other),
        rest.split_once('.').unwrap().1
    );
    for (name, forged) in [
        ("none", none),
        ("HS256", hs256),
        ("kid", foreign_kid),
        ("tampered", tampered),
    ] {
        assert!(
            oidc.verify_id_token(&forged, Some(&client), false).is_err(),
            "{name}"
        );
        let out = browser()
            .get(format!("{}/oauth2/logout", app.address))
            .query(&[
                ("id_token_hint", forged.as_str()),
                ("post_logout_redirect_uri", "https://portal.example.cn/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 400, "logout with a {name} token");
    }
    // The wrong audience, and an expired token where expiry counts.
    assert!(
        oidc.verify_id_token(good, Some("another-client"), false)
            .is_err()
    );
    let mut expired = claims;
    expired["exp"] = json!(1);
    let expired = format!(
        "{header}.{}.{}",
        encode(&expired),
        rest.split_once('.').unwrap().1
    );
    assert!(
        oidc.verify_id_token(&expired, Some(&client), false)
            .is_err()
    );
}

/// An ID token's times are judged by the server's clock, not the system's: past its five
/// minutes there it is refused (as a logout hint it is still read), and one issued later than
/// the clock says it is now is refused too.
#[tokio::test(flavor = "multi_thread")]
async fn id_tokens_expire_by_the_server_s_clock() {
    let app = app().await;
    let (client, secret) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139019", "openid-jwt-clock", PIN).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &client, &challenge, &token, &phone).await;
    let tokens = exchange(&app, &client, secret.as_deref(), &code, &verifier).await;
    let id_token = tokens.body["id_token"].as_str().unwrap();
    let oidc = &app.state.oidc;
    assert!(oidc.verify_id_token(id_token, Some(&client), false).is_ok());

    // Five minutes and the minute of leeway.
    app.advance(Duration::from_secs(300 + 61)).await;
    assert!(
        oidc.verify_id_token(id_token, Some(&client), false)
            .is_err()
    );
    assert!(oidc.verify_id_token(id_token, Some(&client), true).is_ok());

    // Ten minutes before it was issued.
    app.clock
        .advance(chrono::TimeDelta::seconds(-(300 + 61 + 600)));
    assert!(oidc.verify_id_token(id_token, Some(&client), true).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_sessions_are_collected_once_by_their_portal() {
    let app = app().await;
    let (client, secret) = portal(&app, ClientKind::Confidential).await;
    let secret = secret.unwrap();
    let (other, other_secret) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139016", "openid-embedded", PIN).await;
    let portal_call = |method: reqwest::Method, path: &str, who: (&str, &str)| {
        browser()
            .request(method, format!("{}{path}", app.address))
            .basic_auth(who.0, Some(who.1))
    };
    let me = (client.as_str(), secret.as_str());

    let anonymous = browser()
        .post(format!("{}/api/v1/login-sessions", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let created = portal_call(reqwest::Method::POST, "/api/v1/login-sessions", me)
        .json(&json!({ "scope": "openid employer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["qr_text"], qr(&app, &id));
    assert!(
        created["qr_svg"].as_str().unwrap().starts_with("<?xml")
            || created["qr_svg"].as_str().unwrap().contains("<svg")
    );
    let png = portal_call(
        reqwest::Method::GET,
        &format!("/api/v1/login-sessions/{id}/qr.png"),
        me,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(&png.bytes().await.unwrap()[..4], b"\x89PNG");
    // Another portal does not see it.
    let theirs = portal_call(
        reqwest::Method::GET,
        &format!("/api/v1/login-sessions/{id}"),
        (other.as_str(), other_secret.as_deref().unwrap()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(theirs.status(), 404);

    // A long poll answers when the phone scans.
    let poll = portal_call(
        reqwest::Method::GET,
        &format!("/api/v1/login-sessions/{id}?wait=20&state=pending"),
        me,
    )
    .send();
    let scanning = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        scan(&app, &token, created["qr_text"].as_str().unwrap()).await
    };
    let (polled, scanned) = tokio::join!(poll, scanning);
    assert_eq!(scanned.status, 200);
    let polled: Value = polled.unwrap().json().await.unwrap();
    assert_eq!(polled["state"], "scanned");

    // Not yet confirmed: nothing to collect.
    let early = portal_call(
        reqwest::Method::POST,
        &format!("/api/v1/login-sessions/{id}/result"),
        me,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(early.status(), 409);
    confirm(&app, &token, &id, &phone, PIN).await.unwrap();
    let result = portal_call(
        reqwest::Method::POST,
        &format!("/api/v1/login-sessions/{id}/result"),
        me,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(result.status(), 200);
    let result: Value = result.json().await.unwrap();
    assert_eq!(
        result["claims"]["certificate_serial"],
        phone.serial.as_str()
    );
    assert!(
        result["claims"]["name"].is_null(),
        "profile was not asked for"
    );
    let claims = app
        .state
        .oidc
        .verify_id_token(result["id_token"].as_str().unwrap(), Some(&client), false)
        .unwrap();
    assert_eq!(
        claims.employer_name.as_deref(),
        Some("昆明测试科技有限公司")
    );
    let again = portal_call(
        reqwest::Method::POST,
        &format!("/api/v1/login-sessions/{id}/result"),
        me,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(again.status(), 409, "collected once");

    // Declined and cancelled sessions.
    let create = || async {
        let created: Value = portal_call(reqwest::Method::POST, "/api/v1/login-sessions", me)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"].as_str().unwrap().to_string()
    };
    let declined = create().await;
    scan(&app, &token, &qr(&app, &declined)).await;
    let denied = app
        .post_json(
            &format!("/api/v1/mp/logins/{declined}/deny"),
            &json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(denied.status, 204);
    let state: Value = portal_call(
        reqwest::Method::GET,
        &format!("/api/v1/login-sessions/{declined}"),
        me,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(state["state"], "denied");
    let cancelled = create().await;
    let cancel = portal_call(
        reqwest::Method::DELETE,
        &format!("/api/v1/login-sessions/{cancelled}"),
        me,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(cancel.status(), 204);
    let late = scan(&app, &token, &qr(&app, &cancelled)).await;
    assert_eq!((late.status, late.code()), (409, "login_already_scanned"));
    // A QR of another host, and a made-up id.
    let foreign = scan(&app, &token, &format!("https://evil.example/q/{cancelled}")).await;
    assert_eq!((foreign.status, foreign.code()), (400, "login_qr_invalid"));
    let unknown = scan(&app, &token, &qr(&app, "AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!((unknown.status, unknown.code()), (404, "login_not_found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn session_creation_is_rate_limited() {
    let app = spawn_app_with(|s| s.login.per_client = 3).await;
    let (client, secret) = portal(&app, ClientKind::Confidential).await;
    let secret = secret.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = browser()
            .post(format!("{}/api/v1/login-sessions", app.address))
            .basic_auth(&client, Some(&secret))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
}

/// Two instances sharing PostgreSQL and Redis (the production setup): a page waiting on one
/// hears a scan and a confirmation made on the other. Needs `DATABASE_URL` and `REDIS_URL`
/// (the second CI pass); the in-process store cannot be shared between instances.
#[tokio::test(flavor = "multi_thread")]
async fn a_scan_on_one_instance_reaches_a_page_waiting_on_another() {
    let (Ok(database), Ok(redis)) = (std::env::var("DATABASE_URL"), std::env::var("REDIS_URL"))
    else {
        eprintln!(
            "two-instance test: runs with DATABASE_URL and REDIS_URL (PostgreSQL + Redis) only"
        );
        return;
    };
    let shared_db = crate::helpers::fresh_postgres(&database).await;
    let prefix = format!("mcert-test:{}:", uuid::Uuid::new_v4().simple());
    let master_key = hex::encode(rand::random::<[u8; 16]>());
    let clock = std::sync::Arc::new(mcert_server::clock::AdjustableClock::new());
    let instance = |public_url: Option<String>| {
        let (shared_db, prefix, master_key, redis) = (
            shared_db.clone(),
            prefix.clone(),
            master_key.clone(),
            redis.clone(),
        );
        crate::helpers::spawn_app_on(clock.clone(), move |s| {
            quick(s);
            s.database_url = Some(secrecy::SecretString::from(shared_db));
            s.redis_url = Some(secrecy::SecretString::from(redis));
            s.kv_prefix = prefix;
            s.master_key = Some(secrecy::SecretString::from(master_key));
            s.public_url = public_url;
        })
    };
    let first = instance(None).await;
    // Behind one load balancer both instances have the same public URL.
    let second = instance(Some(first.address.clone())).await;
    let (client, _) = portal(&first, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&first, "13900139017", "openid-two", PIN).await;
    let (_, challenge) = pkce();
    let page = hosted(&first, &client, &challenge).await;
    let mut events =
        Events::open(&first, &format!("/login/{}/events", page.id), &page.cookie).await;
    assert_eq!(events.next().await.0, "pending");
    let scanned = scan(&second, &token, &qr(&first, &page.id)).await;
    assert_eq!(scanned.status, 200, "{:?}", scanned.body);
    assert_eq!(events.next().await.0, "scanned");
    confirm(&second, &token, &page.id, &phone, PIN)
        .await
        .unwrap();
    assert_eq!(events.next().await.0, "confirmed");
}

/// The development demo portal is a plain relying party: a login through it ends on `/demo`
/// showing the employer's name; logging out returns there signed out.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_portal_shows_the_employer_after_a_qr_login() {
    let app = app().await;
    let (token, phone) = downloaded(&app, "13900139018", "openid-demo", PIN).await;
    let start = page_get(&app, "/demo/login", None).await;
    assert_eq!(start.status(), 303);
    let binding = start.headers()["set-cookie"].to_str().unwrap();
    let binding = binding.split(';').next().unwrap().to_string();
    let authorize_url = location(&start);
    assert!(authorize_url.starts_with(&format!("{}/oauth2/authorize?", app.address)));
    let callback = browser_login(&app, &authorize_url, &token, &phone).await;
    assert!(
        callback.starts_with(&format!("{}/demo/callback?", app.address)),
        "{callback}"
    );
    let landed = browser()
        .get(&callback)
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 303, "{:?}", landed.text().await);
    assert_eq!(location(&landed), "/demo");
    let cookie = landed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("demo_portal_session="))
        .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let home = demo_home(&app, &cookie).await;
    assert!(home.contains("昆明测试科技有限公司"), "{home}");
    assert!(home.contains(&phone.serial));
    // A primary may do every item of the demo portal's catalogue.
    assert!(
        home.contains("单位基础信息维护、单位银行账号信息维护") && home.contains("公共招聘服务"),
        "{home}"
    );
    // A replayed callback does not sign anyone in, even with the cookie of the login.
    let replay = browser()
        .get(&callback)
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    // A forged logout token is refused by the demo's back-channel endpoint; the session stays.
    let forged = browser()
        .post(format!("{}/demo/backchannel-logout", app.address))
        .form(&[("logout_token", "eyJhbGciOiJub25lIn0.e30.")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let home = demo_home(&app, &cookie).await;
    assert!(home.contains("昆明测试科技有限公司"), "{home}");

    // mcert ends the login's session (the certificate is revoked): the demo portal hears it
    // over the back channel and shows the login button again.
    app.revoke(
        &phone.serial,
        mcert_server::ca::RevocationReason::KeyCompromise,
    )
    .await;
    app.state.backchannel.run_once().await.unwrap();
    let home = demo_home(&app, &cookie).await;
    assert!(home.contains("扫码登录"), "{home}");

    let out = page_get(&app, "/demo/logout", Some(&cookie)).await;
    assert_eq!(out.status(), 303);
    let to = location(&out);
    assert!(to.contains("/oauth2/logout?id_token_hint="), "{to}");
    let back = browser().get(&to).send().await.unwrap();
    assert_eq!(location(&back), format!("{}/demo", app.address));
    let home = demo_home(&app, &cookie).await;
    assert!(home.contains("扫码登录"));
}

/// `mcert-server demo` starts with two approved, synced applications of the demo employer (张三's
/// for the primary certificate, 王五's for a sub-certificate), so a newcomer's phones can
/// download at once.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_command_starts_with_an_application_ready_to_download() {
    use mcert_server::demo;
    let app = spawn_app_with(|s| {
        quick(s);
        s.demo = true;
    })
    .await;
    let token = crate::people::mp_session(&app, "openid-newcomer").await;
    let face = format!(
        "dev-pass:{}:{}:openid-newcomer",
        demo::AGENT_NAME,
        demo::AGENT_ID
    );
    let verified =
        crate::people::verify(&app, &token, demo::AGENT_NAME, demo::AGENT_ID, &face).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let bound = crate::people::bind(&app, &token, demo::AGENT_PHONE).await;
    assert_eq!(bound.status, 200, "{:?}", bound.body);
    let employers = app.get_json("/api/v1/mp/employers", &token).await;
    assert_eq!(employers.status, 200, "{:?}", employers.body);
    assert_eq!(employers.body[0]["unit_name"], demo::UNIT_NAME);
    assert_eq!(employers.body[0]["ready"], true);
    // The second application, for a sub-certificate, names 王五 as agent, of the same employer.
    let token = crate::people::mp_session(&app, "openid-second").await;
    let face = format!(
        "dev-pass:{}:{}:openid-second",
        demo::SUB_AGENT_NAME,
        demo::SUB_AGENT_ID
    );
    let verified = crate::people::verify(
        &app,
        &token,
        demo::SUB_AGENT_NAME,
        demo::SUB_AGENT_ID,
        &face,
    )
    .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let bound = crate::people::bind(&app, &token, demo::SUB_PHONE).await;
    assert_eq!(bound.status, 200, "{:?}", bound.body);
    let employers = app.get_json("/api/v1/mp/employers", &token).await;
    assert_eq!(employers.body[0]["unit_name"], demo::UNIT_NAME);
    assert_eq!(employers.body[0]["ready"], true);
}

/// Finding 8: the page is filled once, every value escaped, and its refresh link is rebuilt
/// from the checked parameters. A `state` carrying template syntax and markup (and a parameter
/// mcert does not know) used to render three QR codes and break out of the attributes.
#[tokio::test(flavor = "multi_thread")]
async fn the_login_page_shows_request_values_only_as_escaped_text() {
    let app = app().await;
    let (client, _) = portal(&app, ClientKind::Public).await;
    let (_, challenge) = pkce();
    let evil_state = "X{{qr_svg}}{{ qr_svg|safe }}\"><script>alert(1)</script>";
    let response = authorize(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", evil_state),
            ("nonce", "n-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("extra", "\"><img src=x>{{qr_svg}}"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = page_get(&app, &to, Some(&cookie)).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("<svg").count(), 1, "one QR code");
    assert!(!html.contains("<script>alert"), "markup stays text");
    assert!(
        !html.contains("<img"),
        "the unknown parameter is not on the page"
    );
    assert!(!html.contains("{{"), "nothing is left to fill");

    // The refresh link: mcert's authorize URL with exactly the checked parameters.
    let attribute = "data-restart-url=\"";
    let start = html.find(attribute).unwrap() + attribute.len();
    let escaped = &html[start..start + html[start..].find('"').unwrap()];
    // The attribute as a browser reads it (askama writes numeric references).
    let restart = [
        ("&#38;", "&"),
        ("&amp;", "&"),
        ("&#34;", "\""),
        ("&#39;", "'"),
    ]
    .iter()
    .fold(escaped.to_string(), |text, (entity, c)| {
        text.replace(entity, c)
    });
    assert!(
        restart.starts_with(&format!("{}/oauth2/authorize?", app.address)),
        "{restart}"
    );
    let url = reqwest::Url::parse(&restart).unwrap();
    let names: Vec<String> = url
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method"
        ]
    );
    assert_eq!(query_param(&restart, "state").as_deref(), Some(evil_state));
    // Following it starts the same login again.
    let again = browser().get(&restart).send().await.unwrap();
    assert_eq!(again.status(), 303);
    assert!(location(&again).starts_with("/login/"));
}

/// Finding 10: a session request must be empty (every default) or the documented object; a
/// broken body, an unknown field or a scope the portal may not ask for used to be ignored and
/// the session got every scope of the portal.
#[tokio::test(flavor = "multi_thread")]
async fn embedded_session_requests_that_are_not_the_documented_body_are_refused() {
    let app = app().await;
    let (client, secret) = portal(&app, ClientKind::Confidential).await;
    let secret = secret.unwrap();
    let create = |body: Option<(&'static str, Vec<u8>)>| {
        let mut request = browser()
            .post(format!("{}/api/v1/login-sessions", app.address))
            .basic_auth(&client, Some(&secret));
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    };
    let json_body = |value: Value| Some(("application/json", serde_json::to_vec(&value).unwrap()));
    for (body, status, code) in [
        (
            Some(("application/json", b"{\"scope\": \"openid".to_vec())),
            400,
            "login_request_malformed",
        ),
        (
            Some(("text/plain", b"scope=openid".to_vec())),
            400,
            "login_request_malformed",
        ),
        (
            json_body(json!({ "scopes": "openid" })),
            400,
            "login_request_malformed",
        ),
        (json_body(json!(null)), 400, "login_request_malformed"),
        (
            json_body(json!({ "scope": "openid admin" })),
            400,
            "login_scope_invalid",
        ),
        (
            json_body(json!({ "scope": "profile" })),
            400,
            "login_scope_invalid",
        ),
        (
            json_body(json!({ "scope": "" })),
            400,
            "login_scope_invalid",
        ),
        (
            json_body(json!({ "scope": "openid", "browser_user_agent": "x".repeat(17 * 1024) })),
            413,
            "body_too_large",
        ),
    ] {
        let (got, answer) = create(body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{answer}"
        );
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    // Only an empty body means the defaults; the documented body is taken as it is.
    let (status, _) = create(None).await;
    assert_eq!(status, 201);
    let (status, created) = create(Some(("application/json", b"  \n".to_vec()))).await;
    assert_eq!(status, 201, "{created}");
    let (status, created) = create(json_body(json!({ "scope": "openid" }))).await;
    assert_eq!(status, 201, "{created}");
}

/// The demo portal's `state` is bound to the browser that started the login: an attacker's own
/// callback (their code and state) sent to a victim's browser does not sign the victim in to
/// the attacker's account (login CSRF), whether the victim started a login or not.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_portal_refuses_a_callback_another_browser_started() {
    let app = app().await;
    let (token, phone) = downloaded(&app, "13900139019", "openid-demo-csrf", PIN).await;
    // The attacker starts a login in their browser and stops before their callback.
    let start = page_get(&app, "/demo/login", None).await;
    assert_eq!(start.status(), 303);
    let binding = start.headers()["set-cookie"].to_str().unwrap();
    assert!(binding.starts_with("demo_portal_login="), "{binding}");
    assert!(binding.contains("HttpOnly"), "{binding}");
    let callback = browser_login(&app, &location(&start), &token, &phone).await;
    assert!(callback.contains("/demo/callback?"), "{callback}");

    // The victim's browser: one without a login of its own, one with another login pending.
    let victim = page_get(&app, "/demo/login", None).await;
    let victim_cookie = victim.headers()["set-cookie"].to_str().unwrap();
    let victim_cookie = victim_cookie.split(';').next().unwrap().to_string();
    for cookie in [None, Some(victim_cookie.as_str())] {
        let mut request = browser().get(&callback);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let landed = request.send().await.unwrap();
        assert_eq!(landed.status(), 400, "{cookie:?}");
        let cookies: Vec<_> = landed
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().to_string())
            .collect();
        assert!(
            !cookies
                .iter()
                .any(|c| c.starts_with("demo_portal_session=")),
            "not signed in: {cookies:?}"
        );
        assert!(
            landed
                .text()
                .await
                .unwrap()
                .contains("不是由本浏览器发起的")
        );
    }

    // The attacker's own browser still completes the login it started.
    let attacker_cookie = binding.split(';').next().unwrap().to_string();
    let own = browser()
        .get(&callback)
        .header("cookie", &attacker_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 303, "{:?}", own.text().await);
    assert_eq!(location(&own), "/demo");
}
