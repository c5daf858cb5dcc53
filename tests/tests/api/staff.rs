//! Staff accounts: Argon2id passwords, lockout after five wrong passwords, sessions.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn staff_sign_in_locks_after_five_wrong_passwords() {
    let app = spawn_app().await;
    let weak = app
        .state
        .staff
        .add_account("reviewer1", "审核员一", "short", "test")
        .await;
    assert!(weak.is_err());
    app.state
        .staff
        .add_account("reviewer1", "审核员一", "review2026now", "test")
        .await
        .unwrap();
    let taken = app
        .state
        .staff
        .add_account("reviewer1", "另一个人", "review2026now", "test")
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
    for _ in 0..5 {
        let wrong = sign_in("wrong-password-1").await;
        assert_eq!(
            (wrong.status, wrong.code()),
            (401, "staff_credentials_wrong")
        );
    }
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
