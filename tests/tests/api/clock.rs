//! The development clock (`MCERT_DEV_CLOCK`): `GET /dev/clock` shows the server's time and
//! `POST /dev/clock` moves it forward, and what runs on time moves with it (an SMS resend
//! minute, a QR code's two minutes); refused moves, and off unless asked for.

use mcert_server::portals::ClientKind;
use serde_json::{Value, json};

use crate::{
    applicants::pass,
    helpers::{TestApp, spawn_app, spawn_app_with},
    login::{browser, portal},
    phone::Answer,
};

async fn dev_clock_app() -> TestApp {
    spawn_app_with(|s| s.dev_clock = true).await
}

async fn clock(app: &TestApp) -> Answer {
    Answer::of(app.get("/dev/clock").await).await
}

async fn advance(app: &TestApp, body: Value) -> Answer {
    app.post_json("/dev/clock", &body, None).await
}

/// Asks for an applicant sign-in code for `phone` after a slider pass.
async fn send_code(app: &TestApp, phone: &str) -> Answer {
    let pass = pass(app).await;
    app.post_json(
        "/api/v1/otp",
        &json!({ "phone": phone, "purpose": "applicant_login", "captcha_pass": pass }),
        None,
    )
    .await
}

fn time(answer: &Answer) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(answer.body["now"].as_str().unwrap())
        .unwrap()
        .to_utc()
}

#[tokio::test(flavor = "multi_thread")]
async fn moving_the_clock_passes_an_sms_minute_and_a_qr_code_s_two_minutes() {
    let app = dev_clock_app().await;
    let start = clock(&app).await;
    assert_eq!(start.status, 200, "{:?}", start.body);
    assert_eq!(start.body["offset_secs"], 0);

    // One code a minute: the second is refused until the clock has moved a minute on.
    assert_eq!(send_code(&app, "13800138090").await.status, 201);
    let soon = send_code(&app, "13800138090").await;
    assert_eq!((soon.status, soon.code()), (429, "otp_resend_too_soon"));
    let moved = advance(&app, json!({ "advance_secs": 61 })).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["offset_secs"], 61);
    assert!(time(&moved) >= time(&start) + chrono::TimeDelta::seconds(61));
    assert_eq!(send_code(&app, "13800138090").await.status, 201);

    // A QR code lasts two minutes of the server's time.
    let (client, secret) = portal(&app, ClientKind::Confidential).await;
    let session = |method: reqwest::Method, path: &str| {
        browser()
            .request(method, format!("{}{path}", app.address))
            .basic_auth(&client, secret.as_deref())
    };
    let created = Answer::of(
        session(reqwest::Method::POST, "/api/v1/login-sessions")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let status_path = format!(
        "/api/v1/login-sessions/{}",
        created.body["id"].as_str().unwrap()
    );
    let status = |path: String| async move {
        Answer::of(session(reqwest::Method::GET, &path).send().await.unwrap()).await
    };
    assert_eq!(status(status_path.clone()).await.body["state"], "pending");
    advance(&app, json!({ "advance_secs": 121 })).await;
    assert_eq!(status(status_path).await.body["state"], "expired");
    assert_eq!(clock(&app).await.body["offset_secs"], 182);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clock_moves_forward_only_and_at_most_400_days() {
    let app = dev_clock_app().await;

    for refused in [json!({ "advance_secs": 0 }), json!({ "advance_secs": -5 })] {
        let answer = advance(&app, refused).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "dev_clock_not_forward"),
            "{:?}",
            answer.body
        );
        assert!(answer.body["message"].as_str().unwrap().contains("向前"));
    }
    let days = |n: i64| n * 86_400;
    assert_eq!(
        advance(&app, json!({ "advance_secs": days(399) }))
            .await
            .status,
        200
    );
    for too_far in [days(1) + 1, i64::MAX] {
        let answer = advance(&app, json!({ "advance_secs": too_far })).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "dev_clock_too_far"),
            "{:?}",
            answer.body
        );
        assert!(answer.body["message"].as_str().unwrap().contains("400 天"));
    }
    assert_eq!(clock(&app).await.body["offset_secs"], days(399));
    assert_eq!(
        advance(&app, json!({ "advance_secs": days(1) }))
            .await
            .status,
        200
    );
    let shape = advance(&app, json!({ "advance_secs": "61" })).await;
    assert_eq!((shape.status, shape.code()), (400, "bad_request"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_development_clock_is_off_unless_asked_for() {
    let app = spawn_app().await;
    let shown = clock(&app).await;
    assert_eq!((shown.status, shown.code()), (404, "dev_clock_off"));
    let moved = advance(&app, json!({ "advance_secs": 61 })).await;
    assert_eq!((moved.status, moved.code()), (404, "dev_clock_off"));
    assert!(
        moved.body["message"]
            .as_str()
            .unwrap()
            .contains("MCERT_DEV_CLOCK")
    );

    let production = spawn_app_with(|s| s.dev_mode = false).await;
    assert_eq!(production.get("/dev/clock").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_development_clock_needs_development_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = mcert_server::configuration::Settings::for_tests(dir.path());
    settings.dev_clock = true;

    let error = match mcert_server::startup::Application::build(settings).await {
        Ok(_) => panic!("a server with a movable clock started outside development mode"),
        Err(error) => format!("{error:#}"),
    };

    assert!(error.contains("MCERT_DEV_CLOCK"), "{error}");
    assert!(error.contains("MCERT_DEV_MODE"), "{error}");
}
