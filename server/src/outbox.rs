//! The outbox mechanism every queue of deliveries shares: platform pushes of approved
//! applications, of certificate events, and SMS notices.
//!
//! A change writes its outbox row in its own transaction (the `store` does that), so a change is
//! never recorded without its delivery or delivered without being recorded. A worker then takes
//! the due rows in rounds: it claims a row with a lease (compare-and-set on `next_attempt_at`, so
//! several instances can run workers), delivers it, and records the outcome as a [`Delivery`]:
//! delivered, blocked, failed for good, or pending again after a [`backoff`]. Delivery is at
//! least once: a worker that dies after sending and before recording sends again after the lease.

use std::{future::Future, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

use crate::failure::StorageError;

/// How long a claimed row is left to its worker before another may take it.
pub const LEASE: TimeDelta = TimeDelta::seconds(60);

/// Rows of a queue taken per round.
pub const BATCH: u64 = 20;

/// Delay before attempt `attempts + 1`: 30 s doubling, at most an hour.
pub fn backoff(attempts: u32) -> TimeDelta {
    let seconds = 30i64.saturating_mul(1i64 << attempts.min(7));
    TimeDelta::seconds(seconds.min(3600))
}

/// The stored states of one queue's rows: each queue names them in its own words (a push is
/// `synced`, a text message `sent`), the mechanism needs only these.
pub trait DeliveryStatus: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Waiting to be delivered (or retried).
    const PENDING: Self;
    /// Delivered.
    const DELIVERED: Self;
    /// Given up: refused, or out of attempts.
    const FAILED: Self;
    /// Stored form.
    fn as_str(self) -> &'static str;
    /// Parses the stored form.
    fn parse(value: &str) -> Option<Self>;
}

/// Where one queued delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery<S> {
    /// Where it stands.
    pub status: S,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is tried next (pending rows); the claim's lease while a worker has it.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure (or why it is blocked).
    pub last_error: Option<String>,
    /// The receiver's reference once delivered, when it gives one.
    pub reference: Option<String>,
}

impl<S: DeliveryStatus> Delivery<S> {
    /// A new row, due at `now`.
    pub fn due(now: DateTime<Utc>) -> Self {
        Self {
            status: S::PENDING,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            reference: None,
        }
    }

    /// One more attempt, which delivered (under the receiver's `reference`, if any).
    pub fn delivered(&mut self, reference: Option<String>) {
        self.attempts += 1;
        self.status = S::DELIVERED;
        self.reference = reference;
        self.last_error = None;
    }

    /// One more attempt, which ended in `status` (a queue's own outcome, such as blocked),
    /// for `reason`.
    pub fn settled(&mut self, status: S, reason: String) {
        self.attempts += 1;
        self.status = status;
        self.last_error = Some(reason);
    }

    /// One more attempt, which failed with `detail` at `now`: a refusal is final; an outage is
    /// tried again after a [`backoff`], until `max_attempts`.
    pub fn failed(&mut self, detail: String, refusal: bool, max_attempts: u32, now: DateTime<Utc>) {
        self.attempts += 1;
        self.last_error = Some(detail);
        if refusal || self.attempts >= max_attempts {
            self.status = S::FAILED;
        } else {
            self.status = S::PENDING;
            self.next_attempt_at = now + backoff(self.attempts);
        }
    }

    /// Logs an attempt on `subject` that did not deliver.
    pub fn warn_unless_delivered(&self, queue: &'static str, subject: &str) {
        if self.status != S::DELIVERED {
            tracing::warn!(
                queue,
                subject,
                status = self.status.as_str(),
                attempts = self.attempts,
                error = self.last_error.as_deref().unwrap_or(""),
                "delivery did not complete"
            );
        }
    }
}

/// One round over `due` rows: `claim` is asked to take each (until `now` + [`LEASE`]) and gives
/// it back if it did, and `deliver` delivers it and records the outcome; returns how many were
/// taken.
pub async fn round<R, C, CF, D, DF>(
    due: Vec<R>,
    now: DateTime<Utc>,
    mut claim: C,
    mut deliver: D,
) -> Result<usize, StorageError>
where
    C: FnMut(R, DateTime<Utc>) -> CF,
    CF: Future<Output = Result<Option<R>, StorageError>>,
    D: FnMut(R) -> DF,
    DF: Future<Output = Result<(), StorageError>>,
{
    let mut taken = 0;
    for row in due {
        if let Some(row) = claim(row, now + LEASE).await? {
            taken += 1;
            deliver(row).await?;
        }
    }
    Ok(taken)
}

/// Runs `work` every `period` for the life of the process, logging a failed round.
pub fn spawn_rounds<W, F>(queue: &'static str, period: Duration, work: W)
where
    W: Fn() -> F + Send + 'static,
    F: Future<Output = Result<usize, StorageError>> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        loop {
            ticker.tick().await;
            if let Err(error) = work().await {
                tracing::error!(queue, error = %error, "outbox round failed; the next round retries");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Status {
        Pending,
        Done,
        Failed,
    }

    impl DeliveryStatus for Status {
        const PENDING: Self = Self::Pending;
        const DELIVERED: Self = Self::Done;
        const FAILED: Self = Self::Failed;
        fn as_str(self) -> &'static str {
            match self {
                Self::Pending => "pending",
                Self::Done => "done",
                Self::Failed => "failed",
            }
        }
        fn parse(value: &str) -> Option<Self> {
            [Self::Pending, Self::Done, Self::Failed]
                .into_iter()
                .find(|s| s.as_str() == value)
        }
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        assert_eq!(backoff(0), TimeDelta::seconds(30));
        assert_eq!(backoff(1), TimeDelta::seconds(60));
        assert_eq!(backoff(3), TimeDelta::seconds(240));
        assert_eq!(backoff(9), TimeDelta::seconds(3600));
    }

    #[test]
    fn an_outage_backs_off_a_refusal_and_the_last_attempt_fail() {
        let now = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let mut delivery = Delivery::<Status>::due(now);
        delivery.failed("503".into(), false, 3, now);
        assert_eq!((delivery.status, delivery.attempts), (Status::Pending, 1));
        assert_eq!(delivery.next_attempt_at, now + TimeDelta::seconds(60));
        delivery.failed("503".into(), false, 3, now);
        delivery.failed("503".into(), false, 3, now);
        assert_eq!((delivery.status, delivery.attempts), (Status::Failed, 3));

        let mut refused = Delivery::<Status>::due(now);
        refused.failed("422".into(), true, 3, now);
        assert_eq!((refused.status, refused.attempts), (Status::Failed, 1));

        let mut done = Delivery::<Status>::due(now);
        done.failed("503".into(), false, 3, now);
        done.delivered(Some("R-1".into()));
        assert_eq!((done.status, done.attempts), (Status::Done, 2));
        assert_eq!(
            (done.reference.as_deref(), done.last_error),
            (Some("R-1"), None)
        );
    }

    #[tokio::test]
    async fn a_round_delivers_only_what_it_claims() {
        let delivered = std::sync::Mutex::new(Vec::new());
        let taken = round(
            vec![1, 2, 3],
            DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            |row, _| async move { Ok((row != 2).then_some(row)) },
            |row| {
                delivered.lock().unwrap().push(row);
                async { Ok(()) }
            },
        )
        .await
        .unwrap();
        assert_eq!(taken, 2);
        assert_eq!(*delivered.lock().unwrap(), [1, 3]);
    }
}
