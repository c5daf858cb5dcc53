//! Item grants (事项授权, seed 000 §四(三)) end to end: an employer's primary certificate may do
//! every business item of a portal, a new sub-certificate nothing but the locked defaults of its
//! media type, and what the primary holder grants is what the sub-certificate's ID token carries.

use mcert_server::{
    audit::Actor,
    ca::MediaType,
    domain::CertificateSerial,
    grants::{GrantChange, ItemGrant},
    portals::{BusinessItem, ClientKind, PortalDraft},
};
use mcert_testkit::FakeHttp;

use crate::{
    applications::{approve, submitted},
    downloads::{download_for, downloaded},
    helpers::{TestApp, app_without_workers},
    login::{PIN, REDIRECT, logged_in, login_claims},
    phone::{Answer, TestPhone},
};

/// A confidential portal with three items, 失业保险 locked for physical certificates:
/// (client id, secret).
pub async fn portal_with_items(app: &TestApp) -> (String, String) {
    portal_registered(app, None).await
}

/// [`portal_with_items`] with a back-channel logout endpoint.
async fn portal_registered(app: &TestApp, backchannel: Option<String>) -> (String, String) {
    let item = |code: &str, name: &str, locked_for| BusinessItem {
        code: code.into(),
        name: name.into(),
        group: Some("单位服务".into()),
        locked_for,
    };
    let registered = app
        .state
        .portals
        .register(
            PortalDraft {
                name: "就业彩云南".into(),
                kind: ClientKind::Confidential,
                origins: vec!["https://portal.example.cn".into()],
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![],
                scopes: vec![],
                items: vec![
                    item("unit_info", "单位基础信息维护", None),
                    item(
                        "unemployment_insurance",
                        "失业保险",
                        Some(MediaType::Physical),
                    ),
                    item("training", "技能培训和创业培训服务", None),
                ],
                backchannel_logout_uri: backchannel,
            },
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap();
    (registered.portal.client_id, registered.secret.unwrap())
}

pub async fn record(app: &TestApp, phone: &TestPhone) -> mcert_server::ca::CertificateRecord {
    app.state
        .authority
        .certificate(&CertificateSerial::parse(&phone.serial).unwrap())
        .await
        .unwrap()
}

/// The agent 张三 downloads the employer's first certificate (the primary) on the first phone,
/// then, with the real-name steps again, a second application's certificate (a sub-certificate)
/// on the second: (mini-program session, primary, sub).
pub async fn primary_and_sub(app: &TestApp, phones: [&str; 2]) -> (String, TestPhone, TestPhone) {
    let openid = format!("openid-{}", phones[0]);
    let (token, primary) = downloaded(app, phones[0], &openid, PIN).await;
    let (_, second) = submitted(app, phones[1]).await;
    approve(app, second).await;
    app.state.sync.run_once().await.unwrap();
    let sub = download_for(app, &token, second, phones[1], PIN, Some(&openid)).await;
    (token, primary, sub)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_primary_has_every_item_and_a_sub_only_what_its_primary_grants() {
    let app = app_without_workers(None).await;
    let (client, secret) = portal_with_items(&app).await;
    let (token, primary, sub) = primary_and_sub(&app, ["13900139060", "13900139061"]).await;
    assert_eq!(record(&app, &sub).await.role.as_str(), "sub");

    let claims = login_claims(&app, &client, &secret, &token, &primary).await;
    assert_eq!(
        claims.items.unwrap(),
        ["unit_info", "unemployment_insurance", "training"]
    );
    assert_eq!(claims.grant_id.as_deref(), Some("primary"));
    let claims = login_claims(&app, &client, &secret, &token, &sub).await;
    assert_eq!(claims.certificate_role.as_deref(), Some("sub"));
    assert!(claims.items.unwrap().is_empty(), "a new sub may do nothing");
    assert_eq!(claims.grant_id.as_deref(), Some("v0"));

    // The primary grants two items; the sub's next login carries exactly those.
    let portal = app.state.portals.get(&client).await.unwrap().unwrap();
    let grant = |code: &str| ItemGrant {
        code: code.into(),
        starts_at: None,
        ends_at: None,
    };
    let allowed = app
        .state
        .grants
        .set(
            &record(&app, &primary).await,
            &record(&app, &sub).await,
            &portal,
            GrantChange {
                grant_id: "v0".into(),
                items: vec![grant("training"), grant("unit_info")],
                signed: None,
            },
            &Actor::Phone,
        )
        .await
        .unwrap();
    assert_eq!(allowed.items, ["unit_info", "training"]);
    let claims = login_claims(&app, &client, &secret, &token, &sub).await;
    assert_eq!(claims.items.unwrap(), ["unit_info", "training"]);
    assert_eq!(claims.grant_id.as_deref(), Some("v1"));

    // The change is audited with grantor, grantee, before and after.
    let (entry, detail) = app.audited("grant.set").await;
    assert_eq!(entry.subject, sub.serial);
    assert_eq!(detail["grantor"], primary.serial.as_str());
    assert_eq!(detail["before"], serde_json::json!([]));
    assert_eq!(detail["after"][1]["code"], "training");
}

/// A call to the grant API with a portal's access token.
async fn grant_api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    access_token: &str,
    body: Option<serde_json::Value>,
) -> Answer {
    let mut request = app
        .client
        .request(method, format!("{}/api/v1/grants{path}", app.address))
        .bearer_auth(access_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Answer::of(request.send().await.unwrap()).await
}

/// The grant API as a portal with its own 权限授权 page uses it: the primary's token lists the
/// sub-certificates as seed 000's table shows them and the catalogue with a name search, saves
/// a set whole, and is told when its screen is stale or an item is unknown; a sub-certificate's
/// token, or a token without the `grants` scope, is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_portal_manages_grants_with_the_primary_s_token() {
    use reqwest::Method;
    let app = app_without_workers(None).await;
    let backchannel = FakeHttp::start(mcert_testkit::Answer::json(200, "")).await;
    let (client, secret) = portal_registered(
        &app,
        Some(format!("{}/backchannel", backchannel.base_url())),
    )
    .await;
    let portal = (client.as_str(), secret.as_str());
    let (token, primary, sub) = primary_and_sub(&app, ["13900139070", "13900139071"]).await;
    let scope = "openid employer grants";
    let (_, access) = logged_in(&app, portal, scope, &token, &primary).await;

    let listed = grant_api(&app, Method::GET, "/sub-certificates", &access, None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let rows = listed.body.as_array().unwrap();
    assert_eq!(rows.len(), 1, "the primary is not its own sub: {rows:?}");
    assert_eq!(rows[0]["index"], 1);
    assert_eq!(rows[0]["serial"], sub.serial.as_str());
    assert_eq!(rows[0]["media_type_zh"], "手机CA");
    assert_eq!(rows[0]["certificate_type_zh"], "手机证书");
    assert_eq!(rows[0]["holder_id_masked"], "1101*****002X");
    assert_eq!(rows[0]["items"], serde_json::json!([]));
    assert_eq!(rows[0]["grant_id"], "v0");

    let found = grant_api(&app, Method::GET, "/items?q=失业", &access, None).await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body.as_array().unwrap().len(), 1);
    assert_eq!(found.body[0]["code"], "unemployment_insurance");
    assert_eq!(found.body[0]["locked_for"], "physical");
    assert_eq!(
        found.body[0]["locked_note"],
        "失业保险默认实体CA已授权并且不能修改"
    );

    let path = format!("/sub-certificates/{}", sub.serial);
    let save = |grant_id: &str, codes: &[&str]| {
        let items: Vec<_> = codes
            .iter()
            .map(|c| serde_json::json!({ "code": c }))
            .collect();
        serde_json::json!({ "grant_id": grant_id, "items": items })
    };
    let unknown = grant_api(
        &app,
        Method::PUT,
        &path,
        &access,
        Some(save("v0", &["nope"])),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "grant_item_unknown")
    );
    // Two pages save at once from the same screen: one wins whole, the other is told.
    let (first, second) = tokio::join!(
        grant_api(
            &app,
            Method::PUT,
            &path,
            &access,
            Some(save("v0", &["unit_info"]))
        ),
        grant_api(
            &app,
            Method::PUT,
            &path,
            &access,
            Some(save("v0", &["training"]))
        ),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{:?} {:?}", first.body, second.body);
    let winner = if first.status == 200 { first } else { second };
    assert_eq!(winner.body["grant_id"], "v1");
    let listed = grant_api(&app, Method::GET, "/sub-certificates", &access, None).await;
    assert_eq!(listed.body[0]["items"], winner.body["items"]);

    // The sub logs in with the winner's item; adding the other shows at once in introspection
    // of that session, which goes on.
    let (claims, sub_session) = logged_in(&app, portal, "openid employer", &token, &sub).await;
    assert_eq!(
        serde_json::json!(claims.items.unwrap()),
        winner.body["items"]
    );
    let saved = grant_api(
        &app,
        Method::PUT,
        &path,
        &access,
        Some(save("v1", &["unit_info", "training"])),
    )
    .await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    assert_eq!(
        saved.body["items"],
        serde_json::json!(["unit_info", "training"])
    );
    assert_eq!(saved.body["grant_id"], "v2");
    let seen = introspect(&app, portal, &sub_session).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["items"], serde_json::json!(["unit_info", "training"]));
    assert_eq!(seen["grant_id"], "v2");
    assert_eq!(seen["certificate_role"], "sub");
    assert_eq!(seen["certificate_status"], "active");
    assert_eq!(seen["certificate_serial"], sub.serial.as_str());
    let info = userinfo(&app, &sub_session).await;
    assert_eq!(info.status, 200, "{:?}", info.body);
    assert_eq!(
        info.body["items"],
        serde_json::json!(["unit_info", "training"])
    );
    assert!(backchannel.received().is_empty(), "nothing was withdrawn");
    // A page still showing v1 cannot overwrite the save; nothing changes.
    let stale = grant_api(&app, Method::PUT, &path, &access, Some(save("v1", &[]))).await;
    assert_eq!((stale.status, stale.code()), (409, "grant_stale"));

    // Withdrawing an item ends the sub's session here at once: its tokens stop, and the
    // portal's back-channel endpoint receives a logout token for that session.
    let withdrawn = grant_api(
        &app,
        Method::PUT,
        &path,
        &access,
        Some(save("v2", &["training"])),
    )
    .await;
    assert_eq!(withdrawn.status, 200, "{:?}", withdrawn.body);
    assert_eq!(
        introspect(&app, portal, &sub_session).await,
        serde_json::json!({ "active": false })
    );
    assert_eq!(userinfo(&app, &sub_session).await.status, 401);
    let logouts = backchannel.received();
    assert_eq!(logouts.len(), 1, "{logouts:?}");
    let logout = verified_logout_token(&app, &client, &logouts[0].form()["logout_token"]).await;
    assert_eq!(logout["sid"], claims.sid.as_str());
    assert_eq!(logout["sub"], claims.sub.as_str());
    // The primary's own session goes on.
    assert_eq!(introspect(&app, portal, &access).await["active"], true);
    // The sub's next login has what is left.
    let (claims, sub_session) = logged_in(&app, portal, "openid employer", &token, &sub).await;
    assert_eq!(claims.items.unwrap(), ["training"]);
    assert_eq!(claims.grant_id.as_deref(), Some("v3"));
    let logout_sub = claims.sub;
    // Another portal learns nothing of this portal's tokens.
    let (other, other_secret) = portal_with_items(&app).await;
    let elsewhere = introspect(&app, (&other, &other_secret), &sub_session).await;
    assert_eq!(elsewhere, serde_json::json!({ "active": false }));
    assert_eq!(
        introspect(&app, portal, "no-such-token").await,
        serde_json::json!({ "active": false })
    );

    // A sub-certificate's token sees no grant function (子证书看不到这个功能).
    let (_, sub_access) = logged_in(&app, portal, scope, &token, &sub).await;
    let refused = grant_api(&app, Method::GET, "/sub-certificates", &sub_access, None).await;
    assert_eq!((refused.status, refused.code()), (403, "grant_not_primary"));
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("子证书看不到这个功能")
    );
    // Nor does a token without the grants scope, or no token at all.
    let (_, plain) = logged_in(&app, portal, "openid employer", &token, &primary).await;
    let refused = grant_api(&app, Method::GET, "/sub-certificates", &plain, None).await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "grant_scope_missing")
    );
    let refused = grant_api(&app, Method::GET, "/sub-certificates", "forged", None).await;
    assert_eq!(
        (refused.status, refused.code()),
        (401, "access_token_invalid")
    );

    // A revoked sub-certificate's sessions end at once, and the portal hears of each.
    let before = backchannel.received().len();
    app.revoke(
        &sub.serial,
        mcert_server::ca::RevocationReason::AffiliationChanged,
    )
    .await;
    assert_eq!(
        introspect(&app, portal, &sub_session).await,
        serde_json::json!({ "active": false })
    );
    assert_eq!(userinfo(&app, &sub_session).await.status, 401);
    app.state.backchannel.run_once().await.unwrap();
    let logouts = backchannel.received();
    assert!(logouts.len() >= before + 2, "{logouts:?}");
    for logout in &logouts[before..] {
        let claims = verified_logout_token(&app, &client, &logout.form()["logout_token"]).await;
        assert_eq!(claims["sub"], logout_sub.as_str());
    }
    // Introspection needs the portal's credentials.
    let anonymous = app
        .client
        .post(format!("{}/oauth2/introspect", app.address))
        .form(&[("token", sub_session.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// RFC 7662 introspection of `token` by the confidential portal `(client, secret)`.
async fn introspect(
    app: &TestApp,
    (client, secret): (&str, &str),
    token: &str,
) -> serde_json::Value {
    let response = app
        .client
        .post(format!("{}/oauth2/introspect", app.address))
        .basic_auth(client, Some(secret))
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// When the primary is revoked no sub-certificate is promoted by itself: staff choose the new
/// primary, with a reason, and only once the old one is out of force.
#[tokio::test(flavor = "multi_thread")]
async fn staff_choose_a_new_primary_after_the_old_one_is_revoked() {
    let app = app_without_workers(None).await;
    let (client, secret) = portal_with_items(&app).await;
    let (token, primary, sub) = primary_and_sub(&app, ["13900139080", "13900139081"]).await;
    let staff = crate::applications::staff_session(&app).await;
    let appoint = |reason: &str| {
        let app = &app;
        let staff = staff.clone();
        let path = format!("/api/v1/staff/certificates/{}/primary", sub.serial);
        let body = serde_json::json!({ "reason": reason });
        async move { app.post_json(&path, &body, Some(&staff)).await }
    };
    let refused = appoint("原主证书持有人离职").await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "primary_in_force"),
        "{:?}",
        refused.body
    );

    app.revoke(
        &primary.serial,
        mcert_server::ca::RevocationReason::AffiliationChanged,
    )
    .await;
    // Revoked: the sub is still a sub with nothing granted.
    let claims = login_claims(&app, &client, &secret, &token, &sub).await;
    assert_eq!(claims.certificate_role.as_deref(), Some("sub"));
    assert!(claims.items.unwrap().is_empty());

    let refused = appoint("  ").await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, "primary_reason_missing")
    );
    let appointed = appoint("原主证书持有人离职，单位书面申请由该证书作为主证书").await;
    assert_eq!(appointed.status, 204, "{:?}", appointed.body);
    let claims = login_claims(&app, &client, &secret, &token, &sub).await;
    assert_eq!(claims.certificate_role.as_deref(), Some("primary"));
    assert_eq!(
        claims.items.unwrap(),
        ["unit_info", "unemployment_insurance", "training"]
    );
    let again = appoint("重复").await;
    assert_eq!((again.status, again.code()), (409, "primary_already"));

    let entries = app.state.store.audit_entries(0, 500).await.unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "certificate.primary")
        .unwrap();
    assert_eq!(entry.actor, "staff:reviewer1");
    assert_eq!(entry.subject, sub.serial);
    assert!(entry.detail.to_string().contains("原主证书持有人离职"));
}

