//! Certificate download in the mini-program end to end: an approved, synced application; the
//! agent signs in, passes real-name verification, binds the application's phone, downloads with
//! the split-key enrolment; a new phone replaces the old one; concurrent downloads of one
//! application leave exactly one certificate. The employment platform (a fake on loopback)
//! learns of each activation and revocation.

use mcert_server::audit::Actor;
use mcert_server::{
    ca::{CertificateStatus, Role},
    domain::CertificateSerial,
};
use mcert_signer::share::{MaskedShare, generate_share};
use mcert_testkit::FakeHttp;
use serde_json::{Value, json};

use crate::{
    applicants::{latest_code, sms_texts},
    applications::{approve, billing_of, submitted},
    helpers::{TestApp, app_without_workers, openssl, s},
    people::{ZHANG_ID, bind, mp_session, verify},
    phone::{TestPhone, b64, entropy, unb64},
};

/// Starts a download of application `id` with a new share under `pin`: (share, the answer).
async fn start(
    app: &TestApp,
    token: &str,
    id: i64,
    pin: &str,
) -> (MaskedShare, crate::phone::Answer) {
    start_with(app, token, id, pin, None).await
}

/// [`start`] with the re-verification a download again needs.
async fn start_with(
    app: &TestApp,
    token: &str,
    id: i64,
    pin: &str,
    reverification: Option<Value>,
) -> (MaskedShare, crate::phone::Answer) {
    let (share, p1) = generate_share(&entropy(), pin.as_bytes()).unwrap();
    let p1 = sm2::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&p1, false);
    let mut body = json!({ "application_id": id, "p1": b64(p1.as_bytes()) });
    if let Some(proof) = reverification {
        body["reverification"] = proof;
    }
    let answer = app
        .post_json("/api/v1/mp/downloads", &body, Some(token))
        .await;
    (share, answer)
}

