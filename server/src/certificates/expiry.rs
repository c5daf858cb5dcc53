//! Expiry reminders (seed 003: renew in the month before expiry): an SMS to the holder 30 days
//! and 7 days before a certificate's `not_after`, each once. The lifecycle core decides which
//! are due ([`due_reminders`]); the sweep only sends them, through the notice outbox, with a
//! row per reminder written in the same transaction so that no reminder goes out twice however
//! many instances sweep. After `not_after` the certificate is 已过期 everywhere
//! ([`Standing`]), with nothing to send.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Offset as _, TimeDelta, Utc};

use crate::{
    ca::CertificateRecord, certificates::Standing, clock::Clock, failure::StorageError,
    notify::NoticeDraft, providers::sms::SmsNotice,
};

/// Days before expiry at which the holder is reminded, farthest first.
pub const REMINDER_DAYS: [i64; 2] = [30, 7];

/// A certificate in force that expires within the farthest reminder, and the reminders sent
/// for it so far.
#[derive(Debug, Clone)]
pub struct Expiring {
    /// The certificate.
    pub certificate: CertificateRecord,
    /// The `REMINDER_DAYS` already sent.
    pub reminded: Vec<i64>,
}

/// Storage of reminders (`store/` implements it).
#[async_trait::async_trait]
pub trait ReminderStore: Send + Sync + std::fmt::Debug {
    /// Active certificates with `not_after` after `now` and at or before `by`, with the
    /// reminders sent for each.
    async fn expiring(
        &self,
        now: DateTime<Utc>,
        by: DateTime<Utc>,
    ) -> Result<Vec<Expiring>, StorageError>;
    /// Records the reminders `days` of certificate `certificate_id` and queues `notice`, in one
    /// transaction; false, with nothing written, if one of them was recorded already.
    async fn remind(
        &self,
        certificate_id: i64,
        days: &[i64],
        notice: Option<&NoticeDraft>,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
}

/// The reminders due at `now` for a certificate expiring at `not_after` that has had
/// `reminded`: every threshold crossed and not yet sent, farthest first. One SMS covers them
/// all (a certificate found only 5 days before expiry gets the 7-day reminder alone).
pub fn due_reminders(not_after: DateTime<Utc>, now: DateTime<Utc>, reminded: &[i64]) -> Vec<i64> {
    let left = not_after - now;
    REMINDER_DAYS
        .into_iter()
        .filter(|days| left <= TimeDelta::days(*days) && !reminded.contains(days))
        .collect()
}

/// Whole days left until `not_after`, counting a part day as one.
pub fn days_left(not_after: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let seconds = (not_after - now).num_seconds().max(0);
    (seconds + 86_399) / 86_400
}

/// The date of `at` as the holder reads it, in China Standard Time: `2027年12月7日`.
pub fn date_zh(at: DateTime<Utc>) -> String {
    let china = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    at.with_timezone(&china)
        .format("%Y年%-m月%-d日")
        .to_string()
}

/// The reminder sweep.
#[derive(Debug)]
pub struct Reminders {
    store: Arc<dyn ReminderStore>,
    clock: Arc<dyn Clock>,
}

impl Reminders {
    /// Over its store, going by `clock`.
    pub fn new(store: Arc<dyn ReminderStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Queues every reminder due now; how many SMS were queued.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let now = self.clock.now();
        let farthest = REMINDER_DAYS.into_iter().max().unwrap_or_default();
        let mut queued = 0;
        for expiring in self
            .store
            .expiring(now, now + TimeDelta::days(farthest))
            .await?
        {
            let certificate = &expiring.certificate;
            if !Standing::of(certificate, now).in_force() {
                continue;
            }
            let due = due_reminders(certificate.not_after, now, &expiring.reminded);
            if due.is_empty() {
                continue;
            }
            let notice = NoticeDraft::new(
                &certificate.holder_phone,
                format!("certificate:{}", certificate.serial),
                SmsNotice::CertificateExpiring {
                    unit_name: certificate.unit_name.clone(),
                    expires_on: date_zh(certificate.not_after),
                    days_left: days_left(certificate.not_after, now),
                },
            );
            if self
                .store
                .remind(certificate.id, &due, notice.as_ref(), now)
                .await?
                && notice.is_some()
            {
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Runs [`Reminders::run_once`] every `period` for the life of the process.
    pub fn spawn(self: Arc<Self>, period: std::time::Duration) {
        crate::outbox::spawn_rounds("expiry-reminders", period, move || {
            let reminders = self.clone();
            async move { reminders.run_once().await }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_601_600, 0).unwrap_or_default() + TimeDelta::days(days)
    }

    #[test]
    fn each_threshold_is_due_once_and_the_nearest_covers_the_farther() {
        let expiry = at(365);
        assert!(
            due_reminders(expiry, at(334), &[]).is_empty(),
            "31 days left"
        );
        assert_eq!(due_reminders(expiry, at(335), &[]), [30]);
        assert!(due_reminders(expiry, at(340), &[30]).is_empty());
        assert_eq!(due_reminders(expiry, at(358), &[30]), [7]);
        assert!(due_reminders(expiry, at(360), &[30, 7]).is_empty());
        // Found only 5 days before: both thresholds, one SMS.
        assert_eq!(due_reminders(expiry, at(360), &[]), [30, 7]);
    }

    #[test]
    fn days_left_counts_a_part_day_and_dates_read_in_china_time() {
        let expiry = at(365);
        assert_eq!(days_left(expiry, at(335)), 30);
        assert_eq!(days_left(expiry, at(335) + TimeDelta::hours(1)), 30);
        assert_eq!(days_left(expiry, expiry), 0);
        // 2026-12-07T16:00:00Z is midnight of 12月8日 in Beijing.
        let evening = DateTime::parse_from_rfc3339("2026-12-07T16:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date_zh(evening), "2026年12月8日");
    }
}