/// Userinfo for a portal's access token.
async fn userinfo(app: &TestApp, token: &str) -> Answer {
    let response = app
        .client
        .get(format!("{}/oauth2/userinfo", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Answer::of(response).await
}

/// A logout token as a portal checks it (OpenID Connect Back-Channel Logout 1.0 §2.6): ES256
/// under a key of the JWKS, `typ` `logout+jwt`, this issuer, this portal as audience, the logout
/// event, a `jti`, no `nonce`; its claims.
async fn verified_logout_token(app: &TestApp, client: &str, token: &str) -> serde_json::Value {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
    let header = decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks: serde_json::Value = app.get("/oauth2/jwks").await.json().await.unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"].as_str() == header.kid.as_deref())
        .expect("signed with a published key");
    let key =
        DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[client]);
    validation.set_issuer(&[app.address.as_str()]);
    // The server's clock, not the system's, dated the token.
    validation.validate_exp = false;
    let claims = decode::<serde_json::Value>(token, &key, &validation)
        .unwrap()
        .claims;
    assert!(
        claims["events"]
            .get("http://schemas.openid.net/event/backchannel-logout")
            .is_some(),
        "{claims}"
    );
    assert!(claims["jti"].is_string(), "{claims}");
    assert!(claims.get("nonce").is_none(), "{claims}");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=300).contains(&lifetime), "{claims}");
    claims
}