/// The real-name steps again, as a download again or an unlock needs them: a fresh face result
/// of 张三 by `openid` and a new SMS code to `phone`.
async fn reverification(app: &TestApp, token: &str, openid: &str, phone: &str) -> Value {
    let sent = app
        .post_json(
            "/api/v1/mp/phone-codes",
            &json!({ "phone": phone }),
            Some(token),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    json!({
        "verify_result": format!("dev-pass:张三:{ZHANG_ID}:{openid}"),
        "phone": phone,
        "code": latest_code(app, phone).await,
    })
}

/// Finishes a started download with the phone's PIN: the signature answer or the refusal.
async fn finish(
    app: &TestApp,
    share: &MaskedShare,
    started: &Value,
    pin: &str,
) -> Result<Value, crate::phone::Answer> {
    app.cosign(
        &started["cosign"],
        &unb64(&started["public_key"]),
        share,
        pin,
    )
    .await
}

async fn status_of(app: &TestApp, serial: &str) -> CertificateStatus {
    let serial = CertificateSerial::parse(serial).unwrap();
    app.state
        .authority
        .certificate(&serial)
        .await
        .unwrap()
        .status
}

/// What OpenSSL's OCSP client says of a certificate (PEM): `good` or `revoked`.
pub async fn ocsp(app: &TestApp, name: &str, pem: &str) -> String {
    let (issuing, _) = app.write_chain().await;
    let cert = app.path(name);
    std::fs::write(&cert, pem).unwrap();
    let url = format!("{}/pki/ocsp", app.address);
    let out = openssl(&[
        "ocsp",
        "-issuer",
        s(&issuing),
        "-cert",
        s(&cert),
        "-url",
        &url,
        "-noverify",
    ]);
    // `cert.pem: good`, or `good` on a line of its own after a warning when the server's
    // clock has been moved ahead of this machine's (status times in the future).
    out.lines()
        .filter_map(|line| line.rsplit(": ").next())
        .map(str::trim)
        .find(|status| matches!(*status, "good" | "revoked"))
        .map_or(out.clone(), str::to_string)
}

/// An agent with an active downloaded certificate: the application approved and synced, the
/// agent (张三) signed in as `openid`, verified, with `phone` bound, the download done under
/// `pin`. The app needs the SMS resend interval shortened (the phone gets two codes).
pub async fn downloaded(
    app: &TestApp,
    phone: &str,
    openid: &str,
    pin: &str,
) -> (String, TestPhone) {
    let download = downloaded_application(app, phone, openid, pin).await;
    (download.mp_token, download.phone)
}

/// What [`downloaded`] leaves behind.
pub struct Downloaded {
    /// The applicant's session on the application site (signed in with `phone`).
    pub applicant_token: String,
    /// The application.
    pub application_id: i64,
    /// The agent's mini-program session.
    pub mp_token: String,
    /// The phone with the certificate.
    pub phone: TestPhone,
}

/// [`downloaded`], with the applicant's session and the application too.
pub async fn downloaded_application(
    app: &TestApp,
    phone: &str,
    openid: &str,
    pin: &str,
) -> Downloaded {
    let (applicant_token, application_id) = submitted(app, phone).await;
    approve(app, application_id).await;
    app.state.sync.run_once().await.unwrap();
    let mp_token = mp_session(app, openid).await;
    let face = format!("dev-pass:张三:{ZHANG_ID}:{openid}");
    let verified = verify(app, &mp_token, "张三", ZHANG_ID, &face).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let phone = download_for(app, &mp_token, application_id, phone, pin, None).await;
    Downloaded {
        applicant_token,
        application_id,
        mp_token,
        phone,
    }
}

/// A server pushing to a fake employment platform that accepts everything, with short
/// countdowns and no periodic outbox rounds (tests run them).
pub async fn app_with_platform() -> (TestApp, FakeHttp) {
    let platform = FakeHttp::start(mcert_testkit::Answer::json(
        200,
        r#"{"status":"ok","reference":"JY-7"}"#,
    ))
    .await;
    let app = app_without_workers(Some(&platform)).await;
    (app, platform)
}

/// The signed-in, verified agent `token` binds `phone` (the agent phone of approved, synced
/// application `id`) and downloads the application's certificate under `pin`; `again` is the
/// agent's WeChat `openid` when they hold a certificate of the employer already, which makes a
/// download need the real-name steps again.
pub async fn download_for(
    app: &TestApp,
    token: &str,
    id: i64,
    phone: &str,
    pin: &str,
    again: Option<&str>,
) -> TestPhone {
    let bound = bind(app, token, phone).await;
    assert_eq!(bound.status, 200, "{:?}", bound.body);
    let proof = match again {
        Some(openid) => Some(reverification(app, token, openid, phone).await),
        None => None,
    };
    let (share, started) = start_with(app, token, id, pin, proof).await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let done = finish(app, &share, &started.body, pin).await.unwrap();
    TestPhone {
        share,
        serial: started.body["serial"].as_str().unwrap().to_string(),
        public_key: unb64(&started.body["public_key"]),
        device_token: done["device_token"].as_str().unwrap().to_string(),
    }
}

async fn role_of(app: &TestApp, serial: &str) -> Role {
    let serial = CertificateSerial::parse(serial).unwrap();
    app.state.authority.certificate(&serial).await.unwrap().role
}

/// The certificate events the platform received, in order: (serial, event).
pub fn certificate_events(platform: &FakeHttp) -> Vec<(String, String)> {
    platform
        .received()
        .into_iter()
        .filter(|request| request.target == "/api/ca/certificates")
        .map(|request| {
            let body = request.json();
            (
                body["serial"].as_str().unwrap().to_string(),
                body["event"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The application's certificate events as staff see them: (serial, event, status_zh).
async fn staff_certificate_syncs(
    app: &TestApp,
    staff: &str,
    id: i64,
) -> Vec<(String, String, String)> {
    let detail = app
        .get_json(&format!("/api/v1/staff/applications/{id}"), staff)
        .await;
    detail.body["certificate_syncs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["serial"].as_str().unwrap().to_string(),
                c["event"].as_str().unwrap().to_string(),
                c["status_zh"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_agent_downloads_and_a_new_phone_replaces_the_old_one() {
    let (app, platform) = app_with_platform().await;
    let phone = "13900139000";
    let (applicant, id) = submitted(&app, phone).await;
    let staff = approve(&app, id).await;

    let token = mp_session(&app, "openid-agent").await;
    let ok = verify(
        &app,
        &token,
        "张三",
        ZHANG_ID,
        &format!("dev-pass:张三:{ZHANG_ID}:openid-agent"),
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    // Without a bound phone: 未获取到绑定信息.
    let none = app.get_json("/api/v1/mp/employers", &token).await;
    assert_eq!((none.status, none.code()), (404, "no_binding_info"));
    assert!(
        none.body["message"]
            .as_str()
            .unwrap()
            .starts_with("未获取到绑定信息")
    );
    let bound = bind(&app, &token, phone).await;
    assert_eq!(bound.status, 200, "{:?}", bound.body);

    // Approved but not yet pushed to the employment platform: listed, not ready.
    let list = app.get_json("/api/v1/mp/employers", &token).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    assert_eq!(list.body[0]["application_id"], id);
    assert_eq!(list.body[0]["unit_name"], "昆明测试科技有限公司");
    assert_eq!(list.body[0]["ready"], false);
    let (_, early) = start(&app, &token, id, "123456").await;
    assert_eq!(
        (early.status, early.code()),
        (409, "application_not_synced")
    );
    assert_eq!(app.state.sync.run_once().await.unwrap(), 1);
    let list = app.get_json("/api/v1/mp/employers", &token).await;
    assert_eq!(list.body[0]["ready"], true);

    // The download is the enrolment: the certificate is active only after the co-signature.
    let (share, started) = start(&app, &token, id, "123456").await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let first = started.body["serial"].as_str().unwrap().to_string();
    assert_eq!(status_of(&app, &first).await, CertificateStatus::Pending);
    let done = finish(&app, &share, &started.body, "123456").await.unwrap();
    assert_eq!(done["purpose"], "key_enrolment");
    let first_pem = done["certificate"].as_str().unwrap().to_string();
    assert_eq!(ocsp(&app, "first.pem", &first_pem).await, "good");
    assert_eq!(status_of(&app, &first).await, CertificateStatus::Active);
    assert_eq!(
        role_of(&app, &first).await,
        Role::Primary,
        "the employer's first"
    );
    // The applicant's status table shows it (证书状态).
    let progress = app
        .get_json(&format!("/api/v1/applications/{id}/status"), &applicant)
        .await;
    assert_eq!(
        progress.body["certificate"]["label"], "已激活",
        "{:?}",
        progress.body
    );
    // Staff see it too.
    let detail = app
        .get_json(&format!("/api/v1/staff/applications/{id}"), &staff)
        .await;
    assert_eq!(detail.body["progress"]["certificate"]["label"], "已激活");

    // The activation is queued with it and reaches the employment platform.
    let activated = |serial: &str| (serial.to_string(), "activated".to_string());
    assert_eq!(
        staff_certificate_syncs(&app, &staff, id).await,
        [(
            first.clone(),
            "activated".into(),
            "证书数据同步：数据未同步".into()
        )]
    );
    assert_eq!(app.state.sync.run_once().await.unwrap(), 1);
    assert_eq!(certificate_events(&platform), [activated(&first)]);
    let pushed = platform.received().pop().unwrap().json();
    assert_eq!(
        (&pushed["application_id"], &pushed["holder_phone"]),
        (&json!(id), &json!(phone))
    );
    assert_eq!(
        (&pushed["uscc"], &pushed["role"]),
        (&json!("91440300708461136T"), &json!("primary"))
    );
    assert_eq!(
        staff_certificate_syncs(&app, &staff, id).await[0].2,
        "证书数据同步：数据已同步"
    );

    // Someone else verified, but not the agent of any application: nothing to download.
    let stranger = mp_session(&app, "openid-stranger").await;
    let other_id = "110105198001010032";
    verify(
        &app,
        &stranger,
        "王五",
        other_id,
        &format!("dev-pass:王五:{other_id}:openid-stranger"),
    )
    .await;
    let (_, refused) = start(&app, &stranger, id, "654321").await;
    assert_eq!((refused.status, refused.code()), (404, "no_binding_info"));

    // A new phone downloads again: it needs the real-name steps again (the session alone is
    // refused), and the old phone's certificate is revoked once the new one is active.
    let (_, refused) = start(&app, &token, id, "222222").await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "download_reverification_required")
    );
    let proof = reverification(&app, &token, "openid-agent", phone).await;
    let (share, started) = start_with(&app, &token, id, "222222", Some(proof)).await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let second = started.body["serial"].as_str().unwrap().to_string();
    assert_eq!(
        status_of(&app, &first).await,
        CertificateStatus::Active,
        "not before"
    );
    finish(&app, &share, &started.body, "222222").await.unwrap();
    assert_eq!(status_of(&app, &second).await, CertificateStatus::Active);
    assert_eq!(status_of(&app, &first).await, CertificateStatus::Revoked);
    assert_eq!(ocsp(&app, "first.pem", &first_pem).await, "revoked");
    assert_eq!(
        role_of(&app, &second).await,
        Role::Primary,
        "the replacement stays primary"
    );
    // The platform learns of the new certificate and of the old one's revocation.
    assert_eq!(app.state.sync.run_once().await.unwrap(), 2);
    assert_eq!(
        certificate_events(&platform),
        [
            activated(&first),
            activated(&second),
            (first.clone(), "revoked".into())
        ]
    );

    // The downloaded certificates: the replacement active and primary, the old one revoked;
    // the person picks the default.
    let list = app.get_json("/api/v1/mp/certificates", &token).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let rows: Vec<(&str, &str, &str, bool)> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["serial"].as_str().unwrap(),
                c["status_label"].as_str().unwrap(),
                c["role"].as_str().unwrap(),
                c["default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (first.as_str(), "已废除", "primary", false),
            (second.as_str(), "已激活", "primary", false)
        ]
    );
    let path = |serial: &str| format!("{}/api/v1/mp/certificates/{serial}/default", app.address);
    let refused = app
        .client
        .put(path(&first))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        404,
        "a revoked certificate cannot be the default"
    );
    let chosen = app
        .client
        .put(path(&second))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), 204);
    let list = app.get_json("/api/v1/mp/certificates", &token).await;
    assert_eq!(list.body[1]["default"], true);
    let theirs = app
        .client
        .put(path(&second))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 404, "only the holder's own certificates");

    // Two downloads at once for one application: the later start abandons the earlier, so
    // exactly one certificate results.
    let proof_a = reverification(&app, &token, "openid-agent", phone).await;
    let (share_a, a) = start_with(&app, &token, id, "333333", Some(proof_a)).await;
    let proof_b = reverification(&app, &token, "openid-agent", phone).await;
    let (share_b, b) = start_with(&app, &token, id, "444444", Some(proof_b)).await;
    assert_eq!((a.status, b.status), (201, 201));
    let done_a = finish(&app, &share_a, &a.body, "333333").await;
    let done_b = finish(&app, &share_b, &b.body, "444444").await;
    assert!(done_a.is_err(), "the abandoned attempt cannot activate");
    assert!(done_b.is_ok(), "{done_b:?}");
    let (serial_a, serial_b) = (
        a.body["serial"].as_str().unwrap(),
        b.body["serial"].as_str().unwrap(),
    );
    assert_ne!(status_of(&app, serial_a).await, CertificateStatus::Active);
    assert_eq!(status_of(&app, serial_b).await, CertificateStatus::Active);
    assert_eq!(status_of(&app, &second).await, CertificateStatus::Revoked);

    // Six wrong PINs lock it; real-name + face + SMS again unlock it (not a stale face result,
    // not without the code), and the right PIN works again.
    let phone_b = TestPhone {
        share: share_b,
        serial: serial_b.to_string(),
        public_key: unb64(&b.body["public_key"]),
        device_token: done_b.unwrap()["device_token"]
            .as_str()
            .unwrap()
            .to_string(),
    };
    for _ in 0..6 {
        assert!(app.verify_pin(&phone_b, "000000").await.is_err());
    }
    assert_eq!(app.key_status(&phone_b).await["locked"], true);
    let unlock = |face: String, code: String| {
        let app = &app;
        let token = &token;
        async move {
            app.post_json(
                &format!("/api/v1/mp/certificates/{serial_b}/unlock"),
                &json!({ "verify_result": face, "phone": phone, "code": code }),
                Some(token),
            )
            .await
        }
    };
    let fresh_face = format!("dev-pass:张三:{ZHANG_ID}:openid-agent");
    let stale = unlock("dev-expired".into(), "000000".into()).await;
    assert_eq!((stale.status, stale.code()), (403, "face_expired"));
    app.post_json(
        "/api/v1/mp/phone-codes",
        &json!({ "phone": phone }),
        Some(&token),
    )
    .await;
    let code = latest_code(&app, phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = unlock(fresh_face.clone(), wrong.into()).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(app.key_status(&phone_b).await["locked"], true);
    let unlocked = unlock(fresh_face.clone(), code).await;
    assert_eq!(unlocked.status, 204, "{:?}", unlocked.body);
    assert_eq!(app.key_status(&phone_b).await["locked"], false);
    app.verify_pin(&phone_b, "444444").await.unwrap();
    let entries = app.state.store.audit_entries(0, 500).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "key.unlock" && e.subject == serial_b)
    );

    // Staff can unlock too, after re-verifying the holder at the counter (with the reason).
    for _ in 0..6 {
        assert!(app.verify_pin(&phone_b, "000000").await.is_err());
    }
    let path = format!("/api/v1/staff/certificates/{serial_b}/unlock");
    let no_reason = app
        .post_json(&path, &json!({ "reason": "" }), Some(&staff))
        .await;
    assert_eq!(
        (no_reason.status, no_reason.code()),
        (400, "staff_reason_missing")
    );
    let by_agent = app
        .post_json(&path, &json!({ "reason": "x" }), Some(&token))
        .await;
    assert_eq!(
        by_agent.status, 401,
        "a mini-program session is not a staff session"
    );
    let unlocked = app
        .post_json(
            &path,
            &json!({ "reason": "经办人持身份证原件到窗口核验" }),
            Some(&staff),
        )
        .await;
    assert_eq!(unlocked.status, 204, "{:?}", unlocked.body);
    app.verify_pin(&phone_b, "444444").await.unwrap();
    let again = app
        .post_json(&path, &json!({ "reason": "再次解锁" }), Some(&staff))
        .await;
    assert_eq!((again.status, again.code()), (409, "key_not_locked"));
}

/// The texts of the notices about certificates the outbox worker sends to `phone` now, newest
/// first.
async fn notices_to(app: &TestApp, phone: &str) -> Vec<String> {
    app.state.notices.run_once().await.unwrap();
    sms_texts(app, phone)
        .await
        .into_iter()
        .filter(|text| text.contains("手机数字证书"))
        .collect()
}

/// The attack: with only the mini-program session (a copied storage file, a few minutes with
/// someone's unlocked phone), download the employer's certificate again under a PIN of one's
/// own choosing, bypassing the PIN lock. Refused without a fresh face result and an SMS code,
/// even for a locked certificate; the holder hears of every download again, revocation and
/// unlock.
#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_session_cannot_download_again_and_the_holder_hears_of_every_change() {
    let app = app_without_workers(None).await;
    let phone = "13900139040";
    let (token, holder) = downloaded(&app, phone, "openid-victim", "123456").await;
    let id = app
        .state
        .applications
        .approved_for_agent(ZHANG_ID)
        .await
        .unwrap()[0]
        .id;
    // The holder's six wrong PINs lock the certificate.
    for _ in 0..6 {
        assert!(app.verify_pin(&holder, "000000").await.is_err());
    }
    assert_eq!(app.key_status(&holder).await["locked"], true);

    // The thief has the session token only.
    let (_, refused) = start(&app, &token, id, "999999").await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "download_reverification_required"),
        "{:?}",
        refused.body
    );
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("人脸识别"),
        "{:?}",
        refused.body
    );
    // Nor with someone else's face, a stale face result, or without the SMS code.
    let mut proof = reverification(&app, &token, "openid-victim", phone).await;
    proof["verify_result"] = json!(format!("dev-pass:张三:{ZHANG_ID}:openid-thief"));
    let (_, other_face) = start_with(&app, &token, id, "999999", Some(proof.clone())).await;
    assert_eq!(
        (other_face.status, other_face.code()),
        (403, "face_other_person")
    );
    proof["verify_result"] = json!("dev-expired");
    let (_, stale) = start_with(&app, &token, id, "999999", Some(proof.clone())).await;
    assert_eq!((stale.status, stale.code()), (403, "face_expired"));
    proof["verify_result"] = json!(format!("dev-pass:张三:{ZHANG_ID}:openid-victim"));
    proof["code"] = json!(if proof["code"] == "000000" {
        "111111"
    } else {
        "000000"
    });
    let (_, wrong_code) = start_with(&app, &token, id, "999999", Some(proof)).await;
    assert_eq!(wrong_code.status, 400, "{:?}", wrong_code.body);
    // Nothing changed: the locked certificate is still the holder's, and still locked.
    assert_eq!(
        status_of(&app, &holder.serial).await,
        CertificateStatus::Active
    );
    assert_eq!(app.key_status(&holder).await["locked"], true);
    assert!(notices_to(&app, phone).await.is_empty());

    // The holder unlocks by the real-name steps: an SMS says so.
    let proof = reverification(&app, &token, "openid-victim", phone).await;
    let unlocked = app
        .post_json(
            &format!("/api/v1/mp/certificates/{}/unlock", holder.serial),
            &proof,
            Some(&token),
        )
        .await;
    assert_eq!(unlocked.status, 204, "{:?}", unlocked.body);
    let notices = notices_to(&app, phone).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("昆明测试科技有限公司的手机数字证书的 PIN 码锁定已解除"),
        "{notices:?}"
    );

    // The holder downloads again on a new phone, with the real-name steps: allowed, and the
    // SMS tells of it (the old certificate's revocation is in the same message).
    let proof = reverification(&app, &token, "openid-victim", phone).await;
    let (share, started) = start_with(&app, &token, id, "222222", Some(proof)).await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    finish(&app, &share, &started.body, "222222").await.unwrap();
    assert_eq!(
        status_of(&app, &holder.serial).await,
        CertificateStatus::Revoked
    );
    let notices = notices_to(&app, phone).await;
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(
        notices[0].contains("已在一台新设备上重新下载，原设备上的证书已废除"),
        "{notices:?}"
    );

    // Staff revoking the new certificate: the holder is told too.
    let second = CertificateSerial::parse(started.body["serial"].as_str().unwrap()).unwrap();
    app.state
        .authority
        .revoke(
            &second,
            mcert_server::ca::RevocationReason::KeyCompromise,
            &Actor::Staff("reviewer1".into()),
        )
        .await
        .unwrap();
    let notices = notices_to(&app, phone).await;
    assert_eq!(notices.len(), 3, "{notices:?}");
    assert!(
        notices[0].contains("已废除，不能再用于登录和盖章"),
        "{notices:?}"
    );
    assert!(notices[0].contains("如非本人操作，请立即致电云南CA服务热线4006007210"));

    // With nothing active any more, a download needs no re-verification.
    let (_, fresh) = start(&app, &token, id, "333333").await;
    assert_eq!(fresh.status, 201, "{:?}", fresh.body);
}

