//! `GrantStore` on sea-orm: a grant set is one row per (certificate, portal), replaced by one
//! conditional write on its version.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, OnConflict},
};

use super::{
    SeaStore,
    entities::grant_set,
    session_store::end_sessions_in,
    txn::{append_in, commit, corrupt, unavailable},
};
use crate::{
    audit::AuditDraft,
    ca::{CertStore, CertificateRecord},
    domain::CertificateSerial,
    failure::StorageError,
    grants::{CheckedSet, GrantSet, GrantStore, ItemGrant},
};

fn record(row: grant_set::Model) -> Result<GrantSet, StorageError> {
    Ok(GrantSet {
        version: row.version,
        items: serde_json::from_value(row.items).map_err(|_| corrupt("grant_sets", "items"))?,
        granted_by: Some(row.granted_by),
        updated_at: Some(row.updated_at),
    })
}

#[async_trait::async_trait]
impl GrantStore for SeaStore {
    async fn certificate(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<CertificateRecord>, StorageError> {
        CertStore::find_by_serial(self, serial).await
    }

    async fn employer_certificates(
        &self,
        uscc: &str,
    ) -> Result<Vec<CertificateRecord>, StorageError> {
        CertStore::employer_certificates(self, uscc).await
    }

    async fn grant_set(
        &self,
        certificate_id: i64,
        portal_id: i64,
    ) -> Result<GrantSet, StorageError> {
        grant_set::Entity::find_by_id((certificate_id, portal_id))
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map_or_else(|| Ok(GrantSet::default()), record)
    }

    async fn sets_with_windows(&self) -> Result<Vec<CheckedSet>, StorageError> {
        let rows = grant_set::Entity::find()
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let mut sets = Vec::new();
        for row in rows {
            let (certificate_id, portal_id) = (row.certificate_id, row.portal_id);
            let since = row.checked_at.unwrap_or(row.updated_at);
            let set = record(row)?;
            if set.items.iter().any(|grant| grant.ends_at.is_some()) {
                sets.push(CheckedSet {
                    certificate_id,
                    portal_id,
                    set,
                    since,
                });
            }
        }
        Ok(sets)
    }

    async fn end_after_window(
        &self,
        certificate_id: i64,
        portal_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        grant_set::Entity::update_many()
            .col_expr(grant_set::Column::CheckedAt, Expr::value(now))
            .filter(grant_set::COLUMN.certificate_id.eq(certificate_id))
            .filter(grant_set::COLUMN.portal_id.eq(portal_id))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        end_sessions_in(&txn, certificate_id, Some(portal_id), now).await?;
        commit(txn).await
    }

    async fn replace_grant_set(
        &self,
        certificate_id: i64,
        portal_id: i64,
        expected: i64,
        items: &[ItemGrant],
        granted_by: &str,
        end_sessions: bool,
        audit: AuditDraft,
    ) -> Result<Option<GrantSet>, StorageError> {
        let now = self.now();
        let items = serde_json::json!(items);
        let txn = self.db().begin().await.map_err(unavailable)?;
        let written = if expected == 0 {
            // The first save: whoever inserts first wins, the other finds the row there.
            grant_set::Entity::insert(grant_set::ActiveModel {
                certificate_id: Set(certificate_id),
                portal_id: Set(portal_id),
                version: Set(1),
                items: Set(items),
                granted_by: Set(granted_by.to_string()),
                updated_at: Set(now),
                checked_at: Set(None),
            })
            .on_conflict(
                OnConflict::columns([
                    grant_set::Column::CertificateId,
                    grant_set::Column::PortalId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(unavailable)?
        } else {
            grant_set::Entity::update_many()
                .col_expr(grant_set::Column::Version, Expr::value(expected + 1))
                .col_expr(grant_set::Column::Items, Expr::value(items))
                .col_expr(grant_set::Column::GrantedBy, Expr::value(granted_by))
                .col_expr(grant_set::Column::UpdatedAt, Expr::value(now))
                .col_expr(
                    grant_set::Column::CheckedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(grant_set::COLUMN.certificate_id.eq(certificate_id))
                .filter(grant_set::COLUMN.portal_id.eq(portal_id))
                .filter(grant_set::COLUMN.version.eq(expected))
                .exec(&txn)
                .await
                .map_err(unavailable)?
                .rows_affected
        };
        if written != 1 {
            return Ok(None);
        }
        if end_sessions {
            end_sessions_in(&txn, certificate_id, Some(portal_id), now).await?;
        }
        append_in(&txn, &audit, now).await?;
        let row = grant_set::Entity::find_by_id((certificate_id, portal_id))
            .one(&txn)
            .await
            .map_err(unavailable)?
            .ok_or(StorageError::Conflict { what: "grant set" })?;
        commit(txn).await?;
        record(row).map(Some)
    }
}