/// A portal whose back-channel endpoint is down at first gets the logout token again after the
/// outbox's backoff (time moved by the test's clock), and a revoked certificate's tokens stop
/// at once whether or not the portal has heard yet.
#[tokio::test(flavor = "multi_thread")]
async fn a_logout_token_is_retried_until_the_portal_takes_it() {
    let app = app_without_workers(None).await;
    let endpoint = FakeHttp::in_order([
        mcert_testkit::Answer::json(503, "busy"),
        mcert_testkit::Answer::json(200, ""),
    ])
    .await;
    let (client, secret) =
        portal_registered(&app, Some(format!("{}/bc", endpoint.base_url()))).await;
    let (token, primary) = downloaded(&app, "13900139090", "openid-bc", PIN).await;
    let (claims, access) = logged_in(
        &app,
        (&client, &secret),
        "openid employer",
        &token,
        &primary,
    )
    .await;
    app.revoke(
        &primary.serial,
        mcert_server::ca::RevocationReason::KeyCompromise,
    )
    .await;
    assert_eq!(
        introspect(&app, (&client, &secret), &access).await,
        serde_json::json!({ "active": false })
    );
    assert_eq!(app.state.backchannel.run_once().await.unwrap(), 1);
    assert_eq!(endpoint.received().len(), 1);
    // Not due again before the backoff.
    assert_eq!(app.state.backchannel.run_once().await.unwrap(), 0);
    app.advance(std::time::Duration::from_secs(61)).await;
    assert_eq!(app.state.backchannel.run_once().await.unwrap(), 1);
    let received = endpoint.received();
    assert_eq!(received.len(), 2);
    let logout = verified_logout_token(&app, &client, &received[1].form()["logout_token"]).await;
    assert_eq!(logout["sid"], claims.sid.as_str());
    // Delivered: nothing more to send.
    app.advance(std::time::Duration::from_secs(3600)).await;
    assert_eq!(app.state.backchannel.run_once().await.unwrap(), 0);
}

