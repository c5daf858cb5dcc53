//! The outboxes: the rows that changes write in their own transaction for a worker to deliver
//! later (pushes to the employment platform of approved applications and of certificate events,
//! SMS notices), and the delivery columns every outbox table shares, so that finding due rows,
//! claiming one and recording an outcome are written once.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _,
    ActiveValue::Set,
    ConnectionTrait, DatabaseTransaction, EntityTrait, Iterable as _, PrimaryKeyToColumn as _,
    QueryFilter, QueryOrder, QuerySelect as _, UpdateMany,
    sea_query::{Expr, ExprTrait as _, IntoCondition},
};

use super::{
    employer_store::employer_of,
    entities::{certificate, certificate_sync, enrolment_ticket, notice, sync_outbox},
    txn::{corrupt, unavailable},
};
use crate::{
    ca::{RevocationCause, RevocationReason},
    certificates::CertificateEvent,
    failure::StorageError,
    notify::{NoticeDraft, NoticeStatus},
    outbox::{Delivery, DeliveryStatus},
    providers::platform::{CertificateSync, EmployerSync, RevocationReport},
    sync::SyncStatus,
};

// The delivery columns, named alike in the three outbox tables, so that finding due rows,
// claiming one and recording an outcome are written once for all.
const STATUS: &str = "status";
const ATTEMPTS: &str = "attempts";
const NEXT_ATTEMPT_AT: &str = "next_attempt_at";
const LAST_ERROR: &str = "last_error";
const REFERENCE: &str = "reference";
const UPDATED_AT: &str = "updated_at";

/// The delivery columns of a row of `table`, read back.
pub(super) fn delivery<S: DeliveryStatus>(
    table: &'static str,
    status: &str,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    reference: Option<String>,
) -> Result<Delivery<S>, StorageError> {
    Ok(Delivery {
        status: S::parse(status).ok_or_else(|| corrupt(table, format!("status {status}")))?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at,
        last_error,
        reference,
    })
}

