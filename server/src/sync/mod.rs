//! Data sync to the employment platform (seed 000 §三: 数据同步; DESIGN.md §10). Approving an
//! application writes an outbox row in the same transaction; this worker pushes due rows, retries
//! outages with exponential backoff, marks the row blocked when the platform reports several
//! employer accounts for the USCC (they must be merged first), and gives up after
//! [`MAX_ATTEMPTS`] until staff push again. Rows are claimed with a lease, so several instances
//! can run the worker.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use crate::{
    audit::AuditDraft,
    ca::StorageError,
    domain::Uscc,
    notify::NoticeDraft,
    outbox::{LEASE, backoff},
    providers::{
        platform::{EmployerSync, EmploymentPlatform, MergeRequest, PlatformError, SyncAnswer},
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

    /// The seed's wording (申请资料同步：…).
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Pending => "申请资料同步：数据未同步",
            Self::Synced => "申请资料同步：数据已同步",
            Self::Blocked => "申请资料同步：需要进行单位信息合并",
            Self::Failed => "申请资料同步：同步失败",
        }
    }
}

/// An outbox row.
#[derive(Debug, Clone)]
pub struct SyncState {
    /// The application.
    pub application_id: i64,
    /// Where it stands.
    pub status: SyncStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is tried next (pending rows).
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, or the merge reason when blocked.
    pub last_error: Option<String>,
    /// The platform's reference once synced.
    pub reference: Option<String>,
    /// When blocked: the platform's accounts for the USCC, one of which the others are merged
    /// into.
    pub accounts: Vec<String>,
    /// What is pushed.
    pub payload: EmployerSync,
}

/// Storage of the outbox (`store/` implements it; rows are inserted with the approval).
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
    /// re-push), audited; false if there is no such row or it is already synced.
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
}

impl Syncer {
    /// The worker over the outbox and the platform.
    pub fn new(store: Arc<dyn SyncStore>, platform: Arc<dyn EmploymentPlatform>) -> Self {
        Self { store, platform }
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

    /// Staff push a row again now: after a merge, once the platform is back, or to skip a
    /// backoff.
    pub async fn repush(&self, application_id: i64, staff: &str) -> Result<bool, StorageError> {
        let audit = AuditDraft {
            actor: format!("staff:{staff}"),
            action: "sync.repush",
            subject: format!("application:{application_id}"),
            detail: serde_json::json!({}),
        };
        self.store.requeue(application_id, audit).await
    }

    /// Staff merge the employer's accounts on the platform (seed 000 FAQ (一)): the accounts the
    /// platform named for this USCC are merged into `keep`, then the blocked applications are
    /// pushed again. Audited as `employer.merge`.
    pub async fn merge(&self, uscc: &Uscc, keep: &str, staff: &str) -> Result<Merged, MergeError> {
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
                operator: staff.to_string(),
            })
            .await?;
        let ids: Vec<i64> = blocked.iter().map(|row| row.application_id).collect();
        let audit = AuditDraft {
            actor: format!("staff:{staff}"),
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

    /// Pushes every due row once; returns how many it pushed.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let now = Utc::now();
        let mut pushed = 0;
        for row in self.store.due(now, 20).await? {
            if !self.store.claim(&row, now + LEASE).await? {
                continue;
            }
            pushed += 1;
            let mut next = row.clone();
            next.attempts += 1;
            next.accounts.clear();
            let mut notice = None;
            match self.platform.push(&row.payload).await {
                Ok(SyncAnswer::Synced { reference }) => {
                    next.status = SyncStatus::Synced;
                    next.reference = Some(reference);
                    next.last_error = None;
                }
                Ok(SyncAnswer::MultipleAccounts { accounts }) => {
                    next.status = SyncStatus::Blocked;
                    next.last_error = Some(MERGE_REASON.to_string());
                    next.accounts = accounts;
                    notice = NoticeDraft::new(
                        &row.payload.agent_phone,
                        format!("application:{}", row.application_id),
                        SmsNotice::MergeRequired {
                            unit_name: row.payload.unit_name.clone(),
                        },
                    );
                }
                Err(PlatformError::Refused { detail }) => {
                    next.status = SyncStatus::Failed;
                    next.last_error = Some(detail);
                }
                Err(PlatformError::Unavailable { detail }) => {
                    next.last_error = Some(detail);
                    if next.attempts >= MAX_ATTEMPTS {
                        next.status = SyncStatus::Failed;
                    } else {
                        next.status = SyncStatus::Pending;
                        next.next_attempt_at = Utc::now() + backoff(next.attempts);
                    }
                }
            }
            if next.status != SyncStatus::Synced {
                tracing::warn!(
                    application = row.application_id,
                    status = next.status.as_str(),
                    error = next.last_error.as_deref().unwrap_or(""),
                    "platform sync did not complete"
                );
            }
            self.store.record(&next, notice.as_ref()).await?;
        }
        Ok(pushed)
    }

    /// Runs [`Syncer::run_once`] every `period` for the life of the process.
    pub fn spawn(self: Arc<Self>, period: Duration) {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            loop {
                ticker.tick().await;
                if let Err(error) = self.run_once().await {
                    tracing::error!(error = %error, "platform sync round failed");
                }
            }
        });
    }
}
