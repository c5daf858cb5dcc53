//! `SyncStore` on sea-orm: the outbox of approved applications (`sync_outbox`) and of certificate
//! events (`certificate_sync`), and the writing of a certificate event inside the transaction
//! that activates or revokes the certificate.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::Set,
    ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect as _,
    TransactionTrait, UpdateMany,
    sea_query::{Expr, ExprTrait as _, IntoCondition},
};

use super::{
    cert_store::{SeaCertStore, append_in, commit, corrupt, retrying, unavailable},
    entities::{application, certificate, certificate_sync, enrolment_ticket, sync_outbox, unit},
    notice_store::insert_notice_in,
};
use crate::{
    audit::AuditDraft,
    ca::StorageError,
    notify::NoticeDraft,
    providers::platform::{CertificateEvent, CertificateSync},
    sync::{CertificateSyncState, Delivery, SyncState, SyncStatus, SyncStore},
};

// The delivery columns, named alike in both outbox tables, so that claiming a row and recording
// an outcome are written once for both.
const STATUS: &str = "status";
const ATTEMPTS: &str = "attempts";
const NEXT_ATTEMPT_AT: &str = "next_attempt_at";
const LAST_ERROR: &str = "last_error";
const REFERENCE: &str = "reference";
const UPDATED_AT: &str = "updated_at";

/// The delivery columns of a row of `table`, read back.
fn delivery(
    table: &'static str,
    status: &str,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    reference: Option<String>,
) -> Result<Delivery, StorageError> {
    Ok(Delivery {
        status: SyncStatus::parse(status)
            .ok_or_else(|| corrupt(table, format!("status {status}")))?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at,
        last_error,
        reference,
    })
}

/// The pending rows of either outbox table due at `now`, oldest first.
async fn due_rows<E: EntityTrait>(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<E::Model>, StorageError> {
    E::find()
        .filter(Expr::col(STATUS).eq(SyncStatus::Pending.as_str()))
        .filter(Expr::col(NEXT_ATTEMPT_AT).lte(now))
        .order_by_asc(Expr::col(NEXT_ATTEMPT_AT))
        .limit(limit)
        .all(db)
        .await
        .map_err(unavailable)
}

/// Takes the pending row `key` picks for `lease_until` if its `next_attempt_at` is still what
/// the worker saw (compare-and-set); false if another worker has it.
async fn claim_row<E: EntityTrait>(
    db: &impl ConnectionTrait,
    key: impl IntoCondition,
    seen: &Delivery,
    lease_until: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let claimed = E::update_many()
        .col_expr(NEXT_ATTEMPT_AT, Expr::value(lease_until))
        .filter(key)
        .filter(Expr::col(STATUS).eq(SyncStatus::Pending.as_str()))
        .filter(Expr::col(NEXT_ATTEMPT_AT).eq(seen.next_attempt_at))
        .exec(db)
        .await
        .map_err(unavailable)?;
    Ok(claimed.rows_affected == 1)
}

/// `update` setting the delivery columns to `next`.
fn set_delivery<E: EntityTrait>(update: UpdateMany<E>, next: &Delivery) -> UpdateMany<E> {
    update
        .col_expr(STATUS, Expr::value(next.status.as_str()))
        .col_expr(
            ATTEMPTS,
            Expr::value(i32::try_from(next.attempts).unwrap_or(i32::MAX)),
        )
        .col_expr(NEXT_ATTEMPT_AT, Expr::value(next.next_attempt_at))
        .col_expr(LAST_ERROR, Expr::value(next.last_error.clone()))
        .col_expr(REFERENCE, Expr::value(next.reference.clone()))
        .col_expr(UPDATED_AT, Expr::value(Utc::now()))
}

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

/// Queues `event` of the certificate `row` for the employment platform inside `txn`, the
/// transaction that activates or revokes it, when it was downloaded for an application;
/// certificates enrolled otherwise (admin tickets, physical media) are not the platform's.
pub(super) async fn queue_certificate_event_in(
    txn: &DatabaseTransaction,
    row: &certificate::Model,
    event: CertificateEvent,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    let Some(application_id) = enrolment_ticket::Entity::find()
        .filter(enrolment_ticket::COLUMN.certificate_id.eq(row.id))
        .one(txn)
        .await
        .map_err(unavailable)?
        .and_then(|ticket| ticket.application_id)
    else {
        return Ok(());
    };
    let unit = unit::Entity::find_by_id(row.unit_id)
        .one(txn)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| corrupt("certificates", format!("unit {} missing", row.unit_id)))?;
    let payload = CertificateSync {
        application_id,
        serial: row.serial.clone(),
        uscc: unit.uscc,
        unit_name: unit.name,
        holder_name: row.holder_name.clone(),
        holder_phone: row.holder_phone.clone(),
        role: row.role.clone(),
        event,
        not_before: row.not_before,
        not_after: row.not_after,
        at,
    };
    let now = Utc::now();
    certificate_sync::ActiveModel {
        certificate_id: Set(row.id),
        application_id: Set(application_id),
        event: Set(event.as_str().to_string()),
        status: Set(SyncStatus::Pending.as_str().to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        reference: Set(None),
        payload: Set(serde_json::to_value(&payload)
            .map_err(|e| corrupt("certificate_sync", e.to_string()))?),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait::async_trait]
impl SyncStore for SeaCertStore {
    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<SyncState>, StorageError> {
        due_rows::<sync_outbox::Entity>(self.db(), now, limit)
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
        claim_row::<sync_outbox::Entity>(
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
        set_delivery(sync_outbox::Entity::update_many(), &next.delivery)
            .col_expr(sync_outbox::Column::Accounts, Expr::value(accounts))
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

    async fn due_certificates(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<CertificateSyncState>, StorageError> {
        due_rows::<certificate_sync::Entity>(self.db(), now, limit)
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
        claim_row::<certificate_sync::Entity>(
            self.db(),
            certificate_sync::COLUMN.id.eq(row.id),
            &row.delivery,
            lease_until,
        )
        .await
    }

    async fn record_certificate(&self, next: &CertificateSyncState) -> Result<(), StorageError> {
        set_delivery(certificate_sync::Entity::update_many(), &next.delivery)
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
