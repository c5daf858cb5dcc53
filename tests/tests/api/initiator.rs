//! The attacks of a relayed QR code and of a load balancer in front of mcert: the phone sees
//! where and when a login was started (through the trusted proxies, located with the published
//! ip2region database), the facts are signed into the login challenge and the audit, a wrong
//! tap in number matching ends the login, and rate limits count the client behind the proxy,
//! per browser as well as per address — while a client that is not behind a trusted proxy
//! cannot choose the address it is counted under.

use mcert_server::portals::ClientKind;
use mcert_signer::message::SignedMessage;
use serde_json::{Value, json};

use crate::{
    applicants::pass,
    downloads::downloaded,
    helpers::{TestApp, spawn_app_with},
    login::{
        Events, PIN, REDIRECT, browser, location, page_code, page_get, pkce, portal, qr,
        query_param, tap,
    },
    phone::{Answer, unb64},
};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// The 114DNS resolver: Nanjing, Jiangsu in the published database.
const NANJING: &str = "114.114.114.114";
/// An address the published database places in Kunming, Yunnan.
const KUNMING: &str = "222.172.200.68";

fn published_xdb() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("browser/node_modules/ip2region-ts/data/ip2region.xdb")
}

/// The server behind a load balancer on loopback, with the published IP database.
async fn behind_proxy() -> TestApp {
    spawn_app_with(|s| {
        s.agreement_countdown_secs = 1;
        s.otp_limits.resend_interval = std::time::Duration::from_millis(1);
        s.trusted_proxies = vec!["127.0.0.1".into()];
        s.ip_region_db = Some(published_xdb());
    })
    .await
}

