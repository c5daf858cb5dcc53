//! `SyncStore` on sea-orm: the outbox of approved applications (`sync_outbox`) and of certificate
//! events (`certificate_sync`), and the writing of a certificate event inside the transaction
//! that activates or revokes the certificate. An approved information change replaces an
//! application's queued payload with the next revision; the outcome of a push is recorded only
//! if the row still holds the revision pushed.

use chrono::{DateTime, Utc};
use sea_orm::{
    EntityTrait, QueryFilter, QueryOrder, QuerySelect as _, TransactionTrait, sea_query::Expr,
};

use super::{
    SeaStore,
    entities::{application, certificate_sync, sync_outbox},
    outbox_store::{claim_row, delivery, due_rows, insert_notice_in, set_delivery},
    txn::{append_in, commit, corrupt, retrying, unavailable},
};
use crate::{
    audit::AuditDraft,
    failure::StorageError,
    notify::NoticeDraft,
    sync::{CertificateSyncState, SyncState, SyncStatus, SyncStore},
};

fn state(row: sync_outbox::Model) -> Result<SyncState, StorageError> {
    Ok(SyncState {
        application_id: row.application_id,
        delivery: delivery(
            "sync_outbox",
            &row.status,
            row.attempts,
            row.next_attempt_at,
            row.last_error,
            row.reference,
        )?,
        accounts: match row.accounts {
            Some(accounts) => serde_json::from_value(accounts)
                .map_err(|e| corrupt("sync_outbox", e.to_string()))?,
            None => Vec::new(),
        },
        payload: serde_json::from_value(row.payload)
            .map_err(|e| corrupt("sync_outbox", e.to_string()))?,
    })
}

fn certificate_state(row: certificate_sync::Model) -> Result<CertificateSyncState, StorageError> {
    Ok(CertificateSyncState {
        id: row.id,
        delivery: delivery(
            "certificate_sync",
            &row.status,
            row.attempts,
            row.next_attempt_at,
            row.last_error,
            row.reference,
        )?,
        payload: serde_json::from_value(row.payload)
            .map_err(|e| corrupt("certificate_sync", e.to_string()))?,
    })
}

#[async_trait::async_trait]
impl SyncStore for SeaStore {
    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<SyncState>, StorageError> {
        due_rows::<sync_outbox::Entity, SyncStatus>(self.db(), now, limit)
            .await?
            .into_iter()
            .map(state)
            .collect()
    }

    async fn claim(
        &self,
        row: &SyncState,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        claim_row::<sync_outbox::Entity, _>(
            self.db(),
            sync_outbox::COLUMN.application_id.eq(row.application_id),
            &row.delivery,
            lease_until,
        )
        .await
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
        let stored = sync_outbox::Entity::find_by_id(next.application_id)
            .lock_exclusive()
            .one(&txn)
            .await
            .map_err(unavailable)?
            .map(state)
            .transpose()?;
        if let Some(stored) = stored
            && stored.payload.revision != next.payload.revision
        {
            // An information change was approved while this revision was being pushed: the
            // row now holds the next one, due at once; this outcome (and any merge notice) is
            // of details the platform is about to receive anew.
            tracing::info!(
                application = next.application_id,
                pushed = next.payload.revision,
                queued = stored.payload.revision,
                "push outcome of a superseded revision not recorded"
            );
            return commit(txn).await;
        }
        set_delivery(
            sync_outbox::Entity::update_many(),
            &next.delivery,
            self.now(),
        )
        .col_expr(sync_outbox::Column::Accounts, Expr::value(accounts))
        .filter(sync_outbox::COLUMN.application_id.eq(next.application_id))
        .exec(&txn)
        .await
        .map_err(unavailable)?;
        if let Some(notice) = notice {
            insert_notice_in(&txn, notice, self.now()).await?;
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
            let now = self.now();
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
            // The application's certificate events that did not reach the platform go again too.
            let certificates = certificate_sync::Entity::update_many()
                .col_expr(
                    certificate_sync::Column::Status,
                    Expr::value(SyncStatus::Pending.as_str()),
                )
                .col_expr(certificate_sync::Column::Attempts, Expr::value(0))
                .col_expr(certificate_sync::Column::NextAttemptAt, Expr::value(now))
                .col_expr(certificate_sync::Column::UpdatedAt, Expr::value(now))
                .filter(certificate_sync::COLUMN.application_id.eq(application_id))
                .filter(
                    certificate_sync::COLUMN
                        .status
                        .is_in([SyncStatus::Pending.as_str(), SyncStatus::Failed.as_str()]),
                )
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            if changed.rows_affected + certificates.rows_affected == 0 {
                return Ok(false);
            }
            append_in(&txn, audit, self.now()).await?;
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
            let now = self.now();
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
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await?;
            Ok(requeued)
        })
        .await
    }

    async fn due_certificates(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<CertificateSyncState>, StorageError> {
        due_rows::<certificate_sync::Entity, SyncStatus>(self.db(), now, limit)
            .await?
            .into_iter()
            .map(certificate_state)
            .collect()
    }

    async fn claim_certificate(
        &self,
        row: &CertificateSyncState,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        claim_row::<certificate_sync::Entity, _>(
            self.db(),
            certificate_sync::COLUMN.id.eq(row.id),
            &row.delivery,
            lease_until,
        )
        .await
    }

    async fn record_certificate(&self, next: &CertificateSyncState) -> Result<(), StorageError> {
        set_delivery(
            certificate_sync::Entity::update_many(),
            &next.delivery,
            self.now(),
        )
        .filter(certificate_sync::COLUMN.id.eq(next.id))
        .exec(self.db())
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn certificate_syncs(
        &self,
        application_id: i64,
    ) -> Result<Vec<CertificateSyncState>, StorageError> {
        certificate_sync::Entity::find()
            .filter(certificate_sync::COLUMN.application_id.eq(application_id))
            .order_by_asc(certificate_sync::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(certificate_state)
            .collect()
    }
}
