//! What every endpoint does with a request of the wrong form, before any handler of ours
//! decides: a path, query or body that does not parse, a body too large, an unknown endpoint;
//! each answers with the JSON error body `{code, message}` (a stable code, a Chinese message),
//! never actix's plain text. And the headers every `/api/` answer carries.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Status, `Content-Type`, `Cache-Control` and the JSON body of an answer.
async fn answer(response: reqwest::Response) -> (u16, String, String, Value) {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, content_type, cache, body)
}

/// The JSON error body with this code and a Chinese message; `no-store` like every `/api/`
/// answer.
fn assert_error(got: &(u16, String, String, Value), status: u16, code: &str) {
    let (got_status, content_type, cache, body) = got;
    assert_eq!(
        (*got_status, body["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "a Chinese message: {body}"
    );
    assert_eq!(cache, "no-store");
}

async fn get(app: &TestApp, path: &str) -> (u16, String, String, Value) {
    answer(app.get(path).await).await
}

async fn post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, String, Value) {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_paths_queries_and_bodies_get_the_json_error_body() {
    let app = spawn_app().await;

    // An id that is not a number: was actix's "can not parse \"abc\" to a i64".
    let bad_id = get(&app, "/api/v1/applications/abc").await;
    assert_error(&bad_id, 400, "path_invalid");
    assert!(
        !bad_id.3.to_string().contains("can not parse"),
        "{}",
        bad_id.3
    );
    // A query parameter of the wrong type.
    assert_error(
        &get(&app, "/api/v1/staff/applications?page=first").await,
        400,
        "query_invalid",
    );
    // A JSON body over 16 KB: 413, not a 400 about its shape.
    let padding = "x".repeat(17 * 1024);
    let big = serde_json::to_vec(&json!({ "phone": "13600136000", "code": padding })).unwrap();
    assert_error(
        &post(&app, "/api/v1/applicants/session", "application/json", big).await,
        413,
        "body_too_large",
    );
    // Not JSON at all, JSON of the wrong shape, and a form where JSON is expected.
    assert_error(
        &post(
            &app,
            "/api/v1/applicants/session",
            "application/json",
            b"{\"phone\":".to_vec(),
        )
        .await,
        400,
        "bad_request",
    );
    assert_error(
        &post(
            &app,
            "/api/v1/applicants/session",
            "application/json",
            br#"{"phone":"13600136000","code":"123456","admin":true}"#.to_vec(),
        )
        .await,
        400,
        "bad_request",
    );
    assert_error(
        &post(
            &app,
            "/api/v1/applicants/session",
            "application/x-www-form-urlencoded",
            b"phone=13600136000&code=123456".to_vec(),
        )
        .await,
        415,
        "content_type_unsupported",
    );
    // An endpoint that does not exist, and one asked with a method it does not take.
    assert_error(
        &get(&app, "/api/v1/no-such-thing").await,
        404,
        "endpoint_not_found",
    );
    let put = app
        .client
        .put(format!("{}/api/v1/agreement", app.address))
        .send()
        .await
        .unwrap();
    // (actix matches a method as part of the route: no route, no endpoint.)
    assert_error(&answer(put).await, 404, "endpoint_not_found");
}

/// The mini-program's answers carry personal data (the person, their phones and certificates,
/// the session token): no cache may keep them, errors included.
#[tokio::test(flavor = "multi_thread")]
async fn api_answers_are_never_cached() {
    let app = spawn_app().await;
    let signed = post(
        &app,
        "/api/v1/mp/session",
        "application/json",
        serde_json::to_vec(&json!({ "code": "dev:openid-cache" })).unwrap(),
    )
    .await;
    assert_eq!(signed.0, 201, "{:?}", signed);
    assert_eq!(signed.2, "no-store");
    let token = signed.3["token"].as_str().unwrap();
    let me = app
        .client
        .get(format!("{}/api/v1/mp/me", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_error(&answer(me).await, 404, "person_not_verified");
    let agreement = get(&app, "/api/v1/agreement").await;
    assert_eq!((agreement.0, agreement.2.as_str()), (200, "no-store"));
    // Outside /api/ caching stays the endpoint's choice (public keys may be cached).
    let jwks = app.get("/oauth2/jwks").await;
    assert_eq!(jwks.headers()["cache-control"], "max-age=300, public");
}
