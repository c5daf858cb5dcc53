//! The signature log: every co-signature a mobile key completed and every wrong PIN proof,
//! with the session it belongs to, in the hash-chained audit log. The holder reads their
//! certificate's history, staff search it, and deleting a row breaks the chain.

use mcert_server::portals::ClientKind;

use crate::{
    downloads::downloaded,
    helpers::app_without_workers,
    login::{PIN, logged_in, portal},
};

#[tokio::test(flavor = "multi_thread")]
async fn every_signature_and_wrong_pin_is_logged_with_its_session() {
    let app = app_without_workers(None).await;
    let (client, secret) = portal(&app, ClientKind::Confidential).await;
    let secret = secret.unwrap();
    let (token, held) = downloaded(&app, "13900139120", "openid-13900139120", PIN).await;
    let refused = app.verify_pin(&held, "000000").await.unwrap_err();
    assert_eq!(refused.code(), "pin_incorrect");
    app.verify_pin(&held, PIN).await.unwrap();
    let (claims, _) = logged_in(&app, (&client, &secret), "openid employer", &token, &held).await;

    let history = app
        .get_json(
            &format!("/api/v1/mp/certificates/{}/signatures", held.serial),
            &token,
        )
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    let entries = history.body.as_array().unwrap();
    let seen: Vec<(&str, &str)> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap(),
                e["purpose"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("signed", "key_enrolment"),
            ("pin_failed", "verify_pin"),
            ("signed", "verify_pin"),
            ("signed", "login"),
        ]
    );
    let login = &entries[0];
    assert_eq!(login["portal"], client.as_str());
    assert_eq!(login["login_session"], claims.sid.as_str());
    assert_eq!(login["serial"], held.serial.as_str());
    assert_eq!(login["message_sm3"].as_str().unwrap().len(), 64);

    // Another person's history is not theirs to read; staff search by employer and time.
    let stranger = crate::people::mp_session(&app, "openid-stranger").await;
    let face = "dev-pass:王五:532701198001013310:openid-stranger";
    let verified = crate::people::verify(&app, &stranger, "王五", "532701198001013310", face).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let refused = app
        .get_json(
            &format!("/api/v1/mp/certificates/{}/signatures", held.serial),
            &stranger,
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "certificate_not_held"),
        "{:?}",
        refused.body
    );
    let staff = crate::applications::staff_session(&app).await;
    let by_employer = app
        .get_json("/api/v1/staff/signatures?uscc=91440300708461136T", &staff)
        .await;
    assert_eq!(by_employer.status, 200, "{:?}", by_employer.body);
    assert_eq!(by_employer.body.as_array().unwrap().len(), 4);
    let since = (app.state.clock.now() + chrono::TimeDelta::seconds(1)).to_rfc3339();
    let later = app
        .client
        .get(format!("{}/api/v1/staff/signatures", app.address))
        .query(&[("serial", held.serial.as_str()), ("since", since.as_str())])
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(later.status(), 200);
    assert!(later.json::<serde_json::Value>().await.unwrap()[0].is_null());

    // Deleting a row of the log is seen: the chain no longer verifies.
    let entries = app.state.store.audit_entries(0, 500).await.unwrap();
    mcert_server::audit::verify_chain(&entries).unwrap();
    use sea_orm::{ConnectionTrait as _, Statement};
    let db = app.db().await;
    let seq = login["seq"].as_i64().unwrap();
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!("DELETE FROM audit_log WHERE seq = {}", seq - 1),
    ))
    .await
    .unwrap();
    let entries = app.state.store.audit_entries(0, 500).await.unwrap();
    assert!(mcert_server::audit::verify_chain(&entries).is_err());
}
