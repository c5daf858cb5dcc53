//! The mini-program's account steps end to end: WeChat sign-in, real-name verification with a
//! face result, phone binding with SMS code and carrier check, unbinding by the holder and by
//! staff. Development providers stand in for WeChat and the carrier here.

use serde_json::json;

use crate::{
    applicants::latest_code,
    helpers::{TestApp, spawn_app_with},
    phone::Answer,
};

pub const ZHANG_ID: &str = "11010519491231002X";
const WANG_ID: &str = "110105198001010032";

pub async fn mp_session(app: &TestApp, openid: &str) -> String {
    let signed = app
        .post_json(
            "/api/v1/mp/session",
            &json!({ "code": format!("dev:{openid}") }),
            None,
        )
        .await;
    assert_eq!(signed.status, 201, "{:?}", signed.body);
    assert_eq!(signed.body["verified"], false);
    signed.body["token"].as_str().unwrap().to_string()
}

pub async fn verify(app: &TestApp, token: &str, name: &str, id: &str, face: &str) -> Answer {
    app.post_json(
        "/api/v1/mp/real-name",
        &json!({ "name": name, "id_number": id, "verify_result": face }),
        Some(token),
    )
    .await
}

pub async fn bind(app: &TestApp, token: &str, phone: &str) -> Answer {
    let sent = app
        .post_json(
            "/api/v1/mp/phone-codes",
            &json!({ "phone": phone }),
            Some(token),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let code = latest_code(app, phone).await;
    app.post_json(
        "/api/v1/mp/phones",
        &json!({ "phone": phone, "code": code }),
        Some(token),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_verify_bind_and_unbind() {
    // One phone is proved by two people here; codes may follow each other without the minute.
    let app =
        spawn_app_with(|s| s.otp_limits.resend_interval = std::time::Duration::from_millis(1))
            .await;

    // A wx.login code works once; a forged token is nobody.
    let zhang = mp_session(&app, "openid-zhang").await;
    let again = app
        .post_json(
            "/api/v1/mp/session",
            &json!({ "code": "dev:openid-zhang" }),
            None,
        )
        .await;
    assert_eq!(again.status, 400, "{:?}", again.body);
    let forged = app.get_json("/api/v1/mp/me", "forged-token").await;
    assert_eq!((forged.status, forged.code()), (401, "mp_not_signed_in"));

    // Before real-name verification: the seed's message.
    let me = app.get_json("/api/v1/mp/me", &zhang).await;
    assert_eq!((me.status, me.code()), (404, "person_not_verified"));
    assert_eq!(me.body["message"], "未查询到人员信息，请先实名认证");
    let early = app
        .post_json(
            "/api/v1/mp/phone-codes",
            &json!({ "phone": "13800138000" }),
            Some(&zhang),
        )
        .await;
    assert_eq!((early.status, early.code()), (404, "person_not_verified"));

    // A face result for another person, a bad checksum, then the right one.
    let other = verify(
        &app,
        &zhang,
        "张三",
        ZHANG_ID,
        &format!("dev-pass:王五:{WANG_ID}:openid-zhang"),
    )
    .await;
    assert_eq!((other.status, other.code()), (403, "face_other_person"));
    let bad = verify(&app, &zhang, "张三", "110105194912310021", "dev-pass:x:y").await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    let ok = verify(
        &app,
        &zhang,
        "张三",
        ZHANG_ID,
        &format!("dev-pass:张三:{ZHANG_ID}:openid-zhang"),
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["id_number"], "110105********002X");

    // Bind a phone: wrong code refused, right code binds, binding again is a no-op.
    app.post_json(
        "/api/v1/mp/phone-codes",
        &json!({ "phone": "13800138000" }),
        Some(&zhang),
    )
    .await;
    let code = latest_code(&app, "13800138000").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = app
        .post_json(
            "/api/v1/mp/phones",
            &json!({ "phone": "13800138000", "code": wrong }),
            Some(&zhang),
        )
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    let bound = app
        .post_json(
            "/api/v1/mp/phones",
            &json!({ "phone": "13800138000", "code": code }),
            Some(&zhang),
        )
        .await;
    assert_eq!(
        (bound.status, bound.body["outcome"].as_str()),
        (200, Some("bound"))
    );
    let me = app.get_json("/api/v1/mp/me", &zhang).await;
    assert_eq!(me.body["phones"], json!(["13800138000"]));

    // A phone registered to someone else: the seed's 未获取到绑定信息 guidance.
    let not_owned = bind(&app, &zhang, "19900001234").await;
    assert_eq!(
        (not_owned.status, not_owned.code()),
        (409, "phone_not_owned")
    );
    assert!(
        not_owned.body["message"]
            .as_str()
            .unwrap()
            .starts_with("未获取到绑定信息")
    );

    // Another person cannot take the phone: 手机号已被绑定, with the unbind path.
    let wang = mp_session(&app, "openid-wang").await;
    let ok = verify(
        &app,
        &wang,
        "王五",
        WANG_ID,
        &format!("dev-pass:王五:{WANG_ID}:openid-wang"),
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let taken = app
        .post_json(
            "/api/v1/mp/phone-codes",
            &json!({ "phone": "13800138000" }),
            Some(&wang),
        )
        .await;
    assert_eq!(
        (taken.status, taken.code()),
        (409, "phone_bound"),
        "no code is even sent"
    );
    assert!(
        taken.body["message"]
            .as_str()
            .unwrap()
            .contains("手机号解绑")
    );

    // The holder unbinds; then the other person may bind it.
    let response = app
        .client
        .delete(format!("{}/api/v1/mp/phones/13800138000", app.address))
        .bearer_auth(&zhang)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let bound = bind(&app, &wang, "13800138000").await;
    assert_eq!(bound.status, 200, "{:?}", bound.body);

    // Staff unbind after re-verification, with the reason audited.
    let staff = crate::applications::staff_session(&app).await;
    let no_reason = app
        .post_json(
            "/api/v1/staff/phones/13800138000/unbind",
            &json!({ "reason": " " }),
            Some(&staff),
        )
        .await;
    assert_eq!(
        (no_reason.status, no_reason.code()),
        (400, "staff_reason_missing")
    );
    let unbound = app
        .post_json(
            "/api/v1/staff/phones/13800138000/unbind",
            &json!({ "reason": "前经办人手机遗失，已核验身份证原件" }),
            Some(&staff),
        )
        .await;
    assert_eq!(unbound.status, 204, "{:?}", unbound.body);
    let me = app.get_json("/api/v1/mp/me", &wang).await;
    assert_eq!(me.body["phones"], json!([]));
    let entries = app.state.store.audit_entries(0, 100).await.unwrap();
    let unbinds: Vec<&str> = entries
        .iter()
        .filter(|e| e.action == "phone.unbind")
        .map(|e| e.actor.as_str())
        .collect();
    assert_eq!(unbinds.len(), 2);
    assert!(unbinds[1].starts_with("staff:"));
}

/// MD5 in hex, as WeChat digests the name and the ID number of a face result.
fn md5_hex(text: &str) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(text.as_bytes()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_clients_ask_wechat_and_the_carrier() {
    use mcert_testkit::FakeHttp;
    let ok = |body: serde_json::Value| mcert_testkit::Answer::json(200, body.to_string());
    let now = chrono::Utc::now().timestamp();
    // WeChat answers, in the order the server asks: jscode2session, the access token, getinfo
    // (a pass of 张三 by openid-real), then a second getinfo: a pass of somebody else.
    let face = |name: &str, id: &str| {
        json!({
            "errcode": 0, "errmsg": "ok", "identify_ret": 0, "identify_time": now,
            "openid": "openid-real", "name_utf8_md5": md5_hex(name),
            "id_card_number_md5": md5_hex(id),
        })
    };
    let wechat = FakeHttp::in_order([
        ok(json!({ "openid": "openid-real", "session_key": "never-leaves" })),
        ok(json!({ "access_token": "token-1", "expires_in": 7200 })),
        ok(face("王五", "110105198001010032")),
        ok(face("张三", ZHANG_ID)),
    ])
    .await;
    let carrier = FakeHttp::in_order([
        ok(json!({ "Code": "OK", "Message": "OK", "RequestId": "r", "Data": { "IsConsistent": 0 } })),
        ok(json!({ "Code": "OK", "Message": "OK", "RequestId": "r", "Data": { "IsConsistent": 1 } })),
    ])
    .await;
    let app = spawn_app_with(|s| {
        s.otp_limits.resend_interval = std::time::Duration::from_millis(1);
        s.wechat = Some(mcert_server::providers::wechat::WeChatConfig {
            appid: "wx-test".into(),
            secret: "wechat-secret".into(),
            api_base: Some(wechat.base_url().to_owned()),
        });
        s.aliyun_carrier = Some(mcert_server::providers::carrier::AliyunCarrierConfig {
            access_key_id: "LTAI-carrier".into(),
            access_key_secret: "carrier-secret".into(),
            auth_code: "auth-1".into(),
            endpoint: Some(carrier.base_url().to_owned()),
        });
    })
    .await;

    let signed = app
        .post_json("/api/v1/mp/session", &json!({ "code": "wx-code-1" }), None)
        .await;
    assert_eq!(signed.status, 201, "{:?}", signed.body);
    assert!(
        !signed.body.to_string().contains("never-leaves"),
        "the session_key stays"
    );
    let token = signed.body["token"].as_str().unwrap().to_string();
    let target = wechat.received().remove(0).target;
    assert!(target.starts_with("/sns/jscode2session?") && target.contains("js_code=wx-code-1"));

    // WeChat's result names another person: refused, whatever the client claims.
    let other = verify(&app, &token, "张三", ZHANG_ID, "verify-result-1").await;
    assert_eq!((other.status, other.code()), (403, "face_other_person"));
    let ok = verify(&app, &token, "张三", ZHANG_ID, "verify-result-2").await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let asked = wechat.received();
    assert!(asked[1].target.starts_with("/cgi-bin/token?"));
    assert!(
        asked[2]
            .target
            .starts_with("/cityservice/face/identify/getinfo?access_token=token-1")
    );
    assert_eq!(asked.len(), 4, "the token is fetched once");

    // The carrier says the first phone is someone else's, the second is theirs.
    let not_owned = bind(&app, &token, "13800138001").await;
    assert_eq!(
        (not_owned.status, not_owned.code()),
        (409, "phone_not_owned")
    );
    let bound = bind(&app, &token, "13800138002").await;
    assert_eq!(bound.status, 200, "{:?}", bound.body);
    let form = String::from_utf8(carrier.received()[1].body.clone()).unwrap();
    assert!(
        form.contains("Action=ThreeElementsVerification")
            && form.contains("InputNumber=13800138002"),
        "{form}"
    );
}
