//! What every store's transactions share: the mapping of database errors, the audit entry
//! written inside a transaction, and the retry of a transaction that lost a race.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QueryOrder, SqlErr, Statement,
};

use super::entities::audit_entry;
use crate::failure::StorageError;
use crate::{
    audit::{AuditDraft, AuditEntry},
    ca::CaError,
};

/// How often a transaction that lost an audit-chain race is tried again.
const CHAIN_RETRIES: usize = 8;

pub(super) fn unavailable(error: DbErr) -> StorageError {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = error.sql_err() {
        return StorageError::Conflict { what: "unique key" };
    }
    StorageError::Unavailable {
        source: Box::new(error),
    }
}

pub(super) fn corrupt(what: &'static str, detail: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        what,
        detail: detail.into(),
    }
}

/// Appends an audit entry inside `txn`, after the current last entry, dated `now`.
pub(super) async fn append_in(
    txn: &DatabaseTransaction,
    draft: &AuditDraft,
    now: DateTime<Utc>,
) -> Result<AuditEntry, StorageError> {
    let last = audit_entry::Entity::find()
        .order_by_desc(audit_entry::COLUMN.seq)
        .one(txn)
        .await
        .map_err(unavailable)?;
    let entry = AuditEntry::chain(draft, last.as_ref().map(|l| (&l.seq, l.hash.as_str())), now);
    audit_entry::ActiveModel {
        seq: Set(entry.seq),
        occurred_at: Set(entry.occurred_at),
        actor: Set(entry.actor.clone()),
        action: Set(entry.action.clone()),
        subject: Set(entry.subject.clone()),
        detail: Set(entry.detail.clone()),
        prev_hash: Set(entry.prev_hash.clone()),
        hash: Set(entry.hash.clone()),
    }
    .insert(txn)
    .await
    .map_err(unavailable)?;
    Ok(entry)
}

/// Serialises, until `txn` ends, the transactions that take the lock `name`: PostgreSQL takes a
/// transaction-scoped advisory lock on it; SQLite runs one writer at a time anyway.
pub(super) async fn lock_in(txn: &DatabaseTransaction, name: &str) -> Result<(), StorageError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [name.into()],
        ))
        .await
        .map_err(unavailable)?;
    }
    Ok(())
}

/// Serialises, until `txn` ends, what is decided per employer: a new certificate's role, an
/// application's billing, a new primary. Simultaneous first certificates or submissions of one
/// employer see each other in turn.
pub(super) async fn lock_employer(
    txn: &DatabaseTransaction,
    uscc: &str,
) -> Result<(), StorageError> {
    lock_in(txn, &format!("employer:{uscc}")).await
}

pub(super) async fn commit(txn: DatabaseTransaction) -> Result<(), StorageError> {
    txn.commit().await.map_err(unavailable)
}

/// An error that may mean the transaction lost an audit-chain race (another writer took the
/// same `seq`) or another compare-and-set, and is worth running again.
pub(super) trait Conflicted {
    /// Whether running the transaction again may succeed.
    fn is_conflict(&self) -> bool;
}

impl Conflicted for StorageError {
    fn is_conflict(&self) -> bool {
        matches!(self, StorageError::Conflict { .. })
    }
}

impl Conflicted for CaError {
    fn is_conflict(&self) -> bool {
        matches!(self, CaError::Storage(e) if e.is_conflict())
    }
}

/// Runs a transaction again while it reports a conflict, at most [`CHAIN_RETRIES`] more times.
pub(super) async fn retrying<T, E, F, Fut>(mut transaction: F) -> Result<T, E>
where
    E: Conflicted,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match transaction().await {
            Err(e) if e.is_conflict() && attempt < CHAIN_RETRIES => attempt += 1,
            other => return other,
        }
    }
}
