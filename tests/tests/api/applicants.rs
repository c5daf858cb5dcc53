//! Phone sign-in, first half: the slider check and SMS codes through the HTTP API, with the
//! development SMS outbox standing in for the phone.

use mcert_server::captcha::work_bits;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// A drag that speeds up then slows down, as a hand does.
fn human_drag(width: u64) -> Value {
    let points: Vec<Value> = (0..=30u32)
        .map(|i| {
            let f = f64::from(i) / 30.0;
            json!({ "t": u64::from(i) * 25, "x": f * f * (3.0 - 2.0 * f) * width as f64 })
        })
        .collect();
    Value::Array(points)
}

pub async fn pass(app: &TestApp) -> String {
    let challenge = app.post_json("/api/v1/captcha", &json!({}), None).await;
    assert_eq!(challenge.status, 201, "{:?}", challenge.body);
    let id = challenge.body["id"].as_str().unwrap();
    let bits = challenge.body["difficulty_bits"].as_u64().unwrap() as u32;
    let nonce = (0u64..)
        .map(|n| n.to_string())
        .find(|nonce| work_bits(id, nonce) >= bits)
        .unwrap();
    let width = challenge.body["track_width"].as_u64().unwrap();
    let answer = app
        .post_json(
            &format!("/api/v1/captcha/{id}"),
            &json!({ "nonce": nonce, "track": human_drag(width) }),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["captcha_pass"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_is_sent_only_after_the_slider_check_and_not_twice_a_minute() {
    let app = spawn_app().await;
    let request = |pass: &str| json!({ "phone": "13800138000", "purpose": "applicant_login", "captcha_pass": pass });

    let refused = app.post_json("/api/v1/otp", &request("forged"), None).await;
    assert_eq!((refused.status, refused.code()), (400, "captcha_required"));

    let first = pass(&app).await;
    let sent = app.post_json("/api/v1/otp", &request(&first), None).await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(sent.body["resend_after_secs"], 60);
    let texts = sms_texts(&app, "13800138000").await;
    let text = &texts[0];
    assert!(
        text.contains("验证码") && text.chars().filter(char::is_ascii_digit).count() >= 6,
        "{text}"
    );

    // A pass is single use; a new pass cannot beat the one-minute resend limit.
    let reused = app.post_json("/api/v1/otp", &request(&first), None).await;
    assert_eq!(reused.code(), "captcha_required");
    let second = pass(&app).await;
    let soon = app.post_json("/api/v1/otp", &request(&second), None).await;
    assert_eq!((soon.status, soon.code()), (429, "otp_resend_too_soon"));
    assert!(soon.body["message"].as_str().unwrap().contains("秒后再试"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_answer_or_a_bad_phone_gets_a_clear_error() {
    let app = spawn_app().await;
    let challenge = app.post_json("/api/v1/captcha", &json!({}), None).await;
    let id = challenge.body["id"].as_str().unwrap();
    // No proof of work and a scripted drag.
    let scripted: Vec<Value> = (0..=30)
        .map(|i| json!({ "t": i * 25, "x": i * 10 }))
        .collect();
    let failed = app
        .post_json(
            &format!("/api/v1/captcha/{id}"),
            &json!({ "nonce": "0", "track": scripted }),
            None,
        )
        .await;
    assert_eq!((failed.status, failed.code()), (400, "captcha_failed"));
    // The challenge is spent.
    let again = app
        .post_json(
            &format!("/api/v1/captcha/{id}"),
            &json!({ "nonce": "0", "track": [] }),
            None,
        )
        .await;
    assert_eq!((again.status, again.code()), (404, "captcha_expired"));

    let good = pass(&app).await;
    let bad_phone = app
        .post_json(
            "/api/v1/otp",
            &json!({ "phone": "1380013800", "purpose": "applicant_login", "captcha_pass": good }),
            None,
        )
        .await;
    assert_eq!(bad_phone.status, 400, "{:?}", bad_phone.body);
    assert!(
        bad_phone.code().starts_with("phone"),
        "{:?}",
        bad_phone.body
    );
}

/// Requests a code for `phone` and reads it from the development outbox.
async fn code_for(app: &TestApp, phone: &str) -> String {
    let pass = pass(app).await;
    let sent = app
        .post_json(
            "/api/v1/otp",
            &json!({ "phone": phone, "purpose": "applicant_login", "captcha_pass": pass }),
            None,
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    latest_code(app, phone).await
}

/// The texts sent to `phone`, newest first, from the development outbox.
pub async fn sms_texts(app: &TestApp, phone: &str) -> Vec<String> {
    let outbox = app
        .client
        .get(format!("{}/dev/sms?phone={phone}", app.address))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    outbox
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

/// The code in the latest one-time-code message to `phone` in the development outbox (notices
/// the outbox worker sends meanwhile are passed over).
pub async fn latest_code(app: &TestApp, phone: &str) -> String {
    let texts = sms_texts(app, phone).await;
    let text = texts
        .iter()
        .find(|text| text.contains("验证码"))
        .expect("a code was sent");
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(digits.len(), 6, "{text}");
    digits
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_sign_in_registers_and_the_session_works_until_sign_out() {
    let app = spawn_app().await;
    let phone = "13700137000";
    let code = code_for(&app, phone).await;

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = app
        .post_json(
            "/api/v1/applicants/session",
            &json!({ "phone": phone, "code": wrong }),
            None,
        )
        .await;
    assert_eq!((refused.status, refused.code()), (400, "otp_incorrect"));
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("还可输入 4 次")
    );

    let signed_in = app
        .post_json(
            "/api/v1/applicants/session",
            &json!({ "phone": phone, "code": code }),
            None,
        )
        .await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(signed_in.body["registered"], true);
    assert_eq!(signed_in.body["applicant"]["phone"], "137****7000");
    let token = signed_in.body["token"].as_str().unwrap().to_string();

    // The code was used up.
    let replay = app
        .post_json(
            "/api/v1/applicants/session",
            &json!({ "phone": phone, "code": code }),
            None,
        )
        .await;
    assert_eq!(replay.code(), "otp_expired");

    let me = app.get_json("/api/v1/applicants/me", &token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], signed_in.body["applicant"]["id"]);
    let forged = app.get_json("/api/v1/applicants/me", "forged").await;
    assert_eq!(
        (forged.status, forged.body["code"].as_str()),
        (401, Some("not_signed_in"))
    );

    let out = app
        .client
        .delete(format!("{}/api/v1/applicants/session", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    let after = app.get_json("/api/v1/applicants/me", &token).await;
    assert_eq!(after.status, 401);
}

/// A signed-in applicant's bearer token.
pub async fn signed_in(app: &TestApp, phone: &str) -> String {
    let code = code_for(app, phone).await;
    let answer = app
        .post_json(
            "/api/v1/applicants/session",
            &json!({ "phone": phone, "code": code }),
            None,
        )
        .await;
    answer.body["token"].as_str().unwrap().to_string()
}

/// The smallest valid PNG (1×1).
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

pub async fn upload(
    app: &TestApp,
    token: &str,
    purpose: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("purpose", purpose.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    let response = app
        .client
        .post(format!("{}/api/v1/uploads", app.address))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn images_are_accepted_by_content_and_shown_only_to_their_owner() {
    let app = spawn_app().await;
    let owner = signed_in(&app, "13600136000").await;

    let (status, body) = upload(&app, &owner, "licence", "licence.png", TINY_PNG.to_vec()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["content_type"], "image/png");
    assert_eq!(body["size"], TINY_PNG.len());
    let id = body["id"].as_str().unwrap().to_string();

    let fetched = app
        .client
        .get(format!("{}/api/v1/uploads/{id}", app.address))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), TINY_PNG);

    // A PDF renamed .jpg, an oversized file, an unknown purpose, no session.
    let (status, body) = upload(
        &app,
        &owner,
        "licence",
        "licence.jpg",
        b"%PDF-1.7\n%...".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("upload_not_image"))
    );
    let mut big = TINY_PNG.to_vec();
    big.resize(6 * 1024 * 1024 + 1, 0);
    let (status, body) = upload(&app, &owner, "licence", "big.png", big).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("upload_too_large"))
    );
    let (status, body) = upload(&app, &owner, "selfie", "a.png", TINY_PNG.to_vec()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("upload_purpose_unknown"))
    );
    let (status, _) = upload(&app, "forged", "licence", "a.png", TINY_PNG.to_vec()).await;
    assert_eq!(status, 401);

    // Another applicant cannot see it.
    let stranger = signed_in(&app, "13600136001").await;
    let hidden = app
        .client
        .get(format!("{}/api/v1/uploads/{id}", app.address))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status().as_u16(), 404);
}

/// `TINY_PNG` with a header declaring `width` × `height` pixels (its CRC fixed, so that only
/// the size is wrong).
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut png = TINY_PNG.to_vec();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in &png[12..29] {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    png[29..33].copy_from_slice(&(!crc).to_be_bytes());
    png
}

async fn send_form(app: &TestApp, token: &str, form: reqwest::multipart::Form) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/api/v1/uploads", app.address))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn file_part(bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name("scan.png")
}

/// Finding 11: a small file declaring a huge image, several files in one request, and more
/// uploads a day than an application needs are refused, and nothing of them is stored.
#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_limited_in_pixels_fields_request_size_and_count() {
    let app = spawn_app_with(|s| s.upload_limits.per_applicant_per_day = 3).await;
    let owner = signed_in(&app, "13600136002").await;

    // 50000 × 50000 in a 70-byte PNG (10 GB once decoded); and over the total with sides
    // allowed.
    for (width, height) in [(50_000, 50_000), (9_000, 9_000)] {
        let (status, body) = upload(
            &app,
            &owner,
            "licence",
            "huge.png",
            png_declaring(width, height),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("upload_dimensions_too_large")),
            "{width}×{height}: {body}"
        );
    }
    // Four 5 MB files in one request: refused whole, by its length, before they are read.
    let mut form = reqwest::multipart::Form::new().text("purpose", "licence");
    for _ in 0..4 {
        let mut five_mb = TINY_PNG.to_vec();
        five_mb.resize(5 * 1024 * 1024, 0);
        form = form.part("file", file_part(five_mb));
    }
    let (status, body) = send_form(&app, &owner, form).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("upload_request_too_large")),
        "{body}"
    );
    // Two small files, or the purpose twice: exactly one of each.
    let two_files = reqwest::multipart::Form::new()
        .text("purpose", "licence")
        .part("file", file_part(TINY_PNG.to_vec()))
        .part("file", file_part(TINY_PNG.to_vec()));
    let two_purposes = reqwest::multipart::Form::new()
        .text("purpose", "licence")
        .text("purpose", "id_front")
        .part("file", file_part(TINY_PNG.to_vec()));
    for form in [two_files, two_purposes] {
        let (status, body) = send_form(&app, &owner, form).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("upload_fields_invalid")),
            "{body}"
        );
    }

    // Refused files did not count; three a day are stored, the fourth is refused.
    for _ in 0..3 {
        let (status, body) = upload(&app, &owner, "licence", "a.png", TINY_PNG.to_vec()).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = upload(&app, &owner, "licence", "a.png", TINY_PNG.to_vec()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("upload_daily_limit")),
        "{body}"
    );
    // Another applicant has their own allowance.
    let other = signed_in(&app, "13600136003").await;
    let (status, _) = upload(&app, &other, "licence", "a.png", TINY_PNG.to_vec()).await;
    assert_eq!(status, 201);

    use sea_orm::{ConnectionTrait as _, Statement};
    let db = app.db().await;
    let stored = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM uploads".to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    let count: i64 = stored.try_get("", "n").unwrap();
    assert_eq!(count, 4, "only the accepted files are stored");
}
