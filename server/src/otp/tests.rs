#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Mutex;

use super::*;
use crate::clock::AdjustableClock;
use crate::kv::test_kv;

/// Records what would have been sent; fails on demand.
#[derive(Debug, Default)]
struct RecordingSms {
    sent: Mutex<Vec<(String, String)>>,
    fail: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl SmsSender for RecordingSms {
    async fn send(&self, phone: &str, notice: &SmsNotice) -> Result<(), SmsError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SmsError::Unavailable {
                detail: "test".into(),
            });
        }
        let SmsNotice::Otp { code } = notice else {
            panic!("not an OTP: {notice:?}");
        };
        self.sent
            .lock()
            .unwrap()
            .push((phone.to_string(), code.clone()));
        Ok(())
    }
}

impl RecordingSms {
    fn last_code(&self) -> String {
        self.sent.lock().unwrap().last().unwrap().1.clone()
    }
}

async fn service(limits: OtpLimits) -> (OtpService, Arc<RecordingSms>) {
    service_on(limits, Arc::new(AdjustableClock::new())).await
}

/// The service on `clock`, which the test moves with [`pass`].
async fn service_on(
    limits: OtpLimits,
    clock: Arc<AdjustableClock>,
) -> (OtpService, Arc<RecordingSms>) {
    let sms = Arc::new(RecordingSms::default());
    let kv = test_kv(clock.clone()).await;
    (OtpService::new(kv, sms.clone(), limits, clock), sms)
}

/// Moves the service's time on by `by`: its clock and its kv store's TTLs.
async fn pass(otp: &OtpService, clock: &AdjustableClock, by: Duration) {
    clock.advance(chrono::TimeDelta::from_std(by).unwrap());
    otp.kv.fast_forward(by).await.unwrap();
}

fn phone(n: &str) -> PhoneNumber {
    PhoneNumber::parse(n).unwrap()
}

fn wrong(code: &str) -> String {
    let last = (code.as_bytes()[5] - b'0' + 1) % 10;
    format!("{}{last}", &code[..5])
}

#[tokio::test]
async fn a_code_works_once_and_only_for_its_purpose_and_phone() {
    let (otp, sms) = service(OtpLimits::default()).await;
    let p = phone("13800138000");
    let sent = otp
        .send(&p, OtpPurpose::ApplicantLogin, "10.0.0.1")
        .await
        .unwrap();
    assert!(sent.expires_at > otp.clock.now());
    let code = sms.last_code();
    assert_eq!(code.len(), 6);
    let other = phone("13900139000");
    assert!(matches!(
        otp.verify(&other, OtpPurpose::ApplicantLogin, &code).await,
        Err(OtpError::NoCode)
    ));
    assert!(matches!(
        otp.verify(&p, OtpPurpose::DownloadPhone, &code).await,
        Err(OtpError::NoCode)
    ));
    otp.verify(&p, OtpPurpose::ApplicantLogin, &code)
        .await
        .unwrap();
    assert!(matches!(
        otp.verify(&p, OtpPurpose::ApplicantLogin, &code).await,
        Err(OtpError::NoCode)
    ));
}

#[tokio::test]
async fn five_wrong_tries_end_the_code_and_malformed_input_is_not_counted() {
    let (otp, sms) = service(OtpLimits::default()).await;
    let p = phone("13800138001");
    otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.2")
        .await
        .unwrap();
    let code = sms.last_code();
    for input in ["12345", "1234567", "12a456", ""] {
        assert!(matches!(
            otp.verify(&p, OtpPurpose::ApplicantLogin, input).await,
            Err(OtpError::Malformed)
        ));
    }
    for remaining in (0..5).rev() {
        match otp
            .verify(&p, OtpPurpose::ApplicantLogin, &wrong(&code))
            .await
        {
            Err(OtpError::Wrong { remaining: r }) => assert_eq!(r, remaining),
            other => panic!("{other:?}"),
        }
    }
    // The right code no longer works: brute force gets five guesses per code.
    assert!(matches!(
        otp.verify(&p, OtpPurpose::ApplicantLogin, &code).await,
        Err(OtpError::NoCode)
    ));
}

#[tokio::test]
async fn concurrent_right_answers_pass_once() {
    let (otp, sms) = service(OtpLimits::default()).await;
    let p = phone("13800138002");
    otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.3")
        .await
        .unwrap();
    let code = sms.last_code();
    let results = futures_util::future::join_all(
        (0..8).map(|_| otp.verify(&p, OtpPurpose::ApplicantLogin, &code)),
    )
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
}

