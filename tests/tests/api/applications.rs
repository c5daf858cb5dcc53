//! The application wizard end to end: agreement countdown, the three steps with uploads,
//! submission, and the edits the rules refuse.

use mcert_server::{audit::Actor, staff::StaffRole};
use mcert_testkit::{Answer, FakeHttp};
use serde_json::{Value, json};

use crate::{
    applicants::{TINY_PNG, signed_in, sms_texts, upload},
    helpers::{TestApp, spawn_app_with},
};

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn upload_id(app: &TestApp, token: &str, purpose: &str) -> String {
    let (status, body) = upload(app, token, purpose, "scan.png", TINY_PNG.to_vec()).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn enterprise(licence: &str) -> Value {
    json!({
        "licence_upload_id": licence,
        "name": "昆明测试科技有限公司",
        "uscc": "91440300708461136T",
        "region_code": "530112",
        "address": "云南省昆明市西山区某某路 1 号",
        "legal_representative_name": "李四",
        "legal_representative_id": "11010519491231002X",
        "registration_authority": "昆明市市场监督管理局",
        "contact_phone": "0871-12345678",
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wizard_walks_from_agreement_to_submission() {
    use reqwest::Method;
    let app = spawn_app_with(|s| s.agreement_countdown_secs = 1).await;
    let token = signed_in(&app, "13500135000").await;
    let licence = upload_id(&app, &token, "licence").await;
    let front = upload_id(&app, &token, "id_front").await;
    let back = upload_id(&app, &token, "id_back").await;
    let form = upload_id(&app, &token, "application_form").await;

    let (status, created) = call(&app, Method::POST, "/api/v1/applications", &token, None).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "draft");
    let id = created["id"].as_i64().unwrap();
    let base = format!("/api/v1/applications/{id}");

    // One draft at a time; the agreement cannot be skipped or accepted before the countdown.
    let (status, body) = call(&app, Method::POST, "/api/v1/applications", &token, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("application_draft_exists"))
    );
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/enterprise"),
        &token,
        Some(enterprise(&licence)),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("application_step_missing"))
    );
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("{base}/agreement"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("agreement_countdown")),
        "{body}"
    );
    app.advance(std::time::Duration::from_millis(1100)).await;
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("{base}/agreement"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Step 1: a bad checksum and an upload of the wrong kind are refused; nothing is stored.
    let mut bad = enterprise(&licence);
    bad["uscc"] = json!("91440300708461136X");
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/enterprise"),
        &token,
        Some(bad),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("uscc_checksum")),
        "{body}"
    );
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/enterprise"),
        &token,
        Some(enterprise(&front)),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("upload_wrong_purpose"))
    );
    let (_, shown) = call(&app, Method::GET, &base, &token, None).await;
    assert!(shown["enterprise"].is_null());
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/enterprise"),
        &token,
        Some(enterprise(&licence)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enterprise"]["uscc"], "91440300708461136T");

    // Submitting early names the missing step.
    let (status, body) = call(&app, Method::POST, &format!("{base}/submit"), &token, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("application_step_missing"))
    );

    let agent = json!({
        "id_front_upload_id": front, "id_back_upload_id": back,
        "name": "张三", "id_number": "11010519491231002X", "email": "zhang@example.com",
    });
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/agent"),
        &token,
        Some(agent),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["agent"]["phone"], "13500135000",
        "the agent's phone is the signed-in phone"
    );

    let ca = json!({ "form_upload_id": form, "seal_wanted": true, "seal_kind": null });
    let (status, body) = call(&app, Method::PUT, &format!("{base}/ca"), &token, Some(ca)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("application_field_invalid"))
    );
    let ca = json!({ "form_upload_id": form, "seal_wanted": true, "seal_kind": "traditional", "stamp_filing_number": "5301120012345" });
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/ca"),
        &token,
        Some(ca.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = call(&app, Method::POST, &format!("{base}/submit"), &token, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "submitted");
    assert_eq!(body["status_label"], "申请资料审核：待审核");
    assert_eq!(body["editable"], false);

    // A submitted application cannot be edited, and a stranger cannot see it.
    let (status, body) = call(&app, Method::PUT, &format!("{base}/ca"), &token, Some(ca)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("application_not_editable"))
    );
    let stranger = signed_in(&app, "13500135001").await;
    let (status, _) = call(&app, Method::GET, &base, &stranger, None).await;
    assert_eq!(status, 404);
    let (status, list) = call(&app, Method::GET, "/api/v1/applications", &token, None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// A complete, submitted application of a new applicant: (its token, its id).
pub async fn submitted(app: &TestApp, phone: &str) -> (String, i64) {
    submitted_with_form(app, phone, None, None).await
}

/// [`submitted`], asking for a seal of `seal_kind` (`generated`, `traditional`) when given,
/// with `form` (a PNG) as the stamped application form instead of a blank one.
pub async fn submitted_with_form(
    app: &TestApp,
    phone: &str,
    seal_kind: Option<&str>,
    form: Option<Vec<u8>>,
) -> (String, i64) {
    let (token, id) = ready(app, phone, seal_kind, form).await;
    let path = format!("/api/v1/applications/{id}/submit");
    let (status, answer) = call(app, reqwest::Method::POST, &path, &token, None).await;
    assert_eq!(status, 200, "{path}: {answer}");
    (token, id)
}

/// A complete application of a new applicant, every step saved, not yet submitted.
async fn ready(
    app: &TestApp,
    phone: &str,
    seal_kind: Option<&str>,
    form: Option<Vec<u8>>,
) -> (String, i64) {
    use reqwest::Method;
    let token = signed_in(app, phone).await;
    let licence = upload_id(app, &token, "licence").await;
    let front = upload_id(app, &token, "id_front").await;
    let back = upload_id(app, &token, "id_back").await;
    let form = match form {
        Some(png) => {
            let (status, body) = upload(app, &token, "application_form", "form.png", png).await;
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_string()
        }
        None => upload_id(app, &token, "application_form").await,
    };
    let (_, created) = call(app, Method::POST, "/api/v1/applications", &token, None).await;
    let id = created["id"].as_i64().unwrap();
    let base = format!("/api/v1/applications/{id}");
    app.advance(std::time::Duration::from_millis(1100)).await;
    let steps = [
        (Method::POST, format!("{base}/agreement"), None),
        (
            Method::PUT,
            format!("{base}/enterprise"),
            Some(enterprise(&licence)),
        ),
        (
            Method::PUT,
            format!("{base}/agent"),
            Some(json!({
                "id_front_upload_id": front, "id_back_upload_id": back,
                "name": "张三", "id_number": "11010519491231002X", "email": "zhang@example.com",
            })),
        ),
        (
            Method::PUT,
            format!("{base}/ca"),
            Some(json!({
                "form_upload_id": form,
                "seal_wanted": seal_kind.is_some(),
                "seal_kind": seal_kind,
            })),
        ),
    ];
    for (method, path, body) in steps {
        let (status, answer) = call(app, method, &path, &token, body).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
    (token, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_reject_with_a_reason_then_approve_the_fixed_application_then_sync() {
    use reqwest::Method;
    let platform =
        FakeHttp::start(Answer::json(200, r#"{"status":"ok","reference":"JY-7"}"#)).await;
    let app = spawn_app_with(|s| {
        s.agreement_countdown_secs = 1;
        s.sync_interval_secs = 3600;
        s.platform = Some(mcert_server::providers::platform::PlatformConfig {
            base_url: platform.base_url().to_owned(),
            api_key: "key-1".into(),
        });
    })
    .await;
    let phone = "13400134000";
    let (token, id) = submitted(&app, phone).await;
    let staff = staff_session(&app).await;

    // Applicants cannot review; the queue filters by region and shows the application.
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/staff/applications",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (_, page) = call(
        &app,
        Method::GET,
        "/api/v1/staff/applications?region=5301",
        &staff,
        None,
    )
    .await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["id"], id);
    let (_, empty) = call(
        &app,
        Method::GET,
        "/api/v1/staff/applications?region=11",
        &staff,
        None,
    )
    .await;
    assert_eq!(empty["total"], 0);
    let (status, detail) = call(
        &app,
        Method::GET,
        &format!("/api/v1/staff/applications/{id}"),
        &staff,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let licence = detail["enterprise"]["licence_upload_id"].as_str().unwrap();
    let image = app
        .client
        .get(format!("{}/api/v1/staff/uploads/{licence}", app.address))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");

    // Reject: a reason is required; the applicant sees it and gets the SMS.
    let reject = format!("/api/v1/staff/applications/{id}/reject");
    let (status, body) = call(
        &app,
        Method::POST,
        &reject,
        &staff,
        Some(json!({ "reason": " " })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("reject_reason_missing"))
    );
    let reason = "营业执照照片不清晰，请重新拍摄上传";
    let (status, body) = call(
        &app,
        Method::POST,
        &reject,
        &staff,
        Some(json!({ "reason": reason })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decided_by"], "reviewer1");
    let (_, mine) = call(
        &app,
        Method::GET,
        &format!("/api/v1/applications/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(mine["status_label"], "申请资料审核：审核驳回");
    assert_eq!(mine["reject_reason"], reason);
    // The status endpoint gives the four columns of the seed's 资料状态 table.
    let (status, progress) = call(
        &app,
        Method::GET,
        &format!("/api/v1/applications/{id}/status"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{progress}");
    assert_eq!(progress, mine["progress"]);
    assert_eq!(progress["review"]["label"], "申请资料审核：审核驳回");
    assert_eq!(progress["review"]["reason"], reason);
    assert_eq!(progress["sync"]["label"], "申请资料同步：数据未同步");
    assert_eq!(progress["certificate"]["label"], "未激活");
    assert_eq!(progress["seal"]["label"], "未申请印章");
    assert_eq!(
        progress["summary"],
        format!("[申请资料]审核状态: 审核驳回 [申请资料]审核驳回原因: {reason}")
    );
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/applications/{id}/status"),
        &staff,
        None,
    )
    .await;
    assert_eq!(status, 401, "a staff token is not an applicant session");
    let texts = sms_texts(&app, phone).await;
    assert!(
        texts[0].contains("驳回") && texts[0].contains(reason),
        "{texts:?}"
    );
    // A decided application cannot be decided again.
    let (status, body) = call(
        &app,
        Method::POST,
        &reject,
        &staff,
        Some(json!({ "reason": reason })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("application_not_editable"))
    );

    // The applicant fixes the licence and resubmits; staff approve; SMS says so.
    let new_licence = upload_id(&app, &token, "licence").await;
    let base = format!("/api/v1/applications/{id}");
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("{base}/enterprise"),
        &token,
        Some(enterprise(&new_licence)),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, Method::POST, &format!("{base}/submit"), &token, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("submitted")));
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/api/v1/staff/applications/{id}/approve"),
        &staff,
        None,
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("approved")),
        "{body}"
    );
    let texts = sms_texts(&app, phone).await;
    assert!(
        texts[0].contains("关于张三员工申请云南CA证书成功，可以登录就业彩云南小程序"),
        "{texts:?}"
    );
    let (_, mine) = call(&app, Method::GET, &base, &token, None).await;
    assert_eq!(mine["status_label"], "申请资料审核：审核通过");
    assert!(mine["reject_reason"].is_null());
    assert_eq!(mine["progress"]["review"]["status"], "approved");
    assert!(mine["progress"]["review"]["reason"].is_null());
    assert_eq!(mine["progress"]["sync"]["status"], "pending");
    assert_eq!(mine["progress"]["summary"], "[申请资料]审核状态: 审核通过");

    // The sync worker pushes the approved application; the applicant sees it synced.
    assert_eq!(app.state.sync.run_once().await.unwrap(), 1);
    let pushed = platform.received().remove(0);
    assert_eq!(
        (
            pushed.target.as_str(),
            pushed.json()["application_id"].as_i64()
        ),
        ("/api/ca/employers", Some(id))
    );
    let (_, progress) = call(&app, Method::GET, &format!("{base}/status"), &token, None).await;
    assert_eq!(progress["sync"]["label"], "申请资料同步：数据已同步");
    assert_eq!(progress["review"]["label"], "申请资料审核：审核通过");

    // Both decisions are in the audit chain, with the reviewer.
    let entries = app.state.store.audit_entries(0, 100).await.unwrap();
    mcert_server::audit::verify_chain(&entries).unwrap();
    let decisions: Vec<_> = entries
        .iter()
        .filter(|e| e.subject == format!("application:{id}"))
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        decisions,
        [
            ("application.reject", "staff:reviewer1"),
            ("application.approve", "staff:reviewer1")
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ocr_prefills_the_licence_and_the_id_card_and_refuses_the_rest() {
    use reqwest::Method;
    let reply = |data: Value| json!({ "RequestId": "r-1", "Data": data.to_string() }).to_string();
    let ocr = FakeHttp::in_order([
        Answer::json(
            200,
            reply(json!({ "data": {
                "companyName": "昆明测试科技有限公司",
                "creditCode": "91440300708461136T",
                "legalPerson": "李四",
                "businessAddress": "云南省昆明市西山区某某路 1 号",
            }})),
        ),
        Answer::json(
            200,
            reply(json!({ "data": { "face": { "data": {
                "name": "张三", "idNumber": "11010519491231002X",
            }}}})),
        ),
        Answer::json(
            400,
            r#"{"RequestId":"r-3","Code":"unmatchedImageType","Message":"image type not match"}"#,
        ),
        Answer::json(503, "<html>busy</html>"),
    ])
    .await;
    let app = spawn_app_with(|s| {
        s.aliyun_ocr = Some(mcert_server::providers::ocr::AliyunOcrConfig {
            access_key_id: "LTAI-ocr".into(),
            access_key_secret: "ocr-secret".into(),
            endpoint: Some(ocr.base_url().to_owned()),
        });
    })
    .await;
    let token = signed_in(&app, "13700137000").await;
    let recognise = |id: String| format!("/api/v1/uploads/{id}/recognition");

    let licence = upload_id(&app, &token, "licence").await;
    let (status, read) = call(
        &app,
        Method::POST,
        &recognise(licence.clone()),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["document"], "business_licence");
    assert_eq!(read["unit_name"], "昆明测试科技有限公司");
    assert_eq!(read["uscc"], "91440300708461136T");
    assert_eq!(read["legal_representative_name"], "李四");
    assert_eq!(read["address"], "云南省昆明市西山区某某路 1 号");
    let read_first = ocr.received().remove(0);
    let (target, body) = (read_first.target, read_first.body);
    assert!(
        target.contains("Action=RecognizeBusinessLicense"),
        "{target}"
    );
    assert!(target.contains("Signature="), "{target}");
    assert_eq!(body, TINY_PNG, "the uploaded image is the body");

    let front = upload_id(&app, &token, "id_front").await;
    let (status, read) = call(&app, Method::POST, &recognise(front.clone()), &token, None).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        (read["document"].as_str(), read["name"].as_str()),
        (Some("id_card_front"), Some("张三"))
    );
    assert_eq!(read["id_number"], "11010519491231002X");
    assert!(ocr.received()[1].target.contains("Action=RecognizeIdcard"));

    // An unreadable photo and an outage say "type it in"; nothing else is read at all.
    let (status, body) = call(&app, Method::POST, &recognise(front.clone()), &token, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("ocr_unreadable"))
    );
    let (status, body) = call(&app, Method::POST, &recognise(front.clone()), &token, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("ocr_unavailable"))
    );
    assert!(body["message"].as_str().unwrap().contains("直接填写"));
    let form = upload_id(&app, &token, "application_form").await;
    let (status, body) = call(&app, Method::POST, &recognise(form), &token, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("ocr_purpose_unsupported"))
    );
    let stranger = signed_in(&app, "13700137001").await;
    let (status, _) = call(
        &app,
        Method::POST,
        &recognise(front.clone()),
        &stranger,
        None,
    )
    .await;
    assert_eq!(status, 404, "only the owner's files");
    assert_eq!(ocr.received().len(), 4);

    // The reviewer sees what was read beside what was typed (the agent's name typed otherwise).
    let (_, created) = call(&app, Method::POST, "/api/v1/applications", &token, None).await;
    let id = created["id"].as_i64().unwrap();
    let base = format!("/api/v1/applications/{id}");
    // The agreement's reading countdown (ten seconds here).
    app.advance(std::time::Duration::from_secs(11)).await;
    let back = upload_id(&app, &token, "id_back").await;
    let stamped = upload_id(&app, &token, "application_form").await;
    for (method, path, body) in [
        (Method::POST, format!("{base}/agreement"), None),
        (
            Method::PUT,
            format!("{base}/enterprise"),
            Some(enterprise(&licence)),
        ),
        (
            Method::PUT,
            format!("{base}/agent"),
            Some(json!({
                "id_front_upload_id": front, "id_back_upload_id": back,
                "name": "张珊", "id_number": "11010519491231002X", "email": "zhang@example.com",
            })),
        ),
        (
            Method::PUT,
            format!("{base}/ca"),
            Some(json!({ "form_upload_id": stamped, "seal_wanted": false })),
        ),
        (Method::POST, format!("{base}/submit"), None),
    ] {
        let (status, answer) = call(&app, method, &path, &token, body).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
    let staff = staff_session(&app).await;
    let (status, shown) = call(
        &app,
        Method::GET,
        &format!("/api/v1/staff/applications/{id}"),
        &staff,
        None,
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    let rows: Vec<(String, String, bool)> = shown["ocr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["field"].as_str().unwrap().to_string(),
                r["read"].as_str().unwrap().to_string(),
                r["matches"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(rows.contains(&("企业名称".into(), "昆明测试科技有限公司".into(), true)));
    assert!(rows.contains(&("统一社会信用代码".into(), "91440300708461136T".into(), true)));
    assert!(
        rows.contains(&("经办人姓名".into(), "张三".into(), false)),
        "{rows:?}"
    );
    assert_eq!(
        ocr.received().len(),
        4,
        "the reviewer's view reads nothing again"
    );

    // Without a provider there is no prefill, and the applicant is told to type.
    let plain = spawn_app_with(|_| {}).await;
    let token = signed_in(&plain, "13700137002").await;
    let licence = upload_id(&plain, &token, "licence").await;
    let (status, body) = call(&plain, Method::POST, &recognise(licence), &token, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (501, Some("ocr_not_configured"))
    );
}

/// Text of a PDF, as `pdftotext` (poppler-utils) extracts it.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("form.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian package poppler-utils) is needed to read the PDF");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agreement_and_the_prefilled_application_form() {
    let app = spawn_app_with(|s| s.agreement_countdown_secs = 1).await;
    let agreement: Value = app
        .client
        .get(format!("{}/api/v1/agreement", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        agreement["title"],
        "云南省数字证书认证中心有限公司电子认证服务协议"
    );
    assert_eq!(agreement["countdown_secs"], 1);
    assert!(agreement["text"].as_str().unwrap().contains("第一条"));

    // Without steps 1 and 2 there is nothing to print.
    let token = signed_in(&app, "13600136000").await;
    let (_, created) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/applications",
        &token,
        None,
    )
    .await;
    let draft = created["id"].as_i64().unwrap();
    let (status, body) = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/applications/{draft}/form.pdf"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("application_step_missing"))
    );

    let (token, id) = ready(&app, "13600136001", None, None).await;
    let path = format!("{}/api/v1/applications/{id}/form.pdf", app.address);
    let response = app
        .client
        .get(&path)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let pdf = response.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    for expected in [
        "用人单位数字证书业务申请表",
        "昆明测试科技有限公司",
        "91440300708461136T",
        "李四",
        "昆明市市场监督管理局",
        "13600136001",
        "张三",
        "11010519491231002X",
        &format!("申请编号 {id}"),
        "电子认证服务协议",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the form:\n{text}"
        );
    }
    let stranger = signed_in(&app, "13600136002").await;
    let response = app
        .client
        .get(&path)
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "only the applicant gets the form");
}

/// Issue 12 item 9: an employer name with an emoji used to be stored and then failed the form
/// with a 500; one with a 生僻字 of CJK Extension B (𠀀, U+20000) did too. The emoji is now
/// refused at step 1 with a message naming it; the rare characters are printed, from a subset
/// of the fallback font embedded in the form, and read back as themselves.
#[tokio::test(flavor = "multi_thread")]
async fn rare_characters_print_on_the_form_and_emoji_are_refused_at_input() {
    use reqwest::Method;
    let app = spawn_app_with(|s| s.agreement_countdown_secs = 1).await;
    let token = signed_in(&app, "13600136010").await;
    let licence = upload_id(&app, &token, "licence").await;
    let front = upload_id(&app, &token, "id_front").await;
    let back = upload_id(&app, &token, "id_back").await;
    let (_, created) = call(&app, Method::POST, "/api/v1/applications", &token, None).await;
    let id = created["id"].as_i64().unwrap();
    let base = format!("/api/v1/applications/{id}");
    app.advance(std::time::Duration::from_millis(1100)).await;
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("{base}/agreement"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let mut emoji = enterprise(&licence);
    emoji["name"] = json!("昆明😀科技有限公司");
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/enterprise"),
        &token,
        Some(emoji),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("text_unprintable")),
        "{body}"
    );
    assert_eq!(
        body["message"],
        "单位名称中的“😀”（第3个字）无法打印在申请表上，请删除或改用规范汉字"
    );
    let mut pua = enterprise(&licence);
    pua["address"] = json!("云南省昆明市\u{E000}路 1 号");
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/enterprise"),
        &token,
        Some(pua),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("text_unprintable")),
        "{body}"
    );
    let (_, stored) = call(&app, Method::GET, &base, &token, None).await;
    assert!(stored["enterprise"].is_null(), "nothing stored: {stored}");

    let mut rare = enterprise(&licence);
    rare["name"] = json!("昆明𠀀\u{2A700}科技有限公司");
    rare["legal_representative_name"] = json!("买买提·艾力");
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/enterprise"),
        &token,
        Some(rare),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/agent"),
        &token,
        Some(json!({
            "id_front_upload_id": front, "id_back_upload_id": back,
            "name": "王𡘙", "id_number": "11010519491231002X", "email": "wang@example.com",
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let response = app
        .client
        .get(format!("{}{base}/form.pdf", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let pdf = response.bytes().await.unwrap();
    let text = pdf_text(&pdf);
    for expected in [
        "昆明𠀀\u{2A700}科技有限公司",
        "买买提·艾力",
        "王𡘙",
        &format!("申请编号 {id}"),
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the form:\n{text}"
        );
    }
}

/// A configured fallback font that is missing stops the start with a message naming it and
/// the way out, rather than a server that would refuse or misprint rare names.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_fallback_font_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = mcert_server::configuration::Settings::for_tests(dir.path());
    settings.pdf.fallback_fonts = vec![dir.path().join("HanaMinB.ttf")];
    let error = match mcert_server::startup::Application::build(settings).await {
        Ok(_) => panic!("the server started without its fallback font"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("HanaMinB.ttf"), "{error}");
    assert!(error.contains("fonts-hanazono"), "{error}");
    assert!(error.contains("MCERT_PDF__FALLBACK_FONTS"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn simultaneous_first_submissions_of_an_employer_get_one_free_certificate() {
    let app = spawn_app_with(|s| s.agreement_countdown_secs = 1).await;
    let mut ready_ones = Vec::new();
    for phone in ["13300133100", "13300133101", "13300133102"] {
        ready_ones.push(ready(&app, phone, None, None).await);
    }
    let submissions = ready_ones.iter().map(|(token, id)| {
        let app = &app;
        async move {
            let path = format!("/api/v1/applications/{id}/submit");
            let (status, body) = call(app, reqwest::Method::POST, &path, token, None).await;
            assert_eq!(status, 200, "{body}");
            body["billable"].as_bool().unwrap()
        }
    });
    let billable = futures_util::future::join_all(submissions).await;
    assert_eq!(
        billable.iter().filter(|b| !**b).count(),
        1,
        "exactly one free certificate: {billable:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_second_certificate_of_an_employer_is_billable_unless_it_is_large() {
    use reqwest::Method;
    let app = spawn_app_with(|s| s.agreement_countdown_secs = 1).await;
    let (token, first) = submitted(&app, "13300133000").await;
    assert_eq!(billing_of(&app, &token, first).await, (false, None));
    let (token, second) = submitted(&app, "13300133001").await;
    assert_eq!(billing_of(&app, &token, second).await, (true, Some(160)));

    // Staff record more than 100 employees: up to three are free.
    let staff = staff_session(&app).await;
    let path = "/api/v1/staff/employers/91440300708461136T/employee-count";
    let (status, _) = call(
        &app,
        Method::PUT,
        path,
        &staff,
        Some(json!({ "employee_count": 150 })),
    )
    .await;
    assert_eq!(status, 204);
    let bad = "/api/v1/staff/employers/91440300708461136X/employee-count";
    let (status, body) = call(
        &app,
        Method::PUT,
        bad,
        &staff,
        Some(json!({ "employee_count": 150 })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("uscc_checksum"))
    );
    // A valid code no application has named: nothing to record it on.
    let unknown = "/api/v1/staff/employers/91530100MA6K000013/employee-count";
    let (status, body) = call(
        &app,
        Method::PUT,
        unknown,
        &staff,
        Some(json!({ "employee_count": 150 })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("employer_unknown")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("尚未提交过证书申请")
    );
    // The quota counts free certificates: the second was billed before the count was known,
    // so the third and the fourth take the two free places left, and the fifth pays.
    let (token, third) = submitted(&app, "13300133002").await;
    assert_eq!(billing_of(&app, &token, third).await, (false, None));
    let (token, fourth) = submitted(&app, "13300133003").await;
    assert_eq!(billing_of(&app, &token, fourth).await, (false, None));
    let (token, fifth) = submitted(&app, "13300133004").await;
    assert_eq!(billing_of(&app, &token, fifth).await, (true, Some(160)));
}

/// `(billable, fee_yuan)` of an application as its applicant sees it.
pub async fn billing_of(app: &TestApp, token: &str, id: i64) -> (bool, Option<u64>) {
    let (_, body) = call(
        app,
        reqwest::Method::GET,
        &format!("/api/v1/applications/{id}"),
        token,
        None,
    )
    .await;
    (
        body["billable"].as_bool().unwrap(),
        body["fee_yuan"].as_u64(),
    )
}

/// Signs in a reviewer and approves application `id`; returns the reviewer's token.
pub async fn approve(app: &TestApp, id: i64) -> String {
    let staff = staff_session(app).await;
    let (status, body) = call(
        app,
        reqwest::Method::POST,
        &format!("/api/v1/staff/applications/{id}/approve"),
        &staff,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    staff
}

#[tokio::test(flavor = "multi_thread")]
async fn approved_applications_reach_the_platform_and_a_merge_unblocks_them() {
    use reqwest::Method;
    let platform = FakeHttp::in_order([
        Answer::json(503, "busy"),
        Answer::json(
            409,
            r#"{"status":"multiple_accounts","accounts":["JY-0001","JY-0002"]}"#,
        ),
        Answer::json(200, r#"{"status":"ok"}"#),
        Answer::json(200, r#"{"status":"ok","reference":"JY-2026-0001"}"#),
    ])
    .await;
    let app = spawn_app_with(|s| {
        s.agreement_countdown_secs = 1;
        s.sync_interval_secs = 3600;
        s.platform = Some(mcert_server::providers::platform::PlatformConfig {
            base_url: platform.base_url().to_owned(),
            api_key: "key-1".into(),
        });
    })
    .await;
    let (token, id) = submitted(&app, "13200132000").await;
    let staff = approve(&app, id).await;
    let status_of = |body: &Value| body["sync_status"].as_str().map(str::to_string);

    // Queued with the approval; the first push meets an outage and waits.
    let (_, mine) = call(
        &app,
        Method::GET,
        &format!("/api/v1/applications/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status_of(&mine).as_deref(), Some("pending"));
    assert_eq!(mine["sync_status_label"], "申请资料同步：数据未同步");
    assert_eq!(app.state.sync.run_once().await.unwrap(), 1);
    assert_eq!(app.state.sync.run_once().await.unwrap(), 0, "backing off");
    let first = platform.received().remove(0);
    assert_eq!(first.target, "/api/ca/employers");
    let pushed = first.json();
    assert_eq!(pushed["uscc"], "91440300708461136T");
    assert_eq!(pushed["agent_phone"], "13200132000");

    // Staff push again without waiting out the backoff; the platform answers with the merge.
    let repush = format!("/api/v1/staff/applications/{id}/sync");
    let (status, body) = call(&app, Method::POST, &repush, &staff, None).await;
    assert_eq!(status, 200, "{body}");
    let (_, mine) = call(
        &app,
        Method::GET,
        &format!("/api/v1/applications/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status_of(&mine).as_deref(), Some("blocked"));
    assert_eq!(
        mine["sync_status_label"],
        "申请资料同步：需要进行单位信息合并"
    );
    let reason = mine["sync_reason"].as_str().unwrap();
    assert!(
        reason.contains("单位信息合并") && !reason.contains("JY-0001"),
        "{reason}"
    );
    // The agent is told by SMS (seed 000 FAQ (一)); staff see the accounts and the notices.
    let texts = sms_texts(&app, "13200132000").await;
    assert!(texts[0].contains("需要进行单位信息合并"), "{texts:?}");
    let (_, detail) = call(
        &app,
        Method::GET,
        &format!("/api/v1/staff/applications/{id}"),
        &staff,
        None,
    )
    .await;
    assert_eq!(detail["sync_accounts"], json!(["JY-0001", "JY-0002"]));
    let kinds: Vec<(&str, &str)> = detail["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("application_approved", "sent"), ("merge_required", "sent")]
    );

    // Staff merge into one of the platform's accounts; the application is pushed again.
    let merge = "/api/v1/staff/employers/91440300708461136T/merge";
    let (status, body) = call(
        &app,
        Method::POST,
        merge,
        &token,
        Some(json!({ "keep": "JY-0001" })),
    )
    .await;
    assert_eq!(status, 401, "applicants cannot merge: {body}");
    let (status, body) = call(
        &app,
        Method::POST,
        merge,
        &staff,
        Some(json!({ "keep": "JY-9999" })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("merge_account_unknown"))
    );
    assert_eq!(
        platform.received().len(),
        2,
        "nothing sent for a wrong account"
    );
    let (status, body) = call(
        &app,
        Method::POST,
        merge,
        &staff,
        Some(json!({ "keep": "JY-0001" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["absorbed"], json!(["JY-0002"]));
    assert_eq!(body["requeued"], json!([id]));
    let received = platform.received();
    assert_eq!(received.len(), 4);
    assert_eq!(
        received[2].target,
        "/api/ca/employers/91440300708461136T/merge"
    );
    let merge_sent = received[2].json();
    assert_eq!(merge_sent["keep"], "JY-0001");
    assert_eq!(merge_sent["absorb"], json!(["JY-0002"]));
    assert_eq!(merge_sent["operator"], "reviewer1");
    assert_eq!(received[3].target, "/api/ca/employers");
    let (_, mine) = call(
        &app,
        Method::GET,
        &format!("/api/v1/applications/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status_of(&mine).as_deref(), Some("synced"));
    assert_eq!(mine["sync_status_label"], "申请资料同步：数据已同步");
    assert!(mine["sync_reason"].is_null());

    // Nothing left to merge or push.
    let (status, body) = call(
        &app,
        Method::POST,
        merge,
        &staff,
        Some(json!({ "keep": "JY-0001" })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("merge_not_needed"))
    );
    let (status, body) = call(&app, Method::POST, &repush, &staff, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("sync_not_repushable"))
    );
    let entries = app.state.store.audit_entries(0, 100).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "sync.repush"));
    let merged = entries
        .iter()
        .find(|e| e.action == "employer.merge")
        .unwrap();
    assert_eq!(merged.actor, "staff:reviewer1");
    assert_eq!(merged.subject, "91440300708461136T");
}

/// The reviewer account (added the first time), signed in: its bearer token.
pub async fn staff_session(app: &TestApp) -> String {
    let added = app
        .state
        .staff
        .add_account(
            "reviewer1",
            "审核员一",
            "review2026now",
            StaffRole::Administrator,
            &Actor::Operator("test".into()),
        )
        .await;
    assert!(
        matches!(
            added,
            Ok(_) | Err(mcert_server::staff::StaffError::UsernameTaken)
        ),
        "{added:?}"
    );
    let signed = app
        .post_json(
            "/api/v1/staff/session",
            &json!({ "username": "reviewer1", "password": "review2026now" }),
            None,
        )
        .await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    signed.body["token"].as_str().unwrap().to_string()
}

/// `(name, address, employee_count)` of the employer of the test applications.
async fn employer_row(db: &sea_orm::DatabaseConnection) -> (String, Option<String>, Option<i32>) {
    use sea_orm::{ConnectionTrait as _, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT name, address, employee_count FROM employers WHERE uscc = '91440300708461136T'",
        ))
        .await
        .unwrap()
        .expect("the employer is registered");
    (
        row.try_get("", "name").unwrap(),
        row.try_get("", "address").unwrap(),
        row.try_get("", "employee_count").unwrap(),
    )
}

/// One employer record: the first submission registers the employer, an approval writes the
/// reviewed details, the employee count lives on it; and the migration that merged the employer
/// tables rolls back and applies again with the count kept.
#[tokio::test(flavor = "multi_thread")]
async fn one_employer_record_keeps_its_count_across_the_merge_migration() {
    use reqwest::Method;
    use sea_orm::{ConnectionTrait as _, Statement};
    let app = spawn_app_with(|s| s.agreement_countdown_secs = 1).await;
    let (_, first) = submitted(&app, "13300133200").await;
    let db = app.db().await;
    let address = Some("云南省昆明市西山区某某路 1 号".to_string());
    assert_eq!(
        employer_row(&db).await,
        ("昆明测试科技有限公司".into(), address.clone(), None)
    );
    let staff = approve(&app, first).await;
    let path = "/api/v1/staff/employers/91440300708461136T/employee-count";
    let body = Some(json!({ "employee_count": 150 }));
    let (status, _) = call(&app, Method::PUT, path, &staff, body).await;
    assert_eq!(status, 204);
    assert_eq!(
        employer_row(&db).await,
        ("昆明测试科技有限公司".into(), address.clone(), Some(150))
    );

    // Down to before the merge: the count is back in the old `employers` table, and `units` holds only employers
    // with certificates (none yet).
    let migrations = mcert_server::store::migration_status(&db).await.unwrap();
    let merge = migrations
        .iter()
        .position(|(name, _)| name == "m20261207_000027_merge_employers")
        .unwrap();
    let steps = u32::try_from(migrations.len() - merge).unwrap();
    mcert_server::store::migrate_down(&db, steps).await.unwrap();
    let backend = db.get_database_backend();
    let old = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT employee_count, employee_count_source FROM employers",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.try_get::<i32>("", "employee_count").unwrap(), 150);
    assert_eq!(
        old.try_get::<String>("", "employee_count_source").unwrap(),
        "staff"
    );
    let units = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM units",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(units.try_get::<i64>("", "n").unwrap(), 0);

    // Up again: one record, named as the application names it, with its count.
    mcert_server::store::migrate_up(&db).await.unwrap();
    assert_eq!(
        employer_row(&db).await,
        ("昆明测试科技有限公司".into(), None, Some(150))
    );
    // More than 100 employees: the next two are free.
    for phone in ["13300133201", "13300133202"] {
        let (token, id) = submitted(&app, phone).await;
        assert_eq!(billing_of(&app, &token, id).await, (false, None));
    }
}
