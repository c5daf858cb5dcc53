//! 信息变更 (seed 000 §五(二), FAQ (二)): the agent of an approved application changes the
//! employer's address or legal representative on the application site, staff approve or reject
//! the change; an approval reaches the application, the employer record and the employment
//! platform (pushed again with the next revision) and leaves the certificate as it was. What a
//! certificate names cannot change this way, and a refused change stores nothing.

use mcert_server::sync::SyncStore as _;
use serde_json::{Value, json};

use crate::{
    applicants::{TINY_PNG, sms_texts, upload},
    applications::{approve, staff_session, submitted},
    downloads::{Downloaded, app_with_platform, certificate_events, downloaded_application, ocsp},
    helpers::TestApp,
    login::PIN,
};

const NEW_ADDRESS: &str = "云南省昆明市五华区人民中路 9 号";
const NEW_LEGAL_NAME: &str = "王五";
const NEW_LEGAL_ID: &str = "530102198001010015";

/// A new upload of `purpose` by the applicant `token`: its id.
async fn uploaded(app: &TestApp, token: &str, purpose: &str) -> String {
    let (status, body) = upload(app, token, purpose, "scan.png", TINY_PNG.to_vec()).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// The application as its applicant sees it.
async fn application(app: &TestApp, token: &str, id: i64) -> Value {
    let shown = app
        .get_json(&format!("/api/v1/applications/{id}"), token)
        .await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    shown.body
}

/// The employer record's `(address, legal representative, ID number)`.
async fn employer_row(app: &TestApp) -> (String, String, String) {
    use sea_orm::{ConnectionTrait as _, Statement};
    let db = app.db().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT address, legal_rep_name, legal_rep_id_number FROM employers \
             WHERE uscc = '91440300708461136T'",
        ))
        .await
        .unwrap()
        .expect("the employer is registered");
    (
        row.try_get("", "address").unwrap(),
        row.try_get("", "legal_rep_name").unwrap(),
        row.try_get("", "legal_rep_id_number").unwrap(),
    )
}

