//! Health, OpenAPI, JWKS.

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn healthz_reports_database_and_kv() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "status": "ok", "database": "ok", "kv": "ok" })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_describes_every_endpoint() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/healthz",
        "/pki/ca.pem",
        "/pki/crl",
        "/pki/ocsp",
        "/pki/ocsp/{request}",
        "/oauth2/jwks",
        "/.well-known/openid-configuration",
        "/oauth2/authorize",
        "/oauth2/token",
        "/oauth2/userinfo",
        "/oauth2/logout",
        "/login/{id}",
        "/login/{id}/events",
        "/login/{id}/continue",
        "/q/{id}",
        "/api/v1/mp/logins",
        "/api/v1/mp/logins/{id}/confirm",
        "/api/v1/mp/logins/{id}/deny",
        "/api/v1/login-sessions",
        "/api/v1/login-sessions/{id}",
        "/api/v1/login-sessions/{id}/qr.png",
        "/api/v1/login-sessions/{id}/events",
        "/api/v1/login-sessions/{id}/result",
        "/api/v1/enrolments",
        "/api/v1/cosign/{session_id}/partials",
        "/api/v1/cosign/{session_id}/signature",
        "/api/v1/certificates/{serial}/key-checks",
        "/api/v1/certificates/{serial}/key",
        "/dev/enrolment-tickets",
        "/api/v1/captcha",
        "/api/v1/captcha/{id}",
        "/api/v1/otp",
        "/api/v1/applicants/session",
        "/api/v1/applicants/me",
        "/api/v1/uploads",
        "/api/v1/uploads/{id}",
        "/api/v1/uploads/{id}/recognition",
        "/api/v1/applications",
        "/api/v1/applications/{id}",
        "/api/v1/applications/{id}/status",
        "/api/v1/applications/{id}/form.pdf",
        "/api/v1/agreement",
        "/api/v1/applications/{id}/agreement",
        "/api/v1/applications/{id}/enterprise",
        "/api/v1/applications/{id}/agent",
        "/api/v1/applications/{id}/ca",
        "/api/v1/applications/{id}/submit",
        "/api/v1/staff/session",
        "/api/v1/staff/me",
        "/api/v1/staff/applications",
        "/api/v1/staff/applications/{id}",
        "/api/v1/staff/applications/{id}/approve",
        "/api/v1/staff/applications/{id}/reject",
        "/api/v1/staff/uploads/{id}",
        "/api/v1/staff/employers/{uscc}/employee-count",
        "/api/v1/staff/employers/{uscc}/merge",
        "/api/v1/staff/phones/{phone}/unbind",
        "/api/v1/staff/certificates/{serial}/unlock",
        "/api/v1/mp/session",
        "/api/v1/mp/me",
        "/api/v1/mp/real-name",
        "/api/v1/mp/phone-codes",
        "/api/v1/mp/phones",
        "/api/v1/mp/phones/{phone}",
        "/api/v1/mp/employers",
        "/api/v1/mp/downloads",
        "/api/v1/mp/certificates",
        "/api/v1/mp/certificates/{serial}/default",
        "/api/v1/mp/certificates/{serial}/unlock",
        "/api/v1/staff/applications/{id}/sync",
        "/api/v1/applications/{id}/changes",
        "/api/v1/staff/information-changes",
        "/api/v1/staff/information-changes/{id}",
        "/api/v1/staff/information-changes/{id}/approve",
        "/api/v1/staff/information-changes/{id}/reject",
        "/api/v1/mp/certificates/{serial}/renewal",
        "/api/v1/staff/renewals",
        "/api/v1/staff/renewals/{id}/payment",
        "/dev/sms",
        "/api-docs/openapi.json",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jwks_publishes_one_p256_signing_key() {
    let app = spawn_app().await;
    let jwks: serde_json::Value = app.get("/oauth2/jwks").await.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[0]["crv"], "P-256");
    assert_eq!(keys[0]["alg"], "ES256");
    assert_eq!(
        keys[0]["kid"],
        app.state.authority.token_keys().current_kid()
    );
    // The published point is the signing key's.
    use base64::Engine;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(keys[0]["x"].as_str().unwrap())
        .unwrap();
    let point = app
        .state
        .authority
        .token_keys()
        .signing_key()
        .verifying_key()
        .to_encoded_point(false);
    assert_eq!(x.as_slice(), point.x().unwrap().as_slice());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_path_is_404() {
    let app = spawn_app().await;
    assert_eq!(app.get("/no-such-thing").await.status(), 404);
}

/// Every migration has a working `down`: the whole schema is rolled back to nothing and built
/// again, on the database the run uses (SQLite or PostgreSQL).
#[tokio::test(flavor = "multi_thread")]
async fn every_migration_rolls_back_and_applies_again() {
    let app = spawn_app().await;
    let db = app.db().await;
    let status = mcert_server::store::migration_status(&db).await.unwrap();
    assert!(status.iter().all(|(_, applied)| *applied), "{status:?}");
    let count = u32::try_from(status.len()).unwrap();
    mcert_server::store::migrate_down(&db, count).await.unwrap();
    let rolled_back = mcert_server::store::migration_status(&db).await.unwrap();
    assert!(
        rolled_back.iter().all(|(_, applied)| !*applied),
        "{rolled_back:?}"
    );
    mcert_server::store::migrate_up(&db).await.unwrap();
    let again = mcert_server::store::migration_status(&db).await.unwrap();
    assert!(again.iter().all(|(_, applied)| *applied), "{again:?}");
}

/// The OpenAPI document lists every error code, as the type of `ErrorBody.code`, with the HTTP
/// status each comes with; answers use only listed codes.
#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_lists_every_error_code_with_its_status() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ErrorBody"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
    let codes: Vec<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let all: Vec<&str> = mcert_server::failure::code::ALL
        .iter()
        .map(|c| c.name())
        .collect();
    assert_eq!(codes, all);
    let statuses = &schemas["ErrorCode"]["x-error-statuses"];
    for (code, status) in [
        ("pin_incorrect", 403),
        ("key_locked", 423),
        ("login_expired", 410),
        ("otp_resend_too_soon", 429),
        ("upload_too_large", 413),
        ("ocr_not_configured", 501),
        ("internal_error", 500),
    ] {
        assert_eq!(statuses[code], status, "{code}");
    }
    // An answer's code is one of them.
    let unknown = app.get("/api/v1/no-such-endpoint").await;
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert!(codes.contains(&body["code"].as_str().unwrap()), "{body}");
}