#[tokio::test]
async fn sends_are_throttled_per_phone_per_minute_per_day_and_per_address() {
    let limits = OtpLimits {
        resend_interval: Duration::from_millis(50),
        per_phone_per_day: 3,
        per_address_per_hour: 6,
        ..OtpLimits::default()
    };
    let clock = Arc::new(AdjustableClock::new());
    let (otp, sms) = service_on(limits, clock.clone()).await;
    let p = phone("13800138003");
    otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.4")
        .await
        .unwrap();
    let first = sms.last_code();
    assert!(matches!(
        otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.4").await,
        Err(OtpError::TooSoon { .. })
    ));
    for _ in 0..2 {
        pass(&otp, &clock, Duration::from_millis(80)).await;
        otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.4")
            .await
            .unwrap();
    }
    // A new code replaces the old one.
    let last = sms.last_code();
    if last != first {
        assert!(
            otp.verify(&p, OtpPurpose::ApplicantLogin, &first)
                .await
                .is_err()
        );
    }
    pass(&otp, &clock, Duration::from_millis(80)).await;
    assert!(matches!(
        otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.4").await,
        Err(OtpError::PhoneDailyLimit)
    ));
    // One address asking for many phones is stopped too.
    for i in 0..2 {
        let other = phone(&format!("1390013900{i}"));
        otp.send(&other, OtpPurpose::ApplicantLogin, "10.0.0.4")
            .await
            .unwrap();
    }
    let flood = otp
        .send(
            &phone("13900139009"),
            OtpPurpose::ApplicantLogin,
            "10.0.0.4",
        )
        .await;
    assert!(matches!(flood, Err(OtpError::AddressLimit)), "{flood:?}");
    assert_eq!(sms.sent.lock().unwrap().len(), 5);
}

/// The attack: an address past its limit asks for a code for someone else's phone, once a
/// minute, to keep that phone from ever getting one. The refusal now leaves the phone alone.
#[tokio::test]
async fn a_refused_request_does_not_throttle_the_phone() {
    let limits = OtpLimits {
        per_address_per_hour: 2,
        per_phone_per_day: 1,
        ..OtpLimits::default()
    };
    let (otp, sms) = service(limits).await;
    for i in 0..2 {
        let other = phone(&format!("1390013901{i}"));
        otp.send(&other, OtpPurpose::ApplicantLogin, "10.0.0.66")
            .await
            .unwrap();
    }
    let victim = phone("13800138066");
    let refused = otp
        .send(&victim, OtpPurpose::ApplicantLogin, "10.0.0.66")
        .await;
    assert!(
        matches!(refused, Err(OtpError::AddressLimit)),
        "{refused:?}"
    );
    otp.send(&victim, OtpPurpose::DownloadPhone, "10.0.0.67")
        .await
        .unwrap();
    assert_eq!(sms.sent.lock().unwrap().last().unwrap().0, "13800138066");

    // A phone at its daily limit is refused for that and gets no fresh throttle (its minute
    // is over: the throttle key is gone, as after the interval).
    let spent = phone("13900139010");
    let throttle = format!("otp-throttle:{}", spent.as_str());
    otp.kv.take(&throttle).await.unwrap();
    let day = otp
        .send(&spent, OtpPurpose::ApplicantLogin, "10.0.0.68")
        .await;
    assert!(matches!(day, Err(OtpError::PhoneDailyLimit)), "{day:?}");
    assert_eq!(otp.kv.get(&throttle).await.unwrap(), None);
    // And a refused address leaves no throttle on the phone it named.
    let untouched = phone("13800138068");
    let refused = otp
        .send(&untouched, OtpPurpose::ApplicantLogin, "10.0.0.66")
        .await;
    assert!(matches!(refused, Err(OtpError::AddressLimit)));
    let key = format!("otp-throttle:{}", untouched.as_str());
    assert_eq!(otp.kv.get(&key).await.unwrap(), None);
}

#[tokio::test]
async fn a_resend_is_told_the_seconds_actually_left() {
    let (otp, _sms) = service(OtpLimits::default()).await;
    let p = phone("13800138067");
    otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.69")
        .await
        .unwrap();
    let sent_at = (otp.clock.now() - chrono::TimeDelta::seconds(45)).timestamp_millis();
    let throttle = format!("otp-throttle:{}", p.as_str());
    otp.kv.take(&throttle).await.unwrap();
    otp.kv
        .put_if_absent(
            &throttle,
            sent_at.to_string().as_bytes(),
            Duration::from_secs(15),
        )
        .await
        .unwrap();
    match otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.69").await {
        Err(OtpError::TooSoon { retry_after_secs }) => {
            assert!((14..=15).contains(&retry_after_secs), "{retry_after_secs}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failed_sms_leaves_no_code_and_no_throttle() {
    let (otp, sms) = service(OtpLimits::default()).await;
    let p = phone("13800138004");
    sms.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.5").await;
    assert!(matches!(failed, Err(OtpError::Sms(_))));
    sms.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    otp.send(&p, OtpPurpose::ApplicantLogin, "10.0.0.5")
        .await
        .unwrap();
    let code = sms.last_code();
    otp.verify(&p, OtpPurpose::ApplicantLogin, &code)
        .await
        .unwrap();
}

#[test]
fn errors_have_stable_codes_and_chinese_messages() {
    assert_eq!(OtpError::Wrong { remaining: 2 }.code(), "otp_incorrect");
    assert!(
        OtpError::Wrong { remaining: 2 }
            .message_zh()
            .contains("还可输入 2 次")
    );
    assert!(
        OtpError::TooSoon {
            retry_after_secs: 60
        }
        .message_zh()
        .contains("60 秒")
    );
    assert_eq!(OtpError::NoCode.code(), "otp_expired");
}