/// A grant given for a window stops counting at its end by itself, and that ends the
/// sub-certificate's sessions at the portal like a withdrawal (the clock moved, not waited for).
#[tokio::test(flavor = "multi_thread")]
async fn a_grant_whose_window_ends_ends_the_sub_s_sessions() {
    let app = app_without_workers(None).await;
    let endpoint = FakeHttp::start(mcert_testkit::Answer::json(200, "")).await;
    let (client, secret) =
        portal_registered(&app, Some(format!("{}/bc", endpoint.base_url()))).await;
    let portal = (client.as_str(), secret.as_str());
    let (token, primary, sub) = primary_and_sub(&app, ["13900139100", "13900139101"]).await;
    // A short window, so that the session's access token (10 minutes) outlives it.
    let ends_at = app.state.clock.now() + chrono::TimeDelta::minutes(5);
    let allowed = app
        .state
        .grants
        .set(
            &record(&app, &primary).await,
            &record(&app, &sub).await,
            &app.state.portals.get(&client).await.unwrap().unwrap(),
            GrantChange {
                grant_id: "v0".into(),
                items: vec![ItemGrant {
                    code: "training".into(),
                    starts_at: None,
                    ends_at: Some(ends_at),
                }],
                signed: None,
            },
            &Actor::Phone,
        )
        .await
        .unwrap();
    assert_eq!(allowed.items, ["training"]);
    let (claims, session) = logged_in(&app, portal, "openid employer", &token, &sub).await;
    assert_eq!(claims.items.unwrap(), ["training"]);
    assert_eq!(app.state.grants.sweep_ended_windows().await.unwrap(), 0);

    app.advance(std::time::Duration::from_secs(31 * 86_400))
        .await;
    assert_eq!(app.state.grants.sweep_ended_windows().await.unwrap(), 1);
    assert_eq!(
        introspect(&app, portal, &session).await,
        serde_json::json!({ "active": false })
    );
    app.state.backchannel.run_once().await.unwrap();
    let received = endpoint.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let logout = verified_logout_token(&app, &client, &received[0].form()["logout_token"]).await;
    assert_eq!(logout["sid"], claims.sid.as_str());
    // Once: the next sweep finds nothing new.
    assert_eq!(app.state.grants.sweep_ended_windows().await.unwrap(), 0);
}