/// A certificate event the platform refused fails at once; staff pushing the application again
/// sends it again.
#[tokio::test(flavor = "multi_thread")]
async fn staff_push_a_refused_certificate_event_again() {
    let ok = mcert_testkit::Answer::json(200, r#"{"status":"ok","reference":"JY-8"}"#);
    let refused =
        mcert_testkit::Answer::json(422, r#"{"status":"error","message":"unknown employer"}"#);
    // The application's push, the refused activation, then the activation again.
    let platform = FakeHttp::in_order([ok.clone(), refused, ok]).await;
    let app = app_without_workers(Some(&platform)).await;
    let (_, phone) = downloaded(&app, "13900139030", "openid-repush", "123456").await;
    assert_eq!(app.state.sync.run_once().await.unwrap(), 1);
    let staff = app
        .post_json(
            "/api/v1/staff/session",
            &json!({ "username": "reviewer1", "password": "review2026now" }),
            None,
        )
        .await;
    let staff = staff.body["token"].as_str().unwrap().to_string();
    let queue = app
        .get_json("/api/v1/staff/applications?status=approved", &staff)
        .await;
    let id = queue.body["items"][0]["id"].as_i64().unwrap();
    let failed = staff_certificate_syncs(&app, &staff, id).await;
    assert_eq!(failed[0].0, phone.serial);
    assert_eq!(failed[0].2, "证书数据同步：同步失败");

    let repush = app
        .post_json(
            &format!("/api/v1/staff/applications/{id}/sync"),
            &json!({}),
            Some(&staff),
        )
        .await;
    assert_eq!(repush.status, 200, "{:?}", repush.body);
    // The re-push is sent at once.
    assert_eq!(
        staff_certificate_syncs(&app, &staff, id).await[0].2,
        "证书数据同步：数据已同步"
    );
    assert_eq!(
        certificate_events(&platform),
        [
            (phone.serial.clone(), "activated".to_string()),
            (phone.serial.clone(), "activated".to_string())
        ]
    );
}

/// The free quota counts the certificates an employer holds, not its applications: while its
/// free certificate is in force another application is billable; once that certificate is
/// revoked (seed 000 §五(一): the agent changed, revoke and apply anew) the next application is
/// free again, and it takes the free place while it is on its way.
#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_free_certificate_gives_its_free_place_back() {
    let app = app_without_workers(None).await;
    let (_, holder) = downloaded(&app, "13900139050", "openid-quota", "123456").await;
    let (token, second) = submitted(&app, "13900139051").await;
    assert_eq!(billing_of(&app, &token, second).await, (true, Some(160)));

    app.revoke(
        &holder.serial,
        mcert_server::ca::RevocationReason::AffiliationChanged,
    )
    .await;
    let (token, third) = submitted(&app, "13900139052").await;
    assert_eq!(billing_of(&app, &token, third).await, (false, None));
    let (token, fourth) = submitted(&app, "13900139053").await;
    assert_eq!(billing_of(&app, &token, fourth).await, (true, Some(160)));
}
