//! Expiry reminders (seed 003: renew in the month before expiry): the holder gets an SMS 30
//! days and 7 days before the certificate expires, each once, with the server's clock moved
//! instead of waited for; after expiry the certificate is 已过期 and nothing more is sent.

use std::time::Duration;

use mcert_server::{certificates::expiry::date_zh, domain::CertificateSerial};

use crate::{
    applicants::sms_texts,
    downloads::downloaded,
    helpers::{TestApp, app_without_workers},
    login::PIN,
};

const DAY: Duration = Duration::from_secs(86_400);

/// The expiry reminders `phone` received, oldest first.
async fn reminders(app: &TestApp, phone: &str) -> Vec<String> {
    app.state.notices.run_once().await.unwrap();
    let mut texts: Vec<String> = sms_texts(app, phone)
        .await
        .into_iter()
        .filter(|text| text.contains("到期"))
        .collect();
    texts.reverse();
    texts
}

#[tokio::test(flavor = "multi_thread")]
async fn the_holder_is_reminded_30_and_7_days_before_expiry_once_each() {
    let app = app_without_workers(None).await;
    let phone = "13900139110";
    let (_, held) = downloaded(&app, phone, "openid-13900139110", PIN).await;
    let serial = CertificateSerial::parse(&held.serial).unwrap();
    let certificate = app.state.authority.certificate(&serial).await.unwrap();
    let sweep = || async { app.state.reminders.run_once().await.unwrap() };
    assert_eq!(sweep().await, 0);

    // 31 days before: nothing yet; 30 days before: the first reminder, once.
    let left = (certificate.not_after - app.state.clock.now())
        .to_std()
        .unwrap();
    app.advance(left - 31 * DAY).await;
    assert_eq!(sweep().await, 0);
    assert!(reminders(&app, phone).await.is_empty());
    app.advance(DAY).await;
    assert_eq!(sweep().await, 1);
    assert_eq!(sweep().await, 0, "sent once");
    let expires_on = date_zh(certificate.not_after);
    assert_eq!(
        reminders(&app, phone).await,
        [format!(
            "【数字证书认证中心】昆明测试科技有限公司的手机数字证书将于{expires_on}到期（剩余30天）。\
             如需继续使用，请在到期前登录申请网页办理年审延期，云南CA服务热线4006007210。"
        )]
    );

    // 8 days before: nothing new; 7 days before: the second, once.
    app.advance(22 * DAY).await;
    assert_eq!(sweep().await, 0);
    app.advance(DAY).await;
    assert_eq!(sweep().await, 1);
    assert_eq!(sweep().await, 0, "sent once");
    let sent = reminders(&app, phone).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[1].contains("（剩余7天）"), "{sent:?}");

    // Expired: 已过期 in the phone's list, and no reminder ever again.
    app.advance(8 * DAY).await;
    assert_eq!(sweep().await, 0);
    // The mini-program session ended long ago: the phone signs in again (a new wx.login code).
    let signed = app
        .post_json(
            "/api/v1/mp/session",
            &serde_json::json!({ "code": "dev:openid-13900139110:again" }),
            None,
        )
        .await;
    assert_eq!(signed.status, 201, "{:?}", signed.body);
    let token = signed.body["token"].as_str().unwrap();
    let listed = app.get_json("/api/v1/mp/certificates", token).await;
    assert_eq!(listed.body[0]["status"], "expired", "{:?}", listed.body);
    assert_eq!(listed.body[0]["status_label"], "已过期");
    assert_eq!(reminders(&app, phone).await.len(), 2);
}