/// A hosted login started by a browser at `address` (as the proxy forwards it), with Chrome's
/// user agent: the page's id, its cookie and the browser-id cookie.
async fn started_from(
    app: &TestApp,
    client: &str,
    address: &str,
    browser_id: Option<&str>,
) -> reqwest::Response {
    let (_, challenge) = pkce();
    let mut request = browser()
        .get(format!("{}/oauth2/authorize", app.address))
        .query(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "st-relay"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .header("user-agent", CHROME)
        .header("x-forwarded-for", address);
    if let Some(id) = browser_id {
        request = request.header("cookie", format!("mcert_browser={id}"));
    }
    request.send().await.unwrap()
}

/// The phone scans `id` from `address` (as the proxy forwards it).
async fn scan_from(app: &TestApp, token: &str, id: &str, address: &str) -> Answer {
    let response = app
        .client
        .post(format!("{}/api/v1/mp/logins", app.address))
        .bearer_auth(token)
        .header("x-forwarded-for", address)
        .json(&json!({ "qr": qr(app, id) }))
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

fn login_id(response: &reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), 303);
    let id = location(response)
        .strip_prefix("/login/")
        .unwrap()
        .to_string();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("mcert_login="))
        .unwrap();
    (id, cookie)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relayed_qr_shows_where_it_was_started_and_a_wrong_tap_ends_it() {
    let app = behind_proxy().await;
    let (client, _) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139050", "openid-relay", PIN).await;

    // A phishing site in Nanjing opens the real login and relays its QR code to the victim,
    // whose phone is in Kunming.
    let (id, _) = login_id(&started_from(&app, &client, NANJING, None).await);
    let scanned = scan_from(&app, &token, &id, KUNMING).await;
    assert_eq!(scanned.status, 200, "{:?}", scanned.body);
    let initiator = &scanned.body["initiator"];
    assert_eq!(initiator["location"], "江苏南京", "{initiator}");
    assert_eq!(initiator["address"], "114.114.114.*");
    assert_eq!(initiator["browser"], "Chrome");
    assert_eq!(initiator["summary"], "江苏南京 · 114.114.114.* · Chrome");
    let warning = scanned.body["region_warning"].as_str().unwrap();
    assert!(
        warning.contains("江苏南京") && warning.contains("云南昆明") && warning.contains("拒绝"),
        "{warning}"
    );

    // The person taps a number the page does not show: the login ends, on the page too.
    let right = page_code(&app, &id).await;
    let wrong = scanned.body["match_choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .find(|c| *c != right)
        .unwrap();
    let refused = tap(&app, &token, &id, &phone.serial, &wrong).await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "login_match_wrong"),
        "{:?}",
        refused.body
    );
    assert_eq!(
        app.state.logins.get(&id).await.unwrap().state.as_str(),
        "mismatched"
    );
    let late = tap(&app, &token, &id, &phone.serial, &right).await;
    assert_eq!(
        (late.status, late.code()),
        (409, "login_state"),
        "a wrong tap is final"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_initiator_is_signed_into_the_challenge_and_the_audit() {
    let app = behind_proxy().await;
    let (client, _) = portal(&app, ClientKind::Confidential).await;
    let (token, phone) = downloaded(&app, "13900139051", "openid-genuine", PIN).await;

    let started = started_from(&app, &client, KUNMING, None).await;
    let (id, cookie) = login_id(&started);
    let mut events = Events::open(&app, &format!("/login/{id}/events"), &cookie).await;
    assert_eq!(events.next().await.0, "pending");
    let scanned = scan_from(&app, &token, &id, KUNMING).await;
    assert_eq!(scanned.status, 200, "{:?}", scanned.body);
    assert!(scanned.body["region_warning"].is_null(), "same province");
    assert_eq!(
        scanned.body["initiator"]["summary"],
        "云南昆明 · 222.172.200.* · Chrome"
    );

    // The challenge the phone signs names where and when the login was started.
    let opened = tap(
        &app,
        &token,
        &id,
        &phone.serial,
        &page_code(&app, &id).await,
    )
    .await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    let Ok(SignedMessage::LoginChallenge(challenge)) =
        SignedMessage::decode(&unb64(&opened.body["message"]))
    else {
        panic!("not a login challenge");
    };
    assert_eq!(challenge.initiator, "云南昆明 · 222.172.200.* · Chrome");
    let session = app.state.logins.get(&id).await.unwrap();
    assert_eq!(challenge.initiated_at, session.initiator.at.timestamp());
    assert_eq!(challenge.match_code, session.match_code);
    app.cosign(&opened.body, &phone.public_key, &phone.share, PIN)
        .await
        .unwrap();
    assert_eq!(events.next().await.0, "scanned");
    assert_eq!(events.next().await.0, "confirmed");

    // The audit log has the full address the login came from.
    let entries = app.state.store.audit_entries(0, 500).await.unwrap();
    let confirmed = entries
        .iter()
        .find(|e| e.action == "login.confirm" && e.subject == format!("login:{id}"))
        .expect("the confirmation is audited");
    let detail: Value = serde_json::from_str(&confirmed.detail).unwrap();
    assert_eq!(detail["initiator"]["address"], KUNMING);
    assert_eq!(detail["initiator"]["location"], "云南昆明");
    assert_eq!(detail["serial"], phone.serial.as_str());

    // A mismatched login sends the browser back with access_denied.
    let (id, cookie) = login_id(&started_from(&app, &client, KUNMING, None).await);
    assert_eq!(scan_from(&app, &token, &id, KUNMING).await.status, 200);
    let right = page_code(&app, &id).await;
    let wrong = if right == "00" { "01" } else { "00" };
    assert_eq!(
        tap(&app, &token, &id, &phone.serial, wrong).await.status,
        403
    );
    let back = page_get(&app, &format!("/login/{id}/continue"), Some(&cookie)).await;
    assert_eq!(back.status(), 303);
    let to = location(&back);
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&to, "state").as_deref(), Some("st-relay"));
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_count_the_client_behind_the_proxy_and_each_browser() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1".into()];
        s.login.per_address = 4;
        s.login.per_browser = 2;
        s.otp_limits.per_address_per_hour = 2;
        s.otp_limits.resend_interval = std::time::Duration::from_millis(1);
    })
    .await;
    let (client, _) = portal(&app, ClientKind::Confidential).await;
    let refused = |response: &reqwest::Response| {
        response.status() == 303 && location(response).contains("error=temporarily_unavailable")
    };

    // One browser (its id cookie) uses up its own share, not the address's.
    let first = started_from(&app, &client, "1.1.1.1", None).await;
    let browser_id = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mcert_browser="))
        .expect("a new browser gets an id");
    assert!(browser_id.contains("HttpOnly"), "{browser_id}");
    let browser_id = browser_id
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("mcert_browser=")
        .to_string();
    let second = started_from(&app, &client, "1.1.1.1", Some(&browser_id)).await;
    assert!(!refused(&second));
    let third = started_from(&app, &client, "1.1.1.1", Some(&browser_id)).await;
    assert!(refused(&third), "the browser's share is used up");
    // Other browsers at the same address go on, up to the address's share.
    assert!(!refused(
        &started_from(&app, &client, "1.1.1.1", None).await
    ));
    assert!(refused(&started_from(&app, &client, "1.1.1.1", None).await));
    // Another client behind the same proxy is counted on its own.
    assert!(!refused(
        &started_from(&app, &client, "2.2.2.2", None).await
    ));

    // SMS codes too: the per-address limit is the client's, not the proxy's.
    let send = |address: &'static str, phone: &'static str| {
        let app = &app;
        async move {
            let pass = pass(app).await;
            app.client
                .post(format!("{}/api/v1/otp", app.address))
                .header("x-forwarded-for", address)
                .json(
                    &json!({ "phone": phone, "purpose": "applicant_login", "captcha_pass": pass }),
                )
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(send("1.1.1.1", "13700137101").await.status(), 201);
    assert_eq!(send("1.1.1.1", "13700137102").await.status(), 201);
    let limited = send("1.1.1.1", "13700137103").await;
    assert_eq!(limited.status(), 429);
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "otp_address_limit");
    assert_eq!(send("2.2.2.2", "13700137104").await.status(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_trusted_proxy_the_forwarded_header_is_ignored() {
    let app = spawn_app_with(|s| {
        s.agreement_countdown_secs = 1;
        s.otp_limits.resend_interval = std::time::Duration::from_millis(1);
        s.login.per_address = 3;
        s.login.per_browser = 100;
    })
    .await;
    let (client, _) = portal(&app, ClientKind::Confidential).await;
    // The phone is shown the real address, not the one the page's request claimed.
    let (token, _) = downloaded(&app, "13900139052", "openid-direct", PIN).await;
    let (id, _) = login_id(&started_from(&app, &client, "5.5.5.5", None).await);
    let scanned = scan_from(&app, &token, &id, "6.6.6.6").await;
    assert_eq!(scanned.status, 200, "{:?}", scanned.body);
    assert_eq!(scanned.body["initiator"]["address"], "127.0.0.*");
    assert!(
        scanned.body["initiator"]["location"].is_null(),
        "no database configured"
    );
    // A client rotating X-Forwarded-For is still counted under its own address.
    for (n, forged) in ["5.5.5.1", "5.5.5.2", "5.5.5.3"].iter().enumerate() {
        let response = started_from(&app, &client, forged, None).await;
        let limited = location(&response).contains("error=temporarily_unavailable");
        assert_eq!(limited, n == 2, "attempt {n}");
    }
}
