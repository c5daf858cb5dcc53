//! Staff accounts: Argon2id passwords, lockout after five wrong passwords, sessions.

use mcert_server::{audit::Actor, staff::StaffRole};
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with},
    phone::Answer,
};

/// A sign-in as sent through the trusted proxy on behalf of `address`.
async fn sign_in_from(app: &TestApp, username: &str, password: &str, address: &str) -> Answer {
    let response = app
        .client
        .post(format!("{}/api/v1/staff/session", app.address))
        .header("x-forwarded-for", address)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

/// The attack: 60 wrong guesses sent at once from 60 addresses, then the right password. Each
/// guess reserves a try before its password is checked, so at most five are checked and the
/// rest are refused as locked, and the right password that follows is refused too. Under such
/// a flood some guesses are also refused as busy before they take a try (the hashing queue is
/// full; with Redis the reservations take a round trip each, so the queue fills): those are not
/// checked either. (The right password is not sent inside the flood: which of 61 concurrent
/// requests reserves a try first is up to the scheduler, and a right password among the first
/// five tries is a legitimate sign-in.)
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_guesses_cannot_outrun_the_lock() {
    let app = spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1".into()]).await;
    app.state
        .staff
        .add_account(
            "reviewer2",
            "审核员二",
            "review2026now",
            StaffRole::Administrator,
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap();
    let guesses = (0..60).map(|i| {
        let app = &app;
        let password = format!("guess-{i:02}-2026");
        async move { sign_in_from(app, "reviewer2", &password, &format!("203.0.113.{i}")).await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert!(!statuses.contains(&200), "{statuses:?}");
    let checked = answers.iter().filter(|a| a.status == 401).count();
    assert!(checked <= 4, "{checked} wrong answers: {statuses:?}");
    let outcomes: Vec<(u16, &str)> = answers.iter().map(|a| (a.status, a.code())).collect();
    assert!(
        outcomes.iter().all(|outcome| matches!(
            outcome,
            (401, "staff_credentials_wrong") | (423, "staff_locked") | (503, "staff_sign_in_busy")
        )),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&(423, "staff_locked")),
        "the lock engaged: {outcomes:?}"
    );
    let right = sign_in_from(&app, "reviewer2", "review2026now", "203.0.113.60").await;
    assert_eq!((right.status, right.code()), (423, "staff_locked"));
    let after = sign_in_from(&app, "reviewer2", "review2026now", "198.51.100.1").await;
    assert_eq!((after.status, after.code()), (423, "staff_locked"));
}

/// A name without an account locks like one with an account, and one address can try only so
/// many names.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_names_lock_too_and_one_address_is_limited() {
    let app = spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1".into()]).await;
    for i in 0..4 {
        let wrong = sign_in_from(&app, "nobody", "guess-2026-x", &format!("192.0.2.{i}")).await;
        assert_eq!(
            (wrong.status, wrong.code()),
            (401, "staff_credentials_wrong")
        );
    }
    let fifth = sign_in_from(&app, "nobody", "guess-2026-x", "192.0.2.9").await;
    assert_eq!((fifth.status, fifth.code()), (423, "staff_locked"));
    assert!(fifth.body["message"].as_str().unwrap().contains("锁定"));

    let limit = mcert_server::staff::MAX_ATTEMPTS_PER_ADDRESS;
    for i in 0..limit {
        let answer = sign_in_from(&app, &format!("name{i}"), "guess-2026-x", "198.51.100.7").await;
        assert_eq!(answer.status, 401, "attempt {i}");
    }
    let over = sign_in_from(&app, "name-last", "guess-2026-x", "198.51.100.7").await;
    assert_eq!((over.status, over.code()), (429, "staff_address_limit"));
    // Another address is not affected.
    let other = sign_in_from(&app, "name-last", "guess-2026-x", "198.51.100.8").await;
    assert_eq!(other.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_sign_in_locks_after_five_wrong_passwords() {
    let app = spawn_app().await;
    let weak = app
        .state
        .staff
        .add_account(
            "reviewer1",
            "审核员一",
            "short",
            StaffRole::Administrator,
            &Actor::Operator("test".into()),
        )
        .await;
    assert!(weak.is_err());
    app.state
        .staff
        .add_account(
            "reviewer1",
            "审核员一",
            "review2026now",
            StaffRole::Administrator,
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap();
    let taken = app
        .state
        .staff
        .add_account(
            "reviewer1",
            "另一个人",
            "review2026now",
            StaffRole::Administrator,
            &Actor::Operator("test".into()),
        )
        .await;
    assert!(taken.is_err());

    let sign_in = |password: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/staff/session",
                &json!({ "username": "reviewer1", "password": password }),
                None,
            )
            .await
        }
    };
    let ok = sign_in("review2026now").await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let token = ok.body["token"].as_str().unwrap().to_string();
    let me = app.get_json("/api/v1/staff/me", &token).await;
    assert_eq!(me.body["display_name"], "审核员一");

    // An unknown user and a wrong password look the same.
    let unknown = app
        .post_json(
            "/api/v1/staff/session",
            &json!({ "username": "nobody", "password": "review2026now" }),
            None,
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (401, "staff_credentials_wrong")
    );
    for _ in 0..4 {
        let wrong = sign_in("wrong-password-1").await;
        assert_eq!(
            (wrong.status, wrong.code()),
            (401, "staff_credentials_wrong")
        );
    }
    let fifth = sign_in("wrong-password-1").await;
    assert_eq!((fifth.status, fifth.code()), (423, "staff_locked"));
    let locked = sign_in("review2026now").await;
    assert_eq!((locked.status, locked.code()), (423, "staff_locked"));

    // The earlier session still works until signed out.
    let out = app
        .client
        .delete(format!("{}/api/v1/staff/session", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    let after = app.get_json("/api/v1/staff/me", &token).await;
    assert_eq!(after.status, 401);

    let entries = app.state.store.audit_entries(0, 100).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "staff.add" && e.subject == "reviewer1")
    );
}

/// A reviewer reviews; what only an administrator may do (certificates, employers, fees) is
/// refused with `staff_not_administrator`, and nothing changes.
#[tokio::test]
async fn a_reviewer_is_refused_an_administrators_action() {
    let app = spawn_app().await;
    app.state
        .staff
        .add_account(
            "reviewer3",
            "审核员三",
            "review2026now",
            StaffRole::Reviewer,
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap();
    let signed = app
        .post_json(
            "/api/v1/staff/session",
            &json!({ "username": "reviewer3", "password": "review2026now" }),
            None,
        )
        .await;
    assert_eq!(signed.status, 200, "{:?}", signed.body);
    assert_eq!(signed.body["staff"]["role"], "reviewer");
    let token = signed.body["token"].as_str().unwrap();
    let queue = app.get_json("/api/v1/staff/applications", token).await;
    assert_eq!(queue.status, 200, "{:?}", queue.body);
    for (path, body) in [
        (
            "/api/v1/staff/certificates/0123456789ABCDEF/revocation",
            json!({ "cause": "no_longer_needed" }),
        ),
        (
            "/api/v1/staff/certificates/0123456789ABCDEF/unlock",
            json!({ "reason": "柜台核验" }),
        ),
        (
            "/api/v1/staff/phones/13800138000/unbind",
            json!({ "reason": "柜台核验" }),
        ),
        (
            "/api/v1/staff/employers/91440300708461136T/employee-count",
            json!({ "employee_count": 150 }),
        ),
    ] {
        let request = if path.ends_with("employee-count") {
            app.client.put(format!("{}{path}", app.address))
        } else {
            app.client.post(format!("{}{path}", app.address))
        };
        let refused =
            Answer::of(request.json(&body).bearer_auth(token).send().await.unwrap()).await;
        assert_eq!(refused.status, 403, "{path}: {:?}", refused.body);
        assert_eq!(refused.body["code"], "staff_not_administrator", "{path}");
        assert!(
            refused.body["message"]
                .as_str()
                .unwrap()
                .contains("管理员权限")
        );
    }
}
