//! `SyncStore` on sea-orm.

use chrono::{DateTime, Utc};
use sea_orm::{
    EntityTrait, QueryFilter, QueryOrder, QuerySelect as _, TransactionTrait, sea_query::Expr,
};

use super::{
    cert_store::{SeaCertStore, append_in, commit, corrupt, retrying, unavailable},
    entities::{application, sync_outbox},
    notice_store::insert_notice_in,
};
use crate::{
    audit::AuditDraft,
    ca::StorageError,
    notify::NoticeDraft,
    sync::{SyncState, SyncStatus, SyncStore},
};

fn state(row: sync_outbox::Model) -> Result<SyncState, StorageError> {
    Ok(SyncState {
        application_id: row.application_id,
        status: SyncStatus::parse(&row.status)
            .ok_or_else(|| corrupt("sync_outbox", format!("status {}", row.status)))?,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error,
        reference: row.reference,
        accounts: match row.accounts {
            Some(accounts) => serde_json::from_value(accounts)
                .map_err(|e| corrupt("sync_outbox", e.to_string()))?,
            None => Vec::new(),
        },
        payload: serde_json::from_value(row.payload)
            .map_err(|e| corrupt("sync_outbox", e.to_string()))?,
    })
}

#[async_trait::async_trait]
impl SyncStore for SeaCertStore {
    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<SyncState>, StorageError> {
        sync_outbox::Entity::find()
            .filter(sync_outbox::COLUMN.status.eq(SyncStatus::Pending.as_str()))
            .filter(sync_outbox::COLUMN.next_attempt_at.lte(now))
            .order_by_asc(sync_outbox::COLUMN.next_attempt_at)
            .limit(limit)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(state)
            .collect()
    }

    async fn claim(
        &self,
        row: &SyncState,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let claimed = sync_outbox::Entity::update_many()
            .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(lease_until))
            .filter(sync_outbox::COLUMN.application_id.eq(row.application_id))
            .filter(sync_outbox::COLUMN.status.eq(SyncStatus::Pending.as_str()))
            .filter(sync_outbox::COLUMN.next_attempt_at.eq(row.next_attempt_at))
            .exec(self.db())
            .await
            .map_err(unavailable)?;
        Ok(claimed.rows_affected == 1)
    }

    async fn record(
        &self,
        next: &SyncState,
        notice: Option<&NoticeDraft>,
    ) -> Result<(), StorageError> {
        let accounts = if next.accounts.is_empty() {
            None
        } else {
            Some(serde_json::json!(next.accounts))
        };
        let txn = self.db().begin().await.map_err(unavailable)?;
        sync_outbox::Entity::update_many()
            .col_expr(
                sync_outbox::Column::Status,
                Expr::value(next.status.as_str()),
            )
            .col_expr(
                sync_outbox::Column::Attempts,
                Expr::value(i32::try_from(next.attempts).unwrap_or(i32::MAX)),
            )
            .col_expr(
                sync_outbox::Column::NextAttemptAt,
                Expr::value(next.next_attempt_at),
            )
            .col_expr(
                sync_outbox::Column::LastError,
                Expr::value(next.last_error.clone()),
            )
            .col_expr(
                sync_outbox::Column::Reference,
                Expr::value(next.reference.clone()),
            )
            .col_expr(sync_outbox::Column::Accounts, Expr::value(accounts))
            .col_expr(sync_outbox::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(sync_outbox::COLUMN.application_id.eq(next.application_id))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if let Some(notice) = notice {
            insert_notice_in(&txn, notice).await?;
        }
        commit(txn).await
    }

    async fn sync_states(&self, application_ids: &[i64]) -> Result<Vec<SyncState>, StorageError> {
        if application_ids.is_empty() {
            return Ok(Vec::new());
        }
        sync_outbox::Entity::find()
            .filter(
                sync_outbox::COLUMN
                    .application_id
                    .is_in(application_ids.iter().copied()),
            )
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(state)
            .collect()
    }

    async fn requeue(&self, application_id: i64, audit: AuditDraft) -> Result<bool, StorageError> {
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let now = Utc::now();
            let changed = sync_outbox::Entity::update_many()
                .col_expr(
                    sync_outbox::Column::Status,
                    Expr::value(SyncStatus::Pending.as_str()),
                )
                .col_expr(sync_outbox::Column::Attempts, Expr::value(0))
                .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(now))
                .col_expr(sync_outbox::Column::UpdatedAt, Expr::value(now))
                .filter(sync_outbox::COLUMN.application_id.eq(application_id))
                .filter(sync_outbox::COLUMN.status.is_in([
                    SyncStatus::Pending.as_str(),
                    SyncStatus::Failed.as_str(),
                    SyncStatus::Blocked.as_str(),
                ]))
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            if changed.rows_affected != 1 {
                return Ok(false);
            }
            append_in(&txn, audit).await?;
            commit(txn).await?;
            Ok(true)
        })
        .await
    }

    async fn blocked_for(&self, uscc: &str) -> Result<Vec<SyncState>, StorageError> {
        let ids: Vec<i64> = application::Entity::find()
            .select_only()
            .column(application::Column::Id)
            .filter(application::COLUMN.uscc.eq(uscc))
            .into_tuple()
            .all(self.db())
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        sync_outbox::Entity::find()
            .filter(sync_outbox::COLUMN.application_id.is_in(ids))
            .filter(sync_outbox::COLUMN.status.eq(SyncStatus::Blocked.as_str()))
            .order_by_asc(sync_outbox::COLUMN.application_id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(state)
            .collect()
    }

    async fn requeue_blocked(
        &self,
        application_ids: &[i64],
        audit: AuditDraft,
    ) -> Result<Vec<i64>, StorageError> {
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let now = Utc::now();
            let mut requeued = Vec::new();
            for &id in application_ids {
                let changed = sync_outbox::Entity::update_many()
                    .col_expr(
                        sync_outbox::Column::Status,
                        Expr::value(SyncStatus::Pending.as_str()),
                    )
                    .col_expr(sync_outbox::Column::Attempts, Expr::value(0))
                    .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(now))
                    .col_expr(
                        sync_outbox::Column::Accounts,
                        Expr::value(Option::<serde_json::Value>::None),
                    )
                    .col_expr(sync_outbox::Column::UpdatedAt, Expr::value(now))
                    .filter(sync_outbox::COLUMN.application_id.eq(id))
                    .filter(sync_outbox::COLUMN.status.eq(SyncStatus::Blocked.as_str()))
                    .exec(&txn)
                    .await
                    .map_err(unavailable)?;
                if changed.rows_affected == 1 {
                    requeued.push(id);
                }
            }
            append_in(&txn, audit).await?;
            commit(txn).await?;
            Ok(requeued)
        })
        .await
    }
}
