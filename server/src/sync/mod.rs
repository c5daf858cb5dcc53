//! Data sync to the employment platform (seed 000 §三: 数据同步; DESIGN.md §10). Approving an
//! application writes an outbox row in the same transaction; this worker pushes due rows, retries
//! outages with exponential backoff, marks the row blocked when the platform reports several
//! employer accounts for the USCC (they must be merged first), and gives up after
//! [`MAX_ATTEMPTS`] until staff push again. Rows are claimed with a lease, so several instances
//! can run the worker.
//!
//! The certificates downloaded for an approved application reach the platform the same way:
//! activating one and revoking one each queue a certificate event in the transaction of the
//! change, and the worker pushes them with the same lease, backoff and limit: both queues are
//! outboxes ([`crate::outbox`]).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::failure::{Describe, Description, code};
use crate::staff::Reviewer;
use crate::{
    audit::AuditDraft,
    domain::Uscc,
    failure::StorageError,
    notify::NoticeDraft,
    outbox::{self, BATCH, DeliveryStatus},
    providers::{
        platform::{
            CertificateSync, EmployerSync, EmploymentPlatform, MergeRequest, PlatformError,
            SyncAnswer,
        },
        sms::SmsNotice,
    },
};

/// Attempts before a row is marked failed.
pub const MAX_ATTEMPTS: u32 = 10;

/// What the applicant is told when the sync is blocked (seed 000 FAQ (一)). The accounts
/// themselves are shown to staff only; the seed sends the employer to the employment office
/// to learn them.
pub const MERGE_REASON: &str = "贵单位在就业系统注册过多个单位账号，需要进行单位信息合并：请联系云南CA公司\
     申请把多个账号合并成一个账号，合并后即可继续申请手机CA证书。如需查询具体存在哪些账号，可联系\
     单位所在地就业窗口工作人员查询";

/// Where a push stands, as applicants and staff see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// Waiting to be pushed (or retried).
    Pending,
    /// The platform has it.
    Synced,
    /// The platform has several accounts for the USCC: merge them first.
    Blocked,
    /// Gave up after repeated failures or a refusal; staff can push again.
    Failed,
}

impl DeliveryStatus for SyncStatus {
    const PENDING: Self = Self::Pending;
    const DELIVERED: Self = Self::Synced;
    const FAILED: Self = Self::Failed;

    fn as_str(self) -> &'static str {
        SyncStatus::as_str(self)
    }

    fn parse(value: &str) -> Option<Self> {
        SyncStatus::parse(value)
    }
}

impl SyncStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Synced => "synced",
            Self::Blocked => "blocked",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Synced, Self::Blocked, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// The seed's wording of an application's sync (申请资料同步：…).
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Pending => "申请资料同步：数据未同步",
            Self::Synced => "申请资料同步：数据已同步",
            Self::Blocked => "申请资料同步：需要进行单位信息合并",
            Self::Failed => "申请资料同步：同步失败",
        }
    }

    /// The same wording for a certificate event (证书数据同步：…); a certificate event is never
    /// blocked, as the merge concerns the application.
    pub fn certificate_label_zh(self) -> String {
        let label = self.label_zh();
        let outcome = label.split_once('：').map_or(label, |(_, outcome)| outcome);
        format!("证书数据同步：{outcome}")
    }
}

/// Where one queued push stands; both queues (applications and certificate events) keep it.
pub type Delivery = outbox::Delivery<SyncStatus>;

/// Records the platform's answer `error` on `delivery` at `now`: a refusal is final, an outage
/// is retried.
fn failed(delivery: &mut Delivery, error: PlatformError, now: DateTime<Utc>) {
    let (refusal, detail) = match error {
        PlatformError::Refused { detail } => (true, detail),
        PlatformError::Unavailable { detail } => (false, detail),
    };
    delivery.failed(detail, refusal, MAX_ATTEMPTS, now);
}

/// An outbox row.
#[derive(Debug, Clone)]
pub struct SyncState {
    /// The application.
    pub application_id: i64,
    /// Where its push stands.
    pub delivery: Delivery,
    /// When blocked: the platform's accounts for the USCC, one of which the others are merged
    /// into.
    pub accounts: Vec<String>,
    /// What is pushed.
    pub payload: EmployerSync,
}

