//! Notices to people about their applications (seed 000 §三: the SMS on approval, on rejection
//! and when the employer's accounts must be merged), delivered through an outbox.
//!
//! The change a notice announces writes the notice in its own transaction (see
//! [`NoticeDraft`]), so a decision is never recorded without its message or announced without
//! being recorded. [`Notifier`] sends due notices, retries an unavailable provider with backoff
//! and gives up after [`MAX_ATTEMPTS`]; a refused message (a number the provider cannot deliver
//! to, a template it does not accept) fails at once. A retry after a lost answer can deliver a
//! message twice; a missing approval notice is worse than a repeated one.
//!
//! One-time codes never go through the outbox: they are secret, and worthless once late.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::failure::StorageError;
use crate::{
    ca::CertificateRecord,
    outbox::{self, BATCH, Delivery, DeliveryStatus},
    providers::sms::{CertificateChange, SmsError, SmsNotice, SmsSender},
};

/// Sends before a notice is marked failed.
pub const MAX_ATTEMPTS: u32 = 8;

/// A notice to be written with the change it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeDraft {
    /// 11 national digits.
    pub phone: String,
    /// What it is about, e.g. `application:12`.
    pub subject: String,
    /// The message.
    pub notice: SmsNotice,
}

impl NoticeDraft {
    /// A draft of `notice`; `None` for a one-time code, which is never stored.
    pub fn new(phone: &str, subject: String, notice: SmsNotice) -> Option<Self> {
        if matches!(notice, SmsNotice::Otp { .. }) {
            return None;
        }
        Some(Self {
            phone: phone.to_string(),
            subject,
            notice,
        })
    }

    /// Tells the holder of `certificate` that `change` happened to it (downloaded again,
    /// revoked, unlocked), so that what they did not do themselves is noticed; `None` without a
    /// phone on record.
    pub fn certificate_changed(
        certificate: &CertificateRecord,
        change: CertificateChange,
    ) -> Option<Self> {
        let phone = certificate.holder_phone.trim();
        if phone.is_empty() {
            return None;
        }
        Self::new(
            phone,
            format!("certificate:{}", certificate.serial),
            SmsNotice::CertificateChanged {
                unit_name: certificate.unit_name.clone(),
                change,
            },
        )
    }
}

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeStatus {
    /// Waiting to be sent (or retried).
    Pending,
    /// The provider accepted it.
    Sent,
    /// Refused by the provider, or given up after [`MAX_ATTEMPTS`].
    Failed,
}

impl DeliveryStatus for NoticeStatus {
    const PENDING: Self = Self::Pending;
    const DELIVERED: Self = Self::Sent;
    const FAILED: Self = Self::Failed;

    fn as_str(self) -> &'static str {
        NoticeStatus::as_str(self)
    }

    fn parse(value: &str) -> Option<Self> {
        NoticeStatus::parse(value)
    }
}

impl NoticeStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A stored notice.
#[derive(Debug, Clone)]
pub struct NoticeRow {
    /// Id.
    pub id: i64,
    /// Where it goes.
    pub phone: String,
    /// What it is about.
    pub subject: String,
    /// The message.
    pub notice: SmsNotice,
    /// Where its sending stands.
    pub delivery: Delivery<NoticeStatus>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When the provider accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

/// Storage of the outbox (`store/` implements it; rows are inserted by the changes they
/// announce).
#[async_trait::async_trait]
pub trait NoticeStore: Send + Sync + std::fmt::Debug {
    /// Pending notices due at `now`, oldest first.
    async fn due_notices(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<NoticeRow>, StorageError>;
    /// Takes a due notice until `lease_until` if no other worker did (compare-and-set on
    /// `next_attempt_at`).
    async fn claim_notice(
        &self,
        row: &NoticeRow,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Records the outcome of a send.
    async fn record_notice(&self, row: &NoticeRow) -> Result<(), StorageError>;
    /// The notices about `subject`, oldest first.
    async fn notices_about(&self, subject: &str) -> Result<Vec<NoticeRow>, StorageError>;
}

/// The delivery worker.
#[derive(Debug)]
pub struct Notifier {
    store: Arc<dyn NoticeStore>,
    sms: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
}

impl Notifier {
    /// The worker over the outbox and the SMS provider; notices fall due by `clock`.
    pub fn new(
        store: Arc<dyn NoticeStore>,
        sms: Arc<dyn SmsSender>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, sms, clock }
    }

    /// The notices about `subject` (for staff and the applicant's status).
    pub async fn about(&self, subject: &str) -> Result<Vec<NoticeRow>, StorageError> {
        self.store.notices_about(subject).await
    }

    /// Sends every due notice once; returns how many it tried.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let now = self.clock.now();
        outbox::round(
            self.store.due_notices(now, BATCH).await?,
            now,
            |row, lease| async move {
                Ok(self.store.claim_notice(&row, lease).await?.then_some(row))
            },
            |row| self.send(row),
        )
        .await
    }

