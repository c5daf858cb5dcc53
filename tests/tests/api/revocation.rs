//! 证书废除 (seed 000 §五(一), FAQ (二)): the agent revokes a certificate of their application on
//! the application site, signed in with the applying phone and an SMS code, and staff revoke
//! with a cause. Either takes effect at once: OCSP and the CRL say revoked with the cause's
//! RFC 5280 reason, the key signs nothing more, and the employment platform hears the cause.

use serde_json::json;

use crate::{
    applications::submitted,
    downloads::{Downloaded, app_with_platform, certificate_events, downloaded_application, ocsp},
    login::PIN,
};

/// Pushes what is due to the platform; the last certificate event it received.
async fn last_certificate_push(
    app: &crate::helpers::TestApp,
    platform: &mcert_testkit::FakeHttp,
) -> serde_json::Value {
    app.state.sync.run_once().await.unwrap();
    platform
        .received()
        .into_iter()
        .rev()
        .find(|request| request.target == "/api/ca/certificates")
        .unwrap()
        .json()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_revokes_a_certificate_of_their_application_for_a_cause() {
    let (app, platform) = app_with_platform().await;
    let Downloaded {
        applicant_token: applicant,
        application_id: id,
        phone: held,
        ..
    } = downloaded_application(&app, "13900139100", "openid-13900139100", PIN).await;
    let certificates = format!("/api/v1/applications/{id}/certificates");
    let listed = app.get_json(&certificates, &applicant).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body[0]["serial"], held.serial.as_str());
    assert_eq!(listed.body[0]["status_label"], "已激活");
    let pem = app.certificate_pem(&held.serial).await;
    assert_eq!(ocsp(&app, "before.pem", &pem).await, "good");

    // Bad input changes nothing.
    let path = format!("{certificates}/{}/revocation", held.serial);
    let unknown = app
        .post_json(&path, &json!({ "cause": "bored" }), Some(&applicant))
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "revocation_cause_unknown")
    );
    assert!(
        unknown.body["message"]
            .as_str()
            .unwrap()
            .contains("证书使用人手机号变更（phone_changed）"),
        "{:?}",
        unknown.body
    );
    let (other, other_id) = submitted(&app, "13900139101").await;
    let foreign = app
        .post_json(
            &format!(
                "/api/v1/applications/{other_id}/certificates/{}/revocation",
                held.serial
            ),
            &json!({ "cause": "phone_changed" }),
            Some(&other),
        )
        .await;
    assert_eq!(
        (foreign.status, foreign.code()),
        (404, "certificate_not_found")
    );
    let not_theirs = app
        .post_json(&path, &json!({ "cause": "phone_changed" }), Some(&other))
        .await;
    assert_eq!(
        (not_theirs.status, not_theirs.code()),
        (404, "application_not_found")
    );
    assert_eq!(ocsp(&app, "still.pem", &pem).await, "good");

    let revoked = app
        .post_json(
            &path,
            &json!({ "cause": "phone_changed" }),
            Some(&applicant),
        )
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.body["reason"], "affiliationChanged");
    assert_eq!(revoked.body["cause_zh"], "证书使用人手机号变更");
    let again = app
        .post_json(
            &path,
            &json!({ "cause": "phone_changed" }),
            Some(&applicant),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (409, "certificate_already_revoked")
    );

    // At once: OCSP, the CRL, no co-signature, the listing; the platform hears the cause.
    assert_eq!(ocsp(&app, "after.pem", &pem).await, "revoked");
    let crl = app.get("/pki/crl").await.bytes().await.unwrap();
    let crl_path = app.path("ca.crl");
    std::fs::write(&crl_path, &crl).unwrap();
    let text = crate::helpers::openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crate::helpers::s(&crl_path),
        "-noout",
        "-text",
    ]);
    assert!(text.contains(&held.serial), "{text}");
    assert!(text.contains("Affiliation Changed"), "{text}");
    let refused = app.verify_pin(&held, PIN).await.unwrap_err();
    assert_eq!(refused.code(), "certificate_not_usable");
    let listed = app.get_json(&certificates, &applicant).await;
    assert_eq!(listed.body[0]["status_label"], "已废除");
    assert_eq!(listed.body[0]["revocation_cause"], "phone_changed");

    // The agent applies anew (重新申请); the old application stays in their history.
    let fresh = app
        .post_json("/api/v1/applications", &json!({}), Some(&applicant))
        .await;
    assert_eq!(fresh.status, 201, "{:?}", fresh.body);
    let history = app.get_json("/api/v1/applications", &applicant).await;
    let ids: Vec<_> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&id) && ids.len() == 2, "{ids:?}");

    let pushed = last_certificate_push(&app, &platform).await;
    let events = certificate_events(&platform);
    assert_eq!(
        events.last().unwrap(),
        &(held.serial.clone(), "revoked".into())
    );
    assert_eq!(
        pushed["revocation"],
        json!({
            "reason": "affiliationChanged",
            "cause": "phone_changed",
            "cause_zh": "证书使用人手机号变更",
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_revoke_with_a_cause_and_are_audited() {
    let (app, _platform) = app_with_platform().await;
    let held = downloaded_application(&app, "13900139102", "openid-13900139102", PIN)
        .await
        .phone;
    let staff = crate::applications::staff_session(&app).await;
    let path = format!("/api/v1/staff/certificates/{}/revocation", held.serial);
    let anonymous = app
        .post_json(&path, &json!({ "cause": "key_compromise" }), None)
        .await;
    assert_eq!(anonymous.status, 401);
    let revoked = app
        .post_json(&path, &json!({ "cause": "key_compromise" }), Some(&staff))
        .await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.body["reason"], "keyCompromise");
    let pem = app.certificate_pem(&held.serial).await;
    assert_eq!(ocsp(&app, "staff.pem", &pem).await, "revoked");

    let (entry, detail) = app.audited("certificate.revoke").await;
    assert!(entry.actor.starts_with("staff:"), "{}", entry.actor);
    assert_eq!(detail["cause"], "key_compromise");
    assert_eq!(detail["reason"], "keyCompromise");
}

/// 证书废除 in the mini-program: the holder co-signs a `revocation_request` with the PIN; a wrong
/// PIN changes nothing, the right one revokes at once for the cause the message names.
#[tokio::test(flavor = "multi_thread")]
async fn the_holder_revokes_in_the_mini_program_with_the_pin() {
    use mcert_signer::message::SignedMessage;
    let (app, platform) = app_with_platform().await;
    let Downloaded {
        mp_token, phone, ..
    } = downloaded_application(&app, "13900139104", "openid-13900139104", PIN).await;
    let path = format!("/api/v1/mp/certificates/{}/revocation", phone.serial);
    let unknown = app
        .post_json(&path, &json!({ "cause": "bored" }), Some(&mp_token))
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "revocation_cause_unknown")
    );
    let session = app
        .post_json(
            &path,
            &json!({ "cause": "key_compromise" }),
            Some(&mp_token),
        )
        .await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    let Ok(SignedMessage::RevocationRequest(request)) =
        SignedMessage::decode(&crate::phone::unb64(&session.body["message"]))
    else {
        panic!("a revocation_request: {:?}", session.body);
    };
    assert_eq!(request.serial, phone.serial);
    assert_eq!(request.cause, "key_compromise");
    assert_eq!(request.unit_name, "昆明测试科技有限公司");

    let pem = app.certificate_pem(&phone.serial).await;
    let wrong = app
        .cosign(&session.body, &phone.public_key, &phone.share, "000000")
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "pin_incorrect");
    assert_eq!(ocsp(&app, "wrong-pin.pem", &pem).await, "good");
    let done = app
        .cosign(&session.body, &phone.public_key, &phone.share, PIN)
        .await
        .unwrap();
    assert_eq!(done["purpose"], "revocation_request");
    assert_eq!(done["revocation"]["reason"], "keyCompromise");
    assert_eq!(done["revocation"]["cause"], "key_compromise");
    assert_eq!(ocsp(&app, "holder.pem", &pem).await, "revoked");
    let again = app
        .post_json(
            &path,
            &json!({ "cause": "key_compromise" }),
            Some(&mp_token),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (409, "certificate_already_revoked")
    );
    let pushed = last_certificate_push(&app, &platform).await;
    assert_eq!(pushed["event"], "revoked");
    assert_eq!(pushed["revocation"]["cause"], "key_compromise");
    // The signature log has the request beside the wrong PIN.
    let history = app
        .get_json(
            &format!("/api/v1/mp/certificates/{}/signatures", phone.serial),
            &mp_token,
        )
        .await;
    let outcomes: Vec<_> = history.body.as_array().unwrap()[..2]
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["outcome"].as_str().unwrap(),
                e["purpose"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        ["signed:revocation_request", "pin_failed:revocation_request"]
    );
}