/// A queued certificate event (activated or revoked) of an approved application's certificate.
#[derive(Debug, Clone)]
pub struct CertificateSyncState {
    /// The row.
    pub id: i64,
    /// Where its push stands.
    pub delivery: Delivery,
    /// What is pushed (serial, event and the application among it).
    pub payload: CertificateSync,
}

/// Storage of the outbox (`store/` implements it; rows are inserted with the approval, or
/// with the certificate's activation or revocation).
#[async_trait::async_trait]
pub trait SyncStore: Send + Sync + std::fmt::Debug {
    /// Pending rows due at `now`, oldest first.
    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<SyncState>, StorageError>;
    /// Takes a due row for `lease_until` if nobody else did (compare-and-set on
    /// `next_attempt_at`); false if another worker has it.
    async fn claim(
        &self,
        row: &SyncState,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Records an outcome, with the notice it causes (the merge request to the agent) in the
    /// same transaction.
    async fn record(
        &self,
        state: &SyncState,
        notice: Option<&NoticeDraft>,
    ) -> Result<(), StorageError>;
    /// The rows of these applications (those that have one), in one query.
    async fn sync_states(&self, application_ids: &[i64]) -> Result<Vec<SyncState>, StorageError>;
    /// Makes a pending, failed or blocked row due now with a fresh attempt count (staff
    /// re-push), and so the application's pending or failed certificate events, audited in the
    /// same transaction; false if there is nothing to push again.
    async fn requeue(&self, application_id: i64, audit: AuditDraft) -> Result<bool, StorageError>;
    /// The blocked rows of applications for this USCC.
    async fn blocked_for(&self, uscc: &str) -> Result<Vec<SyncState>, StorageError>;
    /// After a merge on the platform: makes these rows, if still blocked, due now with a fresh
    /// attempt count, audited in the same transaction; returns the applications requeued.
    async fn requeue_blocked(
        &self,
        application_ids: &[i64],
        audit: AuditDraft,
    ) -> Result<Vec<i64>, StorageError>;
    /// Pending certificate events due at `now`, oldest first (rows are inserted with the
    /// activation or revocation they report).
    async fn due_certificates(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<CertificateSyncState>, StorageError>;
    /// Takes a due certificate event like [`SyncStore::claim`].
    async fn claim_certificate(
        &self,
        row: &CertificateSyncState,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Records the outcome of a certificate event's push.
    async fn record_certificate(&self, state: &CertificateSyncState) -> Result<(), StorageError>;
    /// The certificate events of one application, oldest first.
    async fn certificate_syncs(
        &self,
        application_id: i64,
    ) -> Result<Vec<CertificateSyncState>, StorageError>;
}

/// Why a merge was not done.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No application of this USCC is blocked on several accounts.
    #[error("no sync is blocked on several accounts for this USCC")]
    NotBlocked,
    /// The account to keep is not one the platform named.
    #[error("the account to keep is not one the platform named")]
    UnknownAccount {
        /// The accounts the platform named.
        accounts: Vec<String>,
    },
    /// The platform did not merge.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The account kept.
    pub kept: String,
    /// The accounts merged into it.
    pub absorbed: Vec<String>,
    /// The applications pushed again.
    pub requeued: Vec<i64>,
}

/// The worker.
#[derive(Debug)]
pub struct Syncer {
    store: Arc<dyn SyncStore>,
    platform: Arc<dyn EmploymentPlatform>,
    clock: Arc<dyn Clock>,
}

impl Syncer {
    /// The worker over the outbox and the platform; pushes fall due by `clock`.
    pub fn new(
        store: Arc<dyn SyncStore>,
        platform: Arc<dyn EmploymentPlatform>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            platform,
            clock,
        }
    }

    /// The outbox rows of these applications, by application id.
    pub async fn states(
        &self,
        application_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, SyncState>, StorageError> {
        Ok(self
            .store
            .sync_states(application_ids)
            .await?
            .into_iter()
            .map(|state| (state.application_id, state))
            .collect())
    }

    /// The certificate events of an application and where their pushes stand, oldest first.
    pub async fn certificate_syncs(
        &self,
        application_id: i64,
    ) -> Result<Vec<CertificateSyncState>, StorageError> {
        self.store.certificate_syncs(application_id).await
    }

    /// Staff push a row again now: after a merge, once the platform is back, or to skip a
    /// backoff.
    pub async fn repush(
        &self,
        application_id: i64,
        staff: &Reviewer,
    ) -> Result<bool, StorageError> {
        let audit = AuditDraft {
            actor: staff.actor(),
            action: "sync.repush",
            subject: format!("application:{application_id}"),
            detail: serde_json::json!({}),
        };
        self.store.requeue(application_id, audit).await
    }

    /// Staff merge the employer's accounts on the platform (seed 000 FAQ (一)): the accounts the
    /// platform named for this USCC are merged into `keep`, then the blocked applications are
    /// pushed again. Audited as `employer.merge`.
    pub async fn merge(
        &self,
        uscc: &Uscc,
        keep: &str,
        staff: &Reviewer,
    ) -> Result<Merged, MergeError> {
        let blocked = self.store.blocked_for(uscc.as_str()).await?;
        if blocked.is_empty() {
            return Err(MergeError::NotBlocked);
        }
        let mut accounts: Vec<String> = blocked
            .iter()
            .flat_map(|row| row.accounts.iter().cloned())
            .collect();
        accounts.sort();
        accounts.dedup();
        if !accounts.iter().any(|a| a == keep) {
            return Err(MergeError::UnknownAccount { accounts });
        }
        let absorbed: Vec<String> = accounts.into_iter().filter(|a| a != keep).collect();
        self.platform
            .merge_accounts(&MergeRequest {
                uscc: uscc.as_str().to_string(),
                keep: keep.to_string(),
                absorb: absorbed.clone(),
                operator: staff.username().to_string(),
            })
            .await?;
        let ids: Vec<i64> = blocked.iter().map(|row| row.application_id).collect();
        let audit = AuditDraft {
            actor: staff.actor(),
            action: "employer.merge",
            subject: uscc.as_str().to_string(),
            detail: serde_json::json!({ "kept": keep, "absorbed": absorbed, "applications": ids }),
        };
        let requeued = self.store.requeue_blocked(&ids, audit).await?;
        self.run_once().await?;
        Ok(Merged {
            kept: keep.to_string(),
            absorbed,
            requeued,
        })
    }

    /// Pushes every due row of both queues once; returns how many it pushed.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let now = self.clock.now();
        let applications = outbox::round(
            self.store.due(now, BATCH).await?,
            now,
            |row, lease| async move { Ok(self.store.claim(&row, lease).await?.then_some(row)) },
            |row| self.push_application(row),
        )
        .await?;
        let certificates = outbox::round(
            self.store.due_certificates(now, BATCH).await?,
            now,
            |row, lease| async move {
                Ok(self
                    .store
                    .claim_certificate(&row, lease)
                    .await?
                    .then_some(row))
            },
            |row| self.push_certificate(row),
        )
        .await?;
        Ok(applications + certificates)
    }

    /// Pushes a claimed application row and records the outcome.
    async fn push_application(&self, row: SyncState) -> Result<(), StorageError> {
        let mut next = row.clone();
        next.accounts.clear();
        let mut notice = None;
        match self.platform.push(&row.payload).await {
            Ok(SyncAnswer::Synced { reference }) => next.delivery.delivered(Some(reference)),
            Ok(SyncAnswer::MultipleAccounts { accounts }) => {
                next.delivery
                    .settled(SyncStatus::Blocked, MERGE_REASON.to_string());
                next.accounts = accounts;
                notice = NoticeDraft::new(
                    &row.payload.agent_phone,
                    format!("application:{}", row.application_id),
                    SmsNotice::MergeRequired {
                        unit_name: row.payload.unit_name.clone(),
                    },
                );
            }
            Err(error) => failed(&mut next.delivery, error, self.clock.now()),
        }
        next.delivery
            .warn_unless_delivered("platform", &format!("application:{}", row.application_id));
        self.store.record(&next, notice.as_ref()).await
    }

    /// Pushes a claimed certificate event and records the outcome.
    async fn push_certificate(&self, row: CertificateSyncState) -> Result<(), StorageError> {
        let mut next = row.clone();
        match self.platform.push_certificate(&row.payload).await {
            Ok(reference) => next.delivery.delivered(Some(reference)),
            Err(error) => failed(&mut next.delivery, error, self.clock.now()),
        }
        next.delivery.warn_unless_delivered(
            "platform",
            &format!(
                "certificate:{}:{}",
                row.payload.serial,
                row.payload.event.as_str()
            ),
        );
        self.store.record_certificate(&next).await
    }

    /// Runs [`Syncer::run_once`] every `period` for the life of the process.
    pub fn spawn(self: Arc<Self>, period: Duration) {
        outbox::spawn_rounds("platform", period, move || {
            let syncer = self.clone();
            async move { syncer.run_once().await }
        });
    }
}

impl Describe for MergeError {
    fn describe(&self) -> Description {
        match self {
            Self::NotBlocked => Description::new(
                code::MERGE_NOT_NEEDED,
                "该单位没有因“需要进行单位信息合并”而暂停同步的申请，无需合并",
            ),
            Self::UnknownAccount { accounts } => Description::new(
                code::MERGE_ACCOUNT_UNKNOWN,
                format!(
                    "保留的账号须是就业系统列出的账号之一：{}",
                    accounts.join("、")
                ),
            ),
            Self::Platform(PlatformError::Unavailable { .. }) => Description::new(
                code::PLATFORM_UNAVAILABLE,
                "就业系统暂时无法访问，账号未合并，请稍后重试",
            ),
            Self::Platform(PlatformError::Refused { .. }) => Description::new(
                code::PLATFORM_MERGE_REFUSED,
                "就业系统拒绝了合并请求，账号未合并：请与就业系统核对账号后重试",
            ),
            Self::Storage(e) => e.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use super::*;
    use crate::{certificates::CertificateEvent, providers::platform::activation_for_tests};

    /// The certificate queue in memory (no application rows).
    #[derive(Debug, Default)]
    struct Rows(Mutex<Vec<CertificateSyncState>>);

    #[async_trait::async_trait]
    impl SyncStore for Rows {
        async fn due(&self, _: DateTime<Utc>, _: u64) -> Result<Vec<SyncState>, StorageError> {
            Ok(Vec::new())
        }
        async fn claim(&self, _: &SyncState, _: DateTime<Utc>) -> Result<bool, StorageError> {
            Ok(false)
        }
        async fn record(&self, _: &SyncState, _: Option<&NoticeDraft>) -> Result<(), StorageError> {
            Ok(())
        }
        async fn sync_states(&self, _: &[i64]) -> Result<Vec<SyncState>, StorageError> {
            Ok(Vec::new())
        }
        async fn requeue(&self, _: i64, _: AuditDraft) -> Result<bool, StorageError> {
            Ok(false)
        }
        async fn blocked_for(&self, _: &str) -> Result<Vec<SyncState>, StorageError> {
            Ok(Vec::new())
        }
        async fn requeue_blocked(
            &self,
            _: &[i64],
            _: AuditDraft,
        ) -> Result<Vec<i64>, StorageError> {
            Ok(Vec::new())
        }
        async fn due_certificates(
            &self,
            now: DateTime<Utc>,
            _limit: u64,
        ) -> Result<Vec<CertificateSyncState>, StorageError> {
            let rows = self.0.lock().unwrap();
            Ok(rows
                .iter()
                .filter(|r| {
                    r.delivery.status == SyncStatus::Pending && r.delivery.next_attempt_at <= now
                })
                .cloned()
                .collect())
        }
        async fn claim_certificate(
            &self,
            row: &CertificateSyncState,
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
        async fn record_certificate(
            &self,
            next: &CertificateSyncState,
        ) -> Result<(), StorageError> {
            let mut rows = self.0.lock().unwrap();
            *rows.iter_mut().find(|r| r.id == next.id).unwrap() = next.clone();
            Ok(())
        }
        async fn certificate_syncs(
            &self,
            application_id: i64,
        ) -> Result<Vec<CertificateSyncState>, StorageError> {
            let rows = self.0.lock().unwrap();
            Ok(rows
                .iter()
                .filter(|r| r.payload.application_id == application_id)
                .cloned()
                .collect())
        }
    }

    /// One scripted answer of the platform to a certificate push.
    type Answer = fn() -> Result<String, PlatformError>;

    /// Answers certificate pushes from a script (the last answer repeats) and keeps them.
    #[derive(Debug)]
    struct Platform {
        script: Mutex<Vec<Answer>>,
        received: Mutex<Vec<CertificateSync>>,
    }

    #[async_trait::async_trait]
    impl EmploymentPlatform for Platform {
        async fn push(&self, _: &EmployerSync) -> Result<SyncAnswer, PlatformError> {
            unreachable!("no application rows")
        }
        async fn merge_accounts(&self, _: &MergeRequest) -> Result<(), PlatformError> {
            unreachable!("no merges")
        }
        async fn push_certificate(
            &self,
            record: &CertificateSync,
        ) -> Result<String, PlatformError> {
            self.received.lock().unwrap().push(record.clone());
            let mut script = self.script.lock().unwrap();
            let next = if script.len() > 1 {
                script.remove(0)
            } else {
                script[0]
            };
            next()
        }
    }

    /// A worker with one activation of application 7's certificate queued.
    fn queued(script: Vec<Answer>) -> (Arc<Rows>, Arc<Platform>, Syncer) {
        let clock = Arc::new(crate::clock::AdjustableClock::new());
        let at = clock.now();
        let rows = Arc::new(Rows::default());
        rows.0.lock().unwrap().push(CertificateSyncState {
            id: 1,
            delivery: Delivery {
                status: SyncStatus::Pending,
                attempts: 0,
                next_attempt_at: at,
                last_error: None,
                reference: None,
            },
            payload: activation_for_tests(),
        });
        let platform = Arc::new(Platform {
            script: script.into(),
            received: Mutex::default(),
        });
        let syncer = Syncer::new(rows.clone(), platform.clone(), clock);
        (rows, platform, syncer)
    }

    async fn the_row(syncer: &Syncer) -> Delivery {
        syncer
            .certificate_syncs(7)
            .await
            .unwrap()
            .remove(0)
            .delivery
    }

    fn unavailable() -> Result<String, PlatformError> {
        Err(PlatformError::Unavailable {
            detail: "HTTP 503".into(),
        })
    }

    /// Makes the row due again now by the worker's clock (as if the backoff had passed).
    fn due_now(rows: &Rows, syncer: &Syncer) {
        rows.0.lock().unwrap()[0].delivery.next_attempt_at = syncer.clock.now();
    }

    #[tokio::test]
    async fn an_activation_is_pushed_once() {
        let (_, platform, syncer) = queued(vec![|| Ok("JY-C-1".into())]);
        assert_eq!(syncer.run_once().await.unwrap(), 1);
        let row = the_row(&syncer).await;
        assert_eq!((row.status, row.attempts), (SyncStatus::Synced, 1));
        assert_eq!(row.reference.as_deref(), Some("JY-C-1"));
        let received = platform.received.lock().unwrap().clone();
        assert_eq!(received.len(), 1);
        assert_eq!(
            (received[0].serial.as_str(), received[0].event),
            ("5f3a", CertificateEvent::Activated)
        );
        assert_eq!(syncer.run_once().await.unwrap(), 0, "pushed once");
        assert_eq!(
            SyncStatus::Synced.certificate_label_zh(),
            "证书数据同步：数据已同步"
        );
    }

    #[tokio::test]
    async fn a_refusal_fails_at_once() {
        let (_, _, syncer) = queued(vec![|| {
            Err(PlatformError::Refused {
                detail: "HTTP 422 unknown_serial".into(),
            })
        }]);
        assert_eq!(syncer.run_once().await.unwrap(), 1);
        let row = the_row(&syncer).await;
        assert_eq!((row.status, row.attempts), (SyncStatus::Failed, 1));
        assert_eq!(row.last_error.as_deref(), Some("HTTP 422 unknown_serial"));
        assert_eq!(syncer.run_once().await.unwrap(), 0, "not retried");
        assert_eq!(row.status.certificate_label_zh(), "证书数据同步：同步失败");
    }

    #[tokio::test]
    async fn an_outage_backs_off_then_gives_up() {
        let (rows, _, syncer) = queued(vec![unavailable]);
        assert_eq!(syncer.run_once().await.unwrap(), 1);
        let row = the_row(&syncer).await;
        assert_eq!((row.status, row.attempts), (SyncStatus::Pending, 1));
        assert!(row.next_attempt_at > syncer.clock.now() + chrono::TimeDelta::seconds(50));
        assert_eq!(
            row.status.certificate_label_zh(),
            "证书数据同步：数据未同步"
        );
        assert_eq!(syncer.run_once().await.unwrap(), 0, "backing off");
        for _ in 1..MAX_ATTEMPTS {
            due_now(&rows, &syncer);
            assert_eq!(syncer.run_once().await.unwrap(), 1);
        }
        let row = the_row(&syncer).await;
        assert_eq!(
            (row.status, row.attempts),
            (SyncStatus::Failed, MAX_ATTEMPTS)
        );
        assert!(row.last_error.unwrap().contains("503"));
    }
}
