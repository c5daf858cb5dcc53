//! DEVELOPMENT ONLY: an [`SmsSender`] that sends nothing.
//!
//! Each message is logged (phone masked, text in full, so a developer can read a one-time code
//! from the log) and kept in memory, the most recent [`DEV_SMS_CAPACITY`] of them, for a
//! development page to show. Never configure it in production: nobody receives anything.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{SmsError, SmsNotice, SmsSender, check_phone, masked_phone};
use crate::clock::Clock;

/// How many messages [`DevSms`] keeps; older ones are dropped.
pub const DEV_SMS_CAPACITY: usize = 200;

/// A message [`DevSms`] pretended to send.
///
/// `Debug` masks the phone and hides the text, which may hold a one-time code.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct SentSms {
    /// The 11 digits it was addressed to.
    pub phone: String,
    /// The whole text, as [`SmsNotice::text_zh`] renders it.
    pub text: String,
    /// When it was "sent".
    pub sent_at: DateTime<Utc>,
}

impl fmt::Debug for SentSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentSms")
            .field("phone", &masked_phone(&self.phone))
            .field("text", &"[redacted]")
            .field("sent_at", &self.sent_at)
            .finish()
    }
}

/// DEVELOPMENT ONLY: logs messages instead of sending them. See the module documentation.
pub struct DevSms {
    sent: Mutex<VecDeque<SentSms>>,
    clock: Arc<dyn Clock>,
}

impl DevSms {
    /// An empty outbox; messages are dated by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            sent: Mutex::new(VecDeque::with_capacity(DEV_SMS_CAPACITY)),
            clock,
        }
    }

    /// The messages kept, newest first; only those to `phone` when given.
    pub fn recent(&self, phone: Option<&str>) -> Vec<SentSms> {
        self.outbox()
            .iter()
            .rev()
            .filter(|sms| phone.is_none_or(|phone| sms.phone == phone))
            .cloned()
            .collect()
    }

    /// The outbox, even after a thread panicked while holding it: a list of messages cannot be
    /// left half-changed by the operations below.
    fn outbox(&self) -> std::sync::MutexGuard<'_, VecDeque<SentSms>> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for DevSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevSms")
            .field("kept", &self.outbox().len())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SmsSender for DevSms {
    async fn send(&self, phone: &str, notice: &SmsNotice) -> Result<(), SmsError> {
        check_phone(phone)?;
        let text = notice.text_zh();
        tracing::info!(
            phone = %masked_phone(phone),
            notice = notice.kind(),
            %text,
            "development SMS, not sent to any phone"
        );
        let mut outbox = self.outbox();
        if outbox.len() == DEV_SMS_CAPACITY {
            outbox.pop_front();
        }
        outbox.push_back(SentSms {
            phone: phone.to_owned(),
            text,
            sent_at: self.clock.now(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn otp(code: &str) -> SmsNotice {
        SmsNotice::Otp { code: code.into() }
    }

    #[tokio::test]
    async fn records_messages_newest_first_and_filters_by_phone() {
        let clock = Arc::new(crate::clock::AdjustableClock::new());
        let sms = DevSms::new(clock.clone());
        let before = clock.now();
        sms.send("13800000001", &otp("111111")).await.unwrap();
        sms.send("13800000002", &otp("222222")).await.unwrap();
        let approved = SmsNotice::ApplicationApproved {
            unit_name: "某某公司".into(),
            agent_name: "张三".into(),
            seal_wanted: true,
        };
        sms.send("13800000001", &approved).await.unwrap();

        let all = sms.recent(None);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].text, approved.text_zh());
        assert_eq!(all[2].text, otp("111111").text_zh());
        assert!(
            all.iter()
                .all(|m| m.sent_at >= before && m.sent_at <= clock.now())
        );

        let first: Vec<_> = sms.recent(Some("13800000001"));
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(|m| m.phone == "13800000001"));
        assert_eq!(
            first[1].text,
            "【数字证书认证中心】验证码 111111，5 分钟内有效，请勿告诉他人。"
        );
        assert!(sms.recent(Some("13900000000")).is_empty());
    }

    #[tokio::test]
    async fn keeps_only_the_latest_messages() {
        let clock = Arc::new(crate::clock::AdjustableClock::new());
        let sms = DevSms::new(clock.clone());
        for i in 0..DEV_SMS_CAPACITY + 5 {
            sms.send("13800000001", &otp(&format!("{i:06}")))
                .await
                .unwrap();
        }
        let kept = sms.recent(None);
        assert_eq!(kept.len(), DEV_SMS_CAPACITY);
        assert!(
            kept[0]
                .text
                .contains(&format!("{:06}", DEV_SMS_CAPACITY + 4))
        );
        assert!(kept[DEV_SMS_CAPACITY - 1].text.contains("000005"));
    }

    #[tokio::test]
    async fn refuses_what_a_real_provider_would_and_debug_hides_codes() {
        let clock = Arc::new(crate::clock::AdjustableClock::new());
        let sms = DevSms::new(clock.clone());
        let error = sms.send("1380000000", &otp("123456")).await.unwrap_err();
        assert_eq!(error.code(), "sms_phone_invalid");
        assert!(sms.recent(None).is_empty());

        sms.send("13812345678", &otp("654321")).await.unwrap();
        let printed = format!("{:?} {:?}", sms, sms.recent(None));
        assert!(!printed.contains("654321"), "{printed}");
        assert!(!printed.contains("13812345678"), "{printed}");
        assert!(printed.contains("*******5678"), "{printed}");
    }
}
