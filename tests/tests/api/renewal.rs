//! 年审延期 (seed 000 §五(三), seed 003 第三条): from 30 days before expiry the holder renews a
//! mobile certificate with the PIN; the new certificate has the same key, a new serial and a year
//! more, and the old one stops at the moment it activates. Too early, or after the holder's
//! phone changed, the renewal is refused and nothing is stored. A USB key renews from a new CSR
//! by staff. The server's clock is moved, never waited for.

use std::time::Duration;

use mcert_server::{audit::Actor, certificates::Standing, domain::CertificateSerial};
use mcert_signer::{message::SignedMessage, share::MaskedShare};
use serde_json::{Value, json};

use crate::{
    applicants::sms_texts,
    applications::staff_session,
    downloads::{Downloaded, app_with_platform, downloaded_application, ocsp},
    helpers::{TestApp, openssl, s},
    login::PIN,
    people::bind,
    phone::{TestPhone, unb64},
};

const DAY: Duration = Duration::from_secs(86_400);

/// Moves the server's clock to `days` before `serial`'s end of validity.
async fn move_to_days_before(app: &TestApp, serial: &str, days: u32) {
    let certificate = app
        .state
        .authority
        .certificate(&CertificateSerial::parse(serial).unwrap())
        .await
        .unwrap();
    let left = (certificate.not_after - app.state.clock.now())
        .to_std()
        .unwrap();
    app.advance(left - DAY * days).await;
}

/// A new mini-program session of the verified `openid` (the old one expired with the clock).
async fn sign_in_again(app: &TestApp, openid: &str, nonce: u32) -> String {
    let signed = app
        .post_json(
            "/api/v1/mp/session",
            &json!({ "code": format!("dev:{openid}:{nonce}") }),
            None,
        )
        .await;
    assert_eq!(signed.status, 201, "{:?}", signed.body);
    signed.body["token"].as_str().unwrap().to_string()
}

/// `phone` holding its key under the certificate `serial`.
fn under(phone: &TestPhone, serial: &str) -> TestPhone {
    TestPhone {
        share: MaskedShare::from_bytes(&phone.share.to_bytes()).unwrap(),
        serial: serial.to_string(),
        public_key: phone.public_key.clone(),
        device_token: phone.device_token.clone(),
    }
}

/// The certificates of application `id` (serial, status label, role), oldest first, read from
/// the registry (the applicant's session on the site has expired with the clock).
async fn listed(app: &TestApp, id: i64) -> Vec<(String, &'static str, &'static str)> {
    let now = app.state.clock.now();
    app.state
        .store
        .application_certificates(id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            let label = Standing::of(&c, now).label_zh();
            (c.serial.to_string(), label, c.role.as_str())
        })
        .collect()
}