/// The employer pushes the platform received, in order.
fn employer_pushes(platform: &mcert_testkit::FakeHttp) -> Vec<Value> {
    platform
        .received()
        .into_iter()
        .filter(|request| request.target == "/api/ca/employers")
        .map(|request| request.json())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_change_reaches_the_employer_and_the_platform_and_keeps_the_certificate() {
    let (app, platform) = app_with_platform().await;
    let Downloaded {
        applicant_token: applicant,
        application_id: id,
        mp_token,
        phone: held,
    } = downloaded_application(&app, "13900139200", "openid-13900139200", PIN).await;
    let before = application(&app, &applicant, id).await;
    assert_eq!(before["sync_status"], "synced");
    let pem = app.certificate_pem(&held.serial).await;
    app.state.sync.run_once().await.unwrap();
    let events_before = certificate_events(&platform);
    assert_eq!(
        events_before,
        [(held.serial.clone(), "activated".to_string())]
    );

    // The agent asks for a new address and legal representative, with the new licence; the
    // page sends the fields that cannot change as they are.
    let licence = uploaded(&app, &applicant, "licence").await;
    let changes = format!("/api/v1/applications/{id}/changes");
    let asked = app
        .post_json(
            &changes,
            &json!({
                "address": NEW_ADDRESS,
                "legal_representative_name": NEW_LEGAL_NAME,
                "legal_representative_id": NEW_LEGAL_ID,
                "licence_upload_id": licence,
                "name": "昆明测试科技有限公司",
                "uscc": "91440300708461136T",
                "agent_name": "张三",
                "agent_phone": "13900139200",
            }),
            Some(&applicant),
        )
        .await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    assert_eq!(asked.body["status_label"], "信息变更审核：待审核");
    assert_eq!(
        asked.body["changed"],
        json!([
            "address",
            "legal_representative_name",
            "legal_representative_id"
        ])
    );
    assert_eq!(
        asked.body["before"]["address"],
        "云南省昆明市西山区某某路 1 号"
    );
    assert_eq!(asked.body["after"]["legal_representative_id"], NEW_LEGAL_ID);
    let change = asked.body["id"].as_i64().unwrap();
    let (entry, detail) = app.audited("information_change.submit").await;
    assert!(entry.actor.starts_with("applicant:"), "{}", entry.actor);
    assert_eq!(detail["changed"].as_array().unwrap().len(), 3);

    // Staff see it in the queue, before and after; applicants cannot.
    let staff = staff_session(&app).await;
    let queue = app
        .get_json("/api/v1/staff/information-changes", &staff)
        .await;
    assert_eq!(queue.status, 200, "{:?}", queue.body);
    assert_eq!(queue.body["total"], 1);
    assert_eq!(queue.body["items"][0]["unit_name"], "昆明测试科技有限公司");
    let path = format!("/api/v1/staff/information-changes/{change}");
    assert_eq!(app.get_json(&path, &applicant).await.status, 401);
    let shown = app.get_json(&path, &staff).await;
    assert_eq!(shown.body["licence_upload_id"], licence.as_str());
    assert_eq!(shown.body["after"]["address"], NEW_ADDRESS);

    let approved = app
        .post_json(&format!("{path}/approve"), &json!({}), Some(&staff))
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert_eq!(approved.body["status_label"], "信息变更审核：审核通过");
    assert_eq!(approved.body["decided_by"], "reviewer1");
    assert_eq!(
        approved.body["notices"][0]["kind"],
        "information_change_approved"
    );
    let again = app
        .post_json(&format!("{path}/approve"), &json!({}), Some(&staff))
        .await;
    assert_eq!((again.status, again.code()), (409, "change_not_open"));

    // The application and the employer record carry the new details.
    let after = application(&app, &applicant, id).await;
    assert_eq!(after["enterprise"]["address"], NEW_ADDRESS);
    assert_eq!(
        after["enterprise"]["legal_representative_name"],
        NEW_LEGAL_NAME
    );
    assert_eq!(after["enterprise"]["licence_upload_id"], licence.as_str());
    assert_eq!(after["enterprise"]["name"], before["enterprise"]["name"]);
    assert_eq!(
        employer_row(&app).await,
        (
            NEW_ADDRESS.to_string(),
            NEW_LEGAL_NAME.to_string(),
            NEW_LEGAL_ID.to_string()
        )
    );
    let (entry, detail) = app.audited("information_change.approve").await;
    assert_eq!(entry.actor, "staff:reviewer1");
    assert_eq!(entry.subject, format!("information_change:{change}"));
    assert_eq!(detail["revision"], 1);

    // The platform gets the update although the application was synced long ago; the
    // download is not held up meanwhile.
    assert_eq!(after["sync_status"], "pending");
    let employers = app.get_json("/api/v1/mp/employers", &mp_token).await;
    assert_eq!(employers.body[0]["ready"], true, "{:?}", employers.body);
    app.state.sync.run_once().await.unwrap();
    let pushes = employer_pushes(&platform);
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert_eq!(pushes[0]["revision"], 0);
    let update = &pushes[1];
    assert_eq!(update["application_id"], id);
    assert_eq!(update["revision"], 1);
    assert_eq!(update["address"], NEW_ADDRESS);
    assert_eq!(update["legal_representative_name"], NEW_LEGAL_NAME);
    assert_eq!(update["legal_representative_id"], NEW_LEGAL_ID);
    assert_eq!(update["uscc"], "91440300708461136T");
    assert_eq!(
        application(&app, &applicant, id).await["sync_status"],
        "synced"
    );

    // The certificate is untouched: same serial, active, good in OCSP, it still signs, and
    // the platform heard of no certificate event.
    let certificates = app
        .get_json(
            &format!("/api/v1/applications/{id}/certificates"),
            &applicant,
        )
        .await;
    let listed = certificates.body.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["serial"], held.serial.as_str());
    assert_eq!(listed[0]["status_label"], "已激活");
    assert_eq!(ocsp(&app, "changed.pem", &pem).await, "good");
    app.verify_pin(&held, PIN).await.unwrap();
    assert_eq!(certificate_events(&platform), events_before);

    // The agent is told by SMS and sees the outcome.
    let texts = sms_texts(&app, "13900139200").await;
    assert!(
        texts[0].contains("的单位信息变更（单位地址、法定代表人）已审核通过"),
        "{texts:?}"
    );
    let listed = app.get_json(&changes, &applicant).await;
    assert_eq!(listed.body[0]["status"], "approved");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_change_changes_nothing_and_the_agent_may_ask_again() {
    let (app, platform) = app_with_platform().await;
    let (applicant, id) = submitted(&app, "13900139210").await;
    let staff = approve(&app, id).await;
    app.state.sync.run_once().await.unwrap();
    let before = application(&app, &applicant, id).await;
    let changes = format!("/api/v1/applications/{id}/changes");
    let asked = app
        .post_json(
            &changes,
            &json!({ "region_code": "530102", "address": NEW_ADDRESS }),
            Some(&applicant),
        )
        .await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    assert_eq!(asked.body["changed"], json!(["region_code", "address"]));
    let path = format!(
        "/api/v1/staff/information-changes/{}",
        asked.body["id"].as_i64().unwrap()
    );

    // A rejection needs a reason, as for an application.
    for reason in ["", "  ", &"长".repeat(201)] {
        let refused = app
            .post_json(
                &format!("{path}/reject"),
                &json!({ "reason": reason }),
                Some(&staff),
            )
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "reject_reason_missing")
        );
    }
    assert_eq!(
        app.get_json(&path, &staff).await.body["status"],
        "submitted"
    );

    let rejected = app
        .post_json(
            &format!("{path}/reject"),
            &json!({ "reason": "营业执照上的住所与填写的地址不一致。" }),
            Some(&staff),
        )
        .await;
    assert_eq!(rejected.status, 200, "{:?}", rejected.body);
    assert_eq!(rejected.body["status_label"], "信息变更审核：审核驳回");
    let approve_after = app
        .post_json(&format!("{path}/approve"), &json!({}), Some(&staff))
        .await;
    assert_eq!(
        (approve_after.status, approve_after.code()),
        (409, "change_not_open")
    );

    // Nothing else changed: the step, the push, the employer record.
    let after = application(&app, &applicant, id).await;
    assert_eq!(after["enterprise"], before["enterprise"]);
    assert_eq!(after["sync_status"], "synced");
    assert_eq!(app.state.sync.run_once().await.unwrap(), 0);
    assert_eq!(employer_pushes(&platform).len(), 1);
    assert_eq!(employer_row(&app).await.0, "云南省昆明市西山区某某路 1 号");
    let (_, detail) = app.audited("information_change.reject").await;
    assert_eq!(detail["reason"], "营业执照上的住所与填写的地址不一致。");

    // The agent reads the reason (SMS and list) and asks again.
    let texts = sms_texts(&app, "13900139210").await;
    assert!(
        texts[0].contains(
            "的单位信息变更审核驳回，驳回原因：营业执照上的住所与填写的地址不一致。请登录申请网页"
        ),
        "{texts:?}"
    );
    let listed = app.get_json(&changes, &applicant).await;
    assert_eq!(listed.body[0]["status"], "rejected");
    assert_eq!(
        listed.body[0]["reject_reason"],
        "营业执照上的住所与填写的地址不一致。"
    );
    let again = app
        .post_json(
            &changes,
            &json!({ "address": NEW_ADDRESS }),
            Some(&applicant),
        )
        .await;
    assert_eq!(again.status, 201, "{:?}", again.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_changes_store_nothing() {
    let (app, _platform) = app_with_platform().await;
    let (applicant, id) = submitted(&app, "13900139220").await;
    approve(&app, id).await;
    let before = application(&app, &applicant, id).await;
    let changes = format!("/api/v1/applications/{id}/changes");
    let licence = uploaded(&app, &applicant, "licence").await;
    let id_front = uploaded(&app, &applicant, "id_front").await;
    let ask = |body: Value| {
        let app = &app;
        let changes = &changes;
        let applicant = &applicant;
        async move { app.post_json(changes, &body, Some(applicant)).await }
    };

    // What a certificate names: revoke and apply anew, as the seed says.
    for body in [
        json!({ "name": "昆明新名称科技有限公司", "address": NEW_ADDRESS }),
        json!({ "uscc": "91530102MA6K000000" }),
        json!({ "agent_name": "赵六" }),
        json!({ "agent_id_number": NEW_LEGAL_ID }),
        json!({ "agent_phone": "13900139299" }),
    ] {
        let refused = ask(body.clone()).await;
        assert_eq!(
            (refused.status, refused.code()),
            (422, "change_needs_new_application"),
            "{body}"
        );
        let message = refused.body["message"].as_str().unwrap();
        assert!(
            message.contains("证书废除") && message.contains("重新申请"),
            "{message}"
        );
    }
    // Bad values are the enterprise step's refusals.
    for (body, status, code) in [
        (json!({}), 400, "change_nothing_changed"),
        (
            json!({ "address": " 云南省昆明市西山区某某路 1 号 ", "name": "昆明测试科技有限公司" }),
            400,
            "change_nothing_changed",
        ),
        (
            json!({ "region_code": "530000" }),
            400,
            "application_field_invalid",
        ),
        (
            json!({ "region_code": "990112" }),
            400,
            "application_field_invalid",
        ),
        (
            json!({ "legal_representative_name": NEW_LEGAL_NAME, "legal_representative_id": "530102198001010016", "licence_upload_id": licence }),
            400,
            "id_number_checksum",
        ),
        (
            json!({ "legal_representative_name": NEW_LEGAL_NAME, "legal_representative_id": NEW_LEGAL_ID }),
            400,
            "change_licence_required",
        ),
        (
            json!({ "legal_representative_id": NEW_LEGAL_ID, "licence_upload_id": id_front }),
            400,
            "upload_wrong_purpose",
        ),
        (
            json!({ "address": NEW_ADDRESS, "contact_phone": "0871-1" }),
            400,
            "bad_request",
        ),
    ] {
        let refused = ask(body.clone()).await;
        assert_eq!((refused.status, refused.code()), (status, code), "{body}");
    }
    // Not the applicant's, or not approved.
    let (other, other_id) = submitted(&app, "13900139221").await;
    let foreign = app
        .post_json(
            &format!("/api/v1/applications/{other_id}/changes"),
            &json!({ "address": NEW_ADDRESS }),
            Some(&applicant),
        )
        .await;
    assert_eq!(
        (foreign.status, foreign.code()),
        (404, "application_not_found")
    );
    let listed = app
        .get_json(&format!("/api/v1/applications/{id}/changes"), &other)
        .await;
    assert_eq!(listed.status, 404);
    let pending = app
        .post_json(
            &format!("/api/v1/applications/{other_id}/changes"),
            &json!({ "address": NEW_ADDRESS }),
            Some(&other),
        )
        .await;
    assert_eq!(
        (pending.status, pending.code()),
        (409, "change_application_not_approved")
    );

    // Nothing was stored: no change, no audit entry, the step as it was.
    assert_eq!(app.get_json(&changes, &applicant).await.body, json!([]));
    let entries = app.state.store.audit_entries(0, 1000).await.unwrap();
    assert!(
        !entries
            .iter()
            .any(|e| e.action.starts_with("information_change.")),
        "{entries:?}"
    );
    assert_eq!(
        application(&app, &applicant, id).await["enterprise"],
        before["enterprise"]
    );

    // One change waits for review at a time.
    let first = ask(json!({ "address": NEW_ADDRESS })).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let second = ask(json!({ "address": "云南省昆明市盘龙区另一个地址 3 号" })).await;
    assert_eq!((second.status, second.code()), (409, "change_open_exists"));
    assert_eq!(
        app.get_json(&changes, &applicant)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A worker pushing the application's old details when a change is approved does not record
/// its outcome over the update: the new revision is pushed next, whatever the old push said.
#[tokio::test(flavor = "multi_thread")]
async fn a_push_of_the_old_details_does_not_hide_the_update() {
    let (app, platform) = app_with_platform().await;
    let (applicant, id) = submitted(&app, "13900139230").await;
    let staff = approve(&app, id).await;
    // The worker's side of the outbox, on the instance's database.
    let store = mcert_server::store::SeaStore::new(app.db().await, app.clock.clone());

    // A worker takes the approval's push…
    let now = app.state.clock.now();
    let mut due = store.due(now, 10).await.unwrap();
    let row = due.pop().unwrap();
    assert_eq!((row.application_id, row.payload.revision), (id, 0));
    assert!(
        store
            .claim(&row, now + chrono::TimeDelta::seconds(60))
            .await
            .unwrap()
    );
    // …a change is approved meanwhile…
    let asked = app
        .post_json(
            &format!("/api/v1/applications/{id}/changes"),
            &json!({ "address": NEW_ADDRESS }),
            Some(&applicant),
        )
        .await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let approved = app
        .post_json(
            &format!(
                "/api/v1/staff/information-changes/{}/approve",
                asked.body["id"]
            ),
            &json!({}),
            Some(&staff),
        )
        .await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    // …and the worker reports the old push delivered.
    let mut done = row.clone();
    done.delivery.delivered(Some("JY-OLD".into()));
    store.record(&done, None).await.unwrap();

    let state = app
        .state
        .sync
        .states(&[id])
        .await
        .unwrap()
        .remove(&id)
        .unwrap();
    assert_eq!(state.payload.revision, 1);
    assert_eq!(state.payload.address.as_deref(), Some(NEW_ADDRESS));
    assert_eq!(state.delivery.status.as_str(), "pending");
    assert_eq!(app.state.sync.run_once().await.unwrap(), 1);
    let pushes = employer_pushes(&platform);
    assert_eq!(pushes.last().unwrap()["revision"], 1);
    assert_eq!(
        application(&app, &applicant, id).await["sync_status"],
        "synced"
    );
}