    /// Sends a claimed notice and records the outcome.
    async fn send(&self, row: NoticeRow) -> Result<(), StorageError> {
        let mut next = row.clone();
        match self.sms.send(&row.phone, &row.notice).await {
            Ok(()) => {
                next.delivery.delivered(None);
                next.sent_at = Some(self.clock.now());
            }
            Err(error) => {
                let refusal = matches!(error, SmsError::Rejected { .. })
                    && error.code() != "sms_rate_limited";
                next.delivery
                    .failed(error.to_string(), refusal, MAX_ATTEMPTS, self.clock.now());
            }
        }
        next.delivery
            .warn_unless_delivered("sms", &format!("{} {}", row.notice.kind(), row.subject));
        self.store.record_notice(&next).await
    }

    /// Runs [`Notifier::run_once`] every `period` for the life of the process.
    pub fn spawn(self: Arc<Self>, period: std::time::Duration) {
        outbox::spawn_rounds("sms", period, move || {
            let notifier = self.clone();
            async move { notifier.run_once().await }
        });
    }

    /// Sends what is due now, logging (not returning) a storage failure: for callers whose own
    /// change is already committed, and whose notice the periodic round will send anyway.
    pub async fn flush(&self) {
        if let Err(error) = self.run_once().await {
            tracing::error!(error = %error, "notice round failed; the worker will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn one_time_codes_are_never_stored() {
        let otp = SmsNotice::Otp {
            code: "123456".into(),
        };
        assert!(NoticeDraft::new("13800138000", "otp".into(), otp).is_none());
        let approved = SmsNotice::ApplicationRejected {
            unit_name: "昆明测试科技有限公司".into(),
            reason: "营业执照不清晰".into(),
        };
        let draft = NoticeDraft::new("13800138000", "application:1".into(), approved).unwrap();
        assert_eq!(draft.subject, "application:1");
    }

    /// The outbox in memory.
    #[derive(Debug, Default)]
    struct Rows(std::sync::Mutex<Vec<NoticeRow>>);

    #[async_trait::async_trait]
    impl NoticeStore for Rows {
        async fn due_notices(
            &self,
            now: DateTime<Utc>,
            _limit: u64,
        ) -> Result<Vec<NoticeRow>, StorageError> {
            let rows = self.0.lock().unwrap();
            Ok(rows
                .iter()
                .filter(|r| {
                    r.delivery.status == NoticeStatus::Pending && r.delivery.next_attempt_at <= now
                })
                .cloned()
                .collect())
        }
        async fn claim_notice(
            &self,
            row: &NoticeRow,
            lease_until: DateTime<Utc>,
        ) -> Result<bool, StorageError> {
            let mut rows = self.0.lock().unwrap();
            let stored = rows.iter_mut().find(|r| r.id == row.id).unwrap();
            if stored.delivery.next_attempt_at != row.delivery.next_attempt_at {
                return Ok(false);
            }
            stored.delivery.next_attempt_at = lease_until;
            Ok(true)
        }
        async fn record_notice(&self, next: &NoticeRow) -> Result<(), StorageError> {
            let mut rows = self.0.lock().unwrap();
            *rows.iter_mut().find(|r| r.id == next.id).unwrap() = next.clone();
            Ok(())
        }
        async fn notices_about(&self, subject: &str) -> Result<Vec<NoticeRow>, StorageError> {
            let rows = self.0.lock().unwrap();
            Ok(rows
                .iter()
                .filter(|r| r.subject == subject)
                .cloned()
                .collect())
        }
    }

    /// One scripted answer of the SMS provider.
    type Answer = fn() -> Result<(), SmsError>;

    /// Answers each send with the next scripted result (the last one repeats).
    #[derive(Debug)]
    struct Scripted(std::sync::Mutex<Vec<Answer>>);

    #[async_trait::async_trait]
    impl SmsSender for Scripted {
        async fn send(&self, _phone: &str, _notice: &SmsNotice) -> Result<(), SmsError> {
            let mut script = self.0.lock().unwrap();
            let next = if script.len() > 1 {
                script.remove(0)
            } else {
                script[0]
            };
            next()
        }
    }

    fn outbox(script: Vec<Answer>) -> (Arc<Rows>, Notifier) {
        let clock = Arc::new(crate::clock::AdjustableClock::new());
        let rows = Arc::new(Rows::default());
        rows.0.lock().unwrap().push(NoticeRow {
            id: 1,
            phone: "13800138000".into(),
            subject: "application:1".into(),
            notice: SmsNotice::MergeRequired {
                unit_name: "昆明测试科技有限公司".into(),
            },
            delivery: Delivery::due(clock.now()),
            created_at: clock.now(),
            sent_at: None,
        });
        let notifier = Notifier::new(rows.clone(), Arc::new(Scripted(script.into())), clock);
        (rows, notifier)
    }

    fn unavailable() -> Result<(), SmsError> {
        Err(SmsError::Unavailable {
            detail: "HTTP 503".into(),
        })
    }

    /// Makes the row due again now by the worker's clock (as if the backoff had passed).
    fn due_now(rows: &Rows, notifier: &Notifier) {
        rows.0.lock().unwrap()[0].delivery.next_attempt_at = notifier.clock.now();
    }

    #[tokio::test]
    async fn an_outage_is_retried_after_a_backoff_until_sent() {
        let (rows, notifier) = outbox(vec![unavailable, || Ok(())]);
        assert_eq!(notifier.run_once().await.unwrap(), 1);
        let row = notifier.about("application:1").await.unwrap().remove(0);
        assert_eq!(
            (row.delivery.status, row.delivery.attempts),
            (NoticeStatus::Pending, 1)
        );
        assert!(
            row.delivery.next_attempt_at > notifier.clock.now() + chrono::TimeDelta::seconds(50)
        );
        assert_eq!(notifier.run_once().await.unwrap(), 0, "backing off");
        due_now(&rows, &notifier);
        assert_eq!(notifier.run_once().await.unwrap(), 1);
        let row = notifier.about("application:1").await.unwrap().remove(0);
        assert_eq!(
            (row.delivery.status, row.delivery.attempts),
            (NoticeStatus::Sent, 2)
        );
        assert!(row.sent_at.is_some() && row.delivery.last_error.is_none());
        assert_eq!(notifier.run_once().await.unwrap(), 0, "sent once");
    }

    #[tokio::test]
    async fn a_refusal_fails_at_once_and_an_outage_gives_up_in_the_end() {
        let (_, notifier) = outbox(vec![|| {
            Err(SmsError::Rejected {
                code: "isv.MOBILE_NUMBER_ILLEGAL".into(),
                message: "invalid".into(),
            })
        }]);
        notifier.run_once().await.unwrap();
        let row = notifier.about("application:1").await.unwrap().remove(0);
        assert_eq!(
            (row.delivery.status, row.delivery.attempts),
            (NoticeStatus::Failed, 1)
        );

        let (rows, notifier) = outbox(vec![unavailable]);
        for _ in 0..MAX_ATTEMPTS {
            due_now(&rows, &notifier);
            notifier.run_once().await.unwrap();
        }
        let row = notifier.about("application:1").await.unwrap().remove(0);
        assert_eq!(
            (row.delivery.status, row.delivery.attempts),
            (NoticeStatus::Failed, MAX_ATTEMPTS)
        );
        assert!(row.delivery.last_error.unwrap().contains("503"));
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            NoticeStatus::Pending,
            NoticeStatus::Sent,
            NoticeStatus::Failed,
        ] {
            assert_eq!(NoticeStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(NoticeStatus::parse("sending"), None);
    }
}