/// `openssl x509` on `pem`, printing `what` (`-pubkey`, `-serial`, …).
fn x509(app: &TestApp, name: &str, pem: &str, what: &str) -> String {
    let path = app.path(name);
    std::fs::write(&path, pem).unwrap();
    openssl(&["x509", "-in", s(&path), "-noout", what])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_20_days_before_expiry_follows_with_the_same_key() {
    let (app, platform) = app_with_platform().await;
    let openid = "openid-13900139120";
    let Downloaded {
        application_id,
        mp_token,
        phone,
        ..
    } = downloaded_application(&app, "13900139120", openid, PIN).await;
    let path = format!("/api/v1/mp/certificates/{}/renewal", phone.serial);

    // A year before expiry: too early, with the day it opens.
    let early = app.post_json(&path, &json!({}), Some(&mp_token)).await;
    assert_eq!((early.status, early.code()), (409, "renewal_too_early"));
    assert!(
        early.body["message"].as_str().unwrap().contains("起再办理"),
        "{:?}",
        early.body
    );
    // 40 days before: still too early, and nothing was recorded.
    move_to_days_before(&app, &phone.serial, 40).await;
    let token = sign_in_again(&app, openid, 2).await;
    let still = app.post_json(&path, &json!({}), Some(&token)).await;
    assert_eq!((still.status, still.code()), (409, "renewal_too_early"));
    assert_eq!(listed(&app, application_id).await.len(), 1);

    // 20 days before: a renewal_request naming the certificate that follows.
    app.advance(DAY * 20).await;
    let token = sign_in_again(&app, openid, 3).await;
    let old = app
        .state
        .authority
        .certificate(&CertificateSerial::parse(&phone.serial).unwrap())
        .await
        .unwrap();
    let session = app.post_json(&path, &json!({}), Some(&token)).await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    let Ok(SignedMessage::RenewalRequest(request)) =
        SignedMessage::decode(&unb64(&session.body["message"]))
    else {
        panic!("a renewal_request: {:?}", session.body);
    };
    assert_eq!(request.serial, phone.serial);
    assert_eq!(
        request.new_serial,
        session.body["new_serial"].as_str().unwrap()
    );
    assert_ne!(request.new_serial, phone.serial);
    let one_more_year = old.not_after + chrono::TimeDelta::days(365);
    assert_eq!(request.not_after, one_more_year.timestamp());

    // A wrong PIN renews nothing; the PIN does.
    let old_pem = app.certificate_pem(&phone.serial).await;
    let wrong = app
        .cosign(&session.body, &phone.public_key, &phone.share, "000000")
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "pin_incorrect");
    assert_eq!(ocsp(&app, "old-wrong-pin.pem", &old_pem).await, "good");
    let done = app
        .cosign(&session.body, &phone.public_key, &phone.share, PIN)
        .await
        .unwrap();
    assert_eq!(done["purpose"], "renewal_request");
    assert_eq!(done["serial"], request.new_serial.as_str());
    assert_eq!(done["renewal"]["previous_serial"], phone.serial.as_str());
    assert_eq!(
        done["renewal"]["fee_yuan"],
        Value::Null,
        "a free certificate renews free"
    );
    let new_pem = done["certificate"].as_str().unwrap().to_string();

    // Same key, new serial, a chain openssl accepts (at the server's time); the old one is
    // revoked as superseded at that moment, and only the new one signs.
    assert_eq!(
        x509(&app, "old.pem", &old_pem, "-pubkey"),
        x509(&app, "new.pem", &new_pem, "-pubkey")
    );
    let (issuing, _) = app.write_chain().await;
    let at = app.state.clock.now().timestamp().to_string();
    let verified = openssl(&[
        "verify",
        "-vfyopt",
        "distid:1234567812345678",
        "-attime",
        &at,
        "-partial_chain",
        "-CAfile",
        s(&issuing),
        s(&app.path("new.pem")),
    ]);
    assert!(verified.contains(": OK"), "{verified}");
    assert_eq!(ocsp(&app, "old-after.pem", &old_pem).await, "revoked");
    assert_eq!(ocsp(&app, "new-after.pem", &new_pem).await, "good");
    let refused = app.verify_pin(&phone, PIN).await.unwrap_err();
    assert_eq!(refused.code(), "certificate_not_usable");
    let renewed = under(&phone, &request.new_serial);
    app.verify_pin(&renewed, PIN).await.unwrap();
    assert_eq!(
        listed(&app, application_id).await,
        [
            (phone.serial.clone(), "已废除", "primary"),
            (request.new_serial.clone(), "已激活", "primary")
        ],
        "the role goes with the key"
    );

    // Asking again with the old certificate, or replaying the signed session: refused.
    let again = app.post_json(&path, &json!({}), Some(&token)).await;
    assert_eq!((again.status, again.code()), (409, "renewal_not_in_force"));
    let replay = app
        .post_json(
            &format!(
                "/api/v1/cosign/{}/signature",
                session.body["session_id"].as_str().unwrap()
            ),
            &json!({ "signature": "MEUCIQ==" }),
            None,
        )
        .await;
    assert_eq!(
        (replay.status, replay.code()),
        (404, "cosign_session_not_found"),
        "a signed renewal request is used once"
    );

    // The platform hears the new certificate and the old one's supersession; the holder an SMS;
    // the signature log names the renewal.
    app.state.sync.run_once().await.unwrap();
    let events: Vec<(String, String)> = platform
        .received_at("POST", "/api/ca/certificates")
        .into_iter()
        .map(|request| {
            let body = request.json();
            (
                body["serial"].as_str().unwrap().to_string(),
                body["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        events.contains(&(request.new_serial.clone(), "activated".into()))
            && events.contains(&(phone.serial.clone(), "revoked".into())),
        "{events:?}"
    );
    app.state.notices.run_once().await.unwrap();
    let texts = sms_texts(&app, "13900139120").await;
    assert!(
        texts.iter().any(|text| text.contains("已完成年审延期")),
        "{texts:?}"
    );
    let log = app
        .get_json(
            &format!("/api/v1/mp/certificates/{}/signatures", phone.serial),
            &token,
        )
        .await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    assert!(
        log.body
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["purpose"] == "renewal_request"),
        "{:?}",
        log.body
    );

    // Staff see the renewal; a free one owes nothing.
    let staff = staff_session(&app).await;
    let renewals = app.get_json("/api/v1/staff/renewals", &staff).await;
    assert_eq!(renewals.status, 200, "{:?}", renewals.body);
    assert_eq!(renewals.body[0]["serial"], request.new_serial.as_str());
    let id = renewals.body[0]["id"].as_i64().unwrap();
    let pay = app
        .post_json(
            &format!("/api/v1/staff/renewals/{id}/payment"),
            &json!({}),
            Some(&staff),
        )
        .await;
    assert_eq!((pay.status, pay.code()), (409, "renewal_nothing_due"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_after_the_holders_phone_changed_is_refused() {
    let (app, _platform) = app_with_platform().await;
    let openid = "openid-13900139121";
    let Downloaded {
        application_id,
        phone,
        ..
    } = downloaded_application(&app, "13900139121", openid, PIN).await;
    move_to_days_before(&app, &phone.serial, 20).await;
    let token = sign_in_again(&app, openid, 2).await;

    // The holder moves to another phone number: binds it, unbinds the applying one.
    let bound = bind(&app, &token, "13900139122").await;
    assert_eq!(bound.status, 200, "{:?}", bound.body);
    let unbound = app
        .client
        .delete(format!("{}/api/v1/mp/phones/13900139121", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(unbound.status().is_success(), "{unbound:?}");

    let path = format!("/api/v1/mp/certificates/{}/renewal", phone.serial);
    let refused = app.post_json(&path, &json!({}), Some(&token)).await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "renewal_details_changed")
    );
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains("证书使用人手机号") && message.contains("证书废除"),
        "{message}"
    );
    assert_eq!(listed(&app, application_id).await.len(), 1);
    app.verify_pin(&phone, PIN).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_renew_a_usb_key_from_a_new_csr() {
    let (app, _platform) = app_with_platform().await;
    let csr = app.openssl_csr("token-2026");
    let unit =
        mcert_server::ca::UnitDraft::parse("91440300708461136T", "昆明测试科技有限公司").unwrap();
    let holder =
        mcert_server::ca::HolderDraft::parse("张三", "11010519491231002X", "13800138000").unwrap();
    let issued = app
        .state
        .authority
        .issue_physical(&csr, unit, holder, &Actor::Operator("test".into()))
        .await
        .unwrap();
    let serial = issued.record.serial.clone();
    let renew = |csr: Vec<u8>| {
        let app = &app;
        let serial = serial.clone();
        async move {
            app.state
                .renewals
                .physical(&serial, &csr, &Actor::Operator("test".into()))
                .await
        }
    };
    let new_csr = app.openssl_csr("token-2027");
    let early = renew(new_csr.clone()).await.unwrap_err();
    assert_eq!(
        mcert_server::failure::Describe::describe(&early).code,
        "renewal_too_early"
    );
    move_to_days_before(&app, serial.as_str(), 10).await;
    let renewed = renew(new_csr).await.unwrap();
    assert_eq!(renewed.renewal.previous_serial, serial);
    assert_eq!(
        renewed.renewal.not_after,
        issued.record.not_after + chrono::TimeDelta::days(365)
    );
    let old = app.state.authority.certificate(&serial).await.unwrap();
    assert!(old.revocation.is_some(), "superseded at once");
    let new = app
        .state
        .authority
        .certificate(&renewed.renewal.serial)
        .await
        .unwrap();
    assert_eq!(new.role, old.role);
    assert_ne!(new.public_key, old.public_key, "the token's new key");
    let (_, entry) = app.audited("certificate.renew").await;
    assert_eq!(entry["previous"], serial.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_billable_sub_certificate_renews_for_its_fee_and_keeps_its_grants() {
    use mcert_server::grants::{GrantChange, ItemGrant};

    use crate::grants::{portal_with_items, primary_and_sub, record};

    let app = crate::helpers::app_without_workers(None).await;
    let (_, primary, sub) = primary_and_sub(&app, ["13900139125", "13900139126"]).await;
    let (client, _) = portal_with_items(&app).await;
    let portal = app.state.portals.get(&client).await.unwrap().unwrap();
    let training = ItemGrant {
        code: "training".into(),
        starts_at: None,
        ends_at: None,
    };
    app.state
        .grants
        .set(
            &record(&app, &primary).await,
            &record(&app, &sub).await,
            &portal,
            GrantChange {
                grant_id: "v0".into(),
                items: vec![training],
                signed: None,
            },
            &Actor::Phone,
        )
        .await
        .unwrap();

    move_to_days_before(&app, &sub.serial, 20).await;
    let token = sign_in_again(&app, "openid-13900139125", 2).await;
    let session = app
        .post_json(
            &format!("/api/v1/mp/certificates/{}/renewal", sub.serial),
            &json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    let done = app
        .cosign(&session.body, &sub.public_key, &sub.share, PIN)
        .await
        .unwrap();
    assert_eq!(done["renewal"]["fee_yuan"], 160, "seeds 001/003: 160 元/年");
    let renewed = under(&sub, done["serial"].as_str().unwrap());
    let renewed = record(&app, &renewed).await;
    assert_eq!(renewed.role.as_str(), "sub");
    let allowed = app.state.grants.allowed(&renewed, &portal).await.unwrap();
    assert_eq!(allowed.items, ["training"], "the grants go with the key");

    // Staff record the payment once.
    let staff = staff_session(&app).await;
    let unpaid = app
        .get_json("/api/v1/staff/renewals?unpaid=true", &staff)
        .await;
    assert_eq!(unpaid.status, 200, "{:?}", unpaid.body);
    assert_eq!(
        unpaid.body.as_array().unwrap().len(),
        1,
        "{:?}",
        unpaid.body
    );
    let id = unpaid.body[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/staff/renewals/{id}/payment");
    let paid = app.post_json(&path, &json!({}), Some(&staff)).await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert!(paid.body["paid_at"].is_string(), "{:?}", paid.body);
    let again = app.post_json(&path, &json!({}), Some(&staff)).await;
    assert_eq!((again.status, again.code()), (409, "renewal_nothing_due"));
    let unknown = app
        .post_json(
            "/api/v1/staff/renewals/999999/payment",
            &json!({}),
            Some(&staff),
        )
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, "renewal_not_found"));
    let unpaid = app
        .get_json("/api/v1/staff/renewals?unpaid=true", &staff)
        .await;
    assert!(
        unpaid.body.as_array().unwrap().is_empty(),
        "{:?}",
        unpaid.body
    );
    let (_, entry) = app.audited("renewal.paid").await;
    assert_eq!(entry["fee_yuan"], 160);
}