/// A physical (USB key) sub-certificate has its media type's locked default from the start:
/// the grant API's table shows 失业保险 for it, and no save takes it away or puts it in a window.
#[tokio::test(flavor = "multi_thread")]
async fn a_physical_sub_shows_unemployment_insurance_and_cannot_lose_it() {
    use mcert_server::{
        ca::{HolderDraft, Role, UnitDraft},
        domain::{PersonName, PhoneNumber, ResidentId, UnitName, Uscc},
    };
    use reqwest::Method;
    let app = app_without_workers(None).await;
    let (client, secret) = portal_with_items(&app).await;
    let portal = (client.as_str(), secret.as_str());
    let (token, primary) = downloaded(&app, "13900139080", "openid-13900139080", PIN).await;
    // The employer's USB key, issued from a CSR after the phone's certificate: a sub.
    let usb = app
        .state
        .authority
        .issue_physical(
            &app.openssl_csr("usb-key"),
            UnitDraft {
                uscc: Uscc::parse("91440300708461136T").unwrap(),
                name: UnitName::parse("昆明测试科技有限公司").unwrap(),
            },
            HolderDraft {
                name: PersonName::parse("王五").unwrap(),
                id_number: ResidentId::parse("532701198001013310").unwrap(),
                phone: PhoneNumber::parse("13900139081").unwrap(),
            },
            &Actor::Operator("test".into()),
        )
        .await
        .unwrap()
        .record;
    assert_eq!((usb.role, usb.media), (Role::Sub, MediaType::Physical));
    let serial = usb.serial.to_string();

    let (_, access) = logged_in(&app, portal, "openid employer grants", &token, &primary).await;
    let listed = grant_api(&app, Method::GET, "/sub-certificates", &access, None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let row = &listed.body[0];
    assert_eq!(row["serial"], serial.as_str());
    assert_eq!(row["media_type_zh"], "实体CA");
    assert_eq!(row["certificate_type_zh"], "实体证书");
    assert_eq!(row["holder_id_masked"], "5327*****3310");
    assert_eq!(row["items"], serde_json::json!(["unemployment_insurance"]));
    assert_eq!(row["grant_id"], "v0");

    let path = format!("/sub-certificates/{serial}");
    let save = |items: serde_json::Value| serde_json::json!({ "grant_id": "v0", "items": items });
    for items in [
        serde_json::json!([]),
        serde_json::json!([{ "code": "unit_info" }]),
        serde_json::json!([
            { "code": "unemployment_insurance", "ends_at": "2099-01-01T00:00:00Z" }
        ]),
    ] {
        let refused = grant_api(&app, Method::PUT, &path, &access, Some(save(items))).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "grant_item_locked"),
            "{:?}",
            refused.body
        );
        assert_eq!(
            refused.body["message"],
            "失业保险默认实体CA已授权并且不能修改"
        );
    }
    let unchanged = grant_api(&app, Method::GET, "/sub-certificates", &access, None).await;
    assert_eq!(unchanged.body[0]["grant_id"], "v0", "nothing was stored");

    let saved = grant_api(
        &app,
        Method::PUT,
        &path,
        &access,
        Some(save(serde_json::json!([
            { "code": "unit_info" },
            { "code": "unemployment_insurance" }
        ]))),
    )
    .await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    assert_eq!(
        saved.body["items"],
        serde_json::json!(["unit_info", "unemployment_insurance"])
    );
    let portal_record = app.state.portals.get(&client).await.unwrap().unwrap();
    let now = app
        .state
        .grants
        .now_at(&usb.serial, &portal_record)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.allowed.items, ["unit_info", "unemployment_insurance"]);
}