/// The pending rows of an outbox table due at `now`, oldest first; rows due at the same time in
/// the order they were written (a certificate's activation before the revocation of the one it
/// replaces, written in one transaction at one time).
pub(super) async fn due_rows<E: EntityTrait, S: DeliveryStatus>(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<E::Model>, StorageError> {
    let mut query = E::find()
        .filter(Expr::col(STATUS).eq(S::PENDING.as_str()))
        .filter(Expr::col(NEXT_ATTEMPT_AT).lte(now))
        .order_by_asc(Expr::col(NEXT_ATTEMPT_AT));
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    query.limit(limit).all(db).await.map_err(unavailable)
}

/// Takes the pending row `key` picks for `lease_until` if its `next_attempt_at` is still what
/// the worker saw (compare-and-set); false if another worker has it.
pub(super) async fn claim_row<E: EntityTrait, S: DeliveryStatus>(
    db: &impl ConnectionTrait,
    key: impl IntoCondition,
    seen: &Delivery<S>,
    lease_until: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let claimed = E::update_many()
        .col_expr(NEXT_ATTEMPT_AT, Expr::value(lease_until))
        .filter(key)
        .filter(Expr::col(STATUS).eq(S::PENDING.as_str()))
        .filter(Expr::col(NEXT_ATTEMPT_AT).eq(seen.next_attempt_at))
        .exec(db)
        .await
        .map_err(unavailable)?;
    Ok(claimed.rows_affected == 1)
}

/// `update` setting the delivery columns to `next`, updated `now`.
pub(super) fn set_delivery<E: EntityTrait, S: DeliveryStatus>(
    update: UpdateMany<E>,
    next: &Delivery<S>,
    now: DateTime<Utc>,
) -> UpdateMany<E> {
    update
        .col_expr(STATUS, Expr::value(next.status.as_str()))
        .col_expr(
            ATTEMPTS,
            Expr::value(i32::try_from(next.attempts).unwrap_or(i32::MAX)),
        )
        .col_expr(NEXT_ATTEMPT_AT, Expr::value(next.next_attempt_at))
        .col_expr(LAST_ERROR, Expr::value(next.last_error.clone()))
        .col_expr(REFERENCE, Expr::value(next.reference.clone()))
        .col_expr(UPDATED_AT, Expr::value(now))
}

/// Queues the push of approved application `application_id` to the employment platform inside
/// `txn`, the transaction that approves it.
pub(super) async fn queue_employer_sync_in(
    txn: &DatabaseTransaction,
    application_id: i64,
    sync: &EmployerSync,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let payload = serde_json::to_value(sync).map_err(|e| corrupt("sync_outbox", e.to_string()))?;
    sync_outbox::ActiveModel {
        application_id: Set(application_id),
        status: Set(SyncStatus::Pending.as_str().to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        reference: Set(None),
        payload: Set(payload),
        accounts: Set(None),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// Queues the push of approved application `application_id` again inside `txn`, the
/// transaction that approves an information change: `sync` (the new details, the next
/// revision) replaces the queued payload and is due `now` with a fresh attempt count, whether
/// the last push was delivered, failed or is still waiting. A push that waits for the merge of
/// the employer's accounts keeps waiting, with the new payload. The platform's reference of the
/// last delivery is kept: the platform has had the application (downloads go on meanwhile). A
/// worker pushing the old payload at this moment does not record its outcome
/// ([`super::sync_store`] compares revisions), so the new one is always pushed.
pub(super) async fn requeue_employer_sync_in(
    txn: &DatabaseTransaction,
    application_id: i64,
    sync: &EmployerSync,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let Some(row) = sync_outbox::Entity::find_by_id(application_id)
        .lock_exclusive()
        .one(txn)
        .await
        .map_err(unavailable)?
    else {
        return queue_employer_sync_in(txn, application_id, sync, now).await;
    };
    let payload = serde_json::to_value(sync).map_err(|e| corrupt("sync_outbox", e.to_string()))?;
    let mut update = sync_outbox::Entity::update_many()
        .col_expr(sync_outbox::Column::Payload, Expr::value(payload))
        .col_expr(sync_outbox::Column::UpdatedAt, Expr::value(now));
    if row.status != SyncStatus::Blocked.as_str() {
        update = update
            .col_expr(
                sync_outbox::Column::Status,
                Expr::value(SyncStatus::Pending.as_str()),
            )
            .col_expr(sync_outbox::Column::Attempts, Expr::value(0))
            .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(now))
            .col_expr(
                sync_outbox::Column::LastError,
                Expr::value(Option::<String>::None),
            );
    }
    update
        .filter(sync_outbox::COLUMN.application_id.eq(application_id))
        .exec(txn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// Queues `event` of the certificate `row` for the employment platform inside `txn`, the
/// transaction that activates or revokes it, when it was downloaded for an application;
/// certificates enrolled otherwise (admin tickets, physical media) are not the platform's.
/// Queues `event` of the certificate `row` for the employment platform (a revocation with its
/// reason and the cause chosen).
pub(super) async fn queue_certificate_event_in(
    txn: &DatabaseTransaction,
    row: &certificate::Model,
    event: CertificateEvent,
    revocation: Option<(RevocationReason, Option<RevocationCause>)>,
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
    let employer = employer_of(txn, row).await?;
    let payload = CertificateSync {
        application_id,
        serial: row.serial.clone(),
        uscc: employer.uscc,
        unit_name: employer.name,
        holder_name: row.holder_name.clone(),
        holder_phone: row.holder_phone.clone(),
        role: row.role.clone(),
        event,
        revocation: revocation.map(|(reason, cause)| RevocationReport {
            reason: reason.as_str().to_string(),
            cause: cause.map(|cause| cause.as_str().to_string()),
            cause_zh: cause.map(|cause| cause.label_zh().to_string()),
        }),
        not_before: row.not_before,
        not_after: row.not_after,
        at,
    };
    let now = at;
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

/// Writes `draft` as a pending notice due `now`, inside the caller's transaction.
pub(super) async fn insert_notice_in(
    txn: &impl ConnectionTrait,
    draft: &NoticeDraft,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    notice::ActiveModel {
        phone: Set(draft.phone.clone()),
        subject: Set(draft.subject.clone()),
        notice: Set(
            serde_json::to_value(&draft.notice).map_err(|e| corrupt("notices", e.to_string()))?
        ),
        status: Set(NoticeStatus::Pending.as_str().to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        reference: Set(None),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(unavailable)?;
    Ok(())
}