/// A grant change made on the phone: the primary's holder co-signs a `grant_change` message
/// with the PIN; once the signature verifies the set is saved, and its audit entry keeps the
/// message and signature, which OpenSSL verifies under the primary's certificate. A sub's
/// holder, a stale screen and an unknown portal are refused before anything is signed.
#[tokio::test(flavor = "multi_thread")]
async fn a_grant_changed_on_the_phone_is_signed_by_the_primary() {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    use mcert_signer::message::SignedMessage;
    let app = app_without_workers(None).await;
    let (client, secret) = portal_with_items(&app).await;
    let (token, primary, sub) = primary_and_sub(&app, ["13900139090", "13900139091"]).await;

    let overview = app
        .get_json(
            &format!("/api/v1/mp/certificates/{}/grants", primary.serial),
            &token,
        )
        .await;
    assert_eq!(overview.status, 200, "{:?}", overview.body);
    let portals = overview.body["portals"].as_array().unwrap();
    let listed = portals
        .iter()
        .find(|p| p["client_id"] == client.as_str())
        .expect("the portal is on the grant screen");
    assert_eq!(listed["items"][1]["locked_for"], "physical");
    let row = &overview.body["sub_certificates"][0];
    assert_eq!(row["serial"], sub.serial.as_str());
    let grant = row["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["client_id"] == client.as_str())
        .unwrap();
    assert_eq!(grant["grant_id"], "v0");

    let change = |grant_id: &str, portal: &str| {
        serde_json::json!({
            "grantee": sub.serial,
            "client_id": portal,
            "grant_id": grant_id,
            "items": [{ "code": "training" }, { "code": "unit_info" }],
        })
    };
    let path = format!("/api/v1/mp/certificates/{}/grants", primary.serial);
    let as_sub = format!("/api/v1/mp/certificates/{}/grants", sub.serial);
    for (path, body, status, code) in [
        (&as_sub, change("v0", &client), 403, "grant_not_primary"),
        (&path, change("v1", &client), 409, "grant_stale"),
        (&path, change("v0", "p_nope"), 404, "grant_portal_unknown"),
    ] {
        let refused = app.post_json(path, &body, Some(&token)).await;
        assert_eq!(
            (refused.status, refused.code()),
            (status, code),
            "{:?}",
            refused.body
        );
    }

    let session = app
        .post_json(&path, &change("v0", &client), Some(&token))
        .await;
    assert_eq!(session.status, 201, "{:?}", session.body);
    let Ok(SignedMessage::GrantChange(message)) =
        SignedMessage::decode(&crate::phone::unb64(&session.body["message"]))
    else {
        panic!("a grant_change message: {:?}", session.body);
    };
    assert_eq!(message.serial, primary.serial);
    assert_eq!(message.grantee_serial, sub.serial);
    assert_eq!(message.client_id, client);
    assert_eq!(message.portal_name, "就业彩云南");
    assert_eq!(message.uscc, "91440300708461136T");
    let codes: Vec<_> = message.items.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(codes, ["unit_info", "training"], "catalogue order");
    assert_eq!(message.items[0].name, "单位基础信息维护");

    let done = app
        .cosign(&session.body, &primary.public_key, &primary.share, PIN)
        .await
        .unwrap();
    assert_eq!(done["purpose"], "grant_change");
    assert_eq!(done["grant"]["grantee"], sub.serial.as_str());
    assert_eq!(
        done["grant"]["items"],
        serde_json::json!(["unit_info", "training"])
    );
    assert_eq!(done["grant"]["grant_id"], "v1");
    let claims = login_claims(&app, &client, &secret, &token, &sub).await;
    assert_eq!(claims.items.unwrap(), ["unit_info", "training"]);

    // The audit entry keeps the primary's signature; OpenSSL verifies it under its certificate.
    let (entry, detail) = app.audited("grant.set").await;
    assert_eq!(entry.actor, format!("certificate:{}", primary.serial));
    let signed_message = STANDARD
        .decode(detail["signed"]["message"].as_str().unwrap())
        .unwrap();
    let signature = STANDARD
        .decode(detail["signed"]["signature"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        signed_message,
        crate::phone::unb64(&session.body["message"])
    );
    let pem = app.path("primary.pem");
    std::fs::write(&pem, app.certificate_pem(&primary.serial).await).unwrap();
    crate::helpers::openssl_verify_sm2(&app.path(""), &pem, &signed_message, &signature);
}
