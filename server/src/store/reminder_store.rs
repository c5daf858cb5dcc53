//! `ReminderStore` on sea-orm.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    sea_query::OnConflict,
};

use super::{
    SeaStore,
    cert_store::record_of,
    entities::{certificate, expiry_reminder},
    outbox_store::insert_notice_in,
    txn::{commit, unavailable},
};
use crate::{
    ca::CertificateStatus,
    certificates::expiry::{Expiring, ReminderStore},
    failure::StorageError,
    notify::NoticeDraft,
};

#[async_trait::async_trait]
impl ReminderStore for SeaStore {
    async fn expiring(
        &self,
        now: DateTime<Utc>,
        by: DateTime<Utc>,
    ) -> Result<Vec<Expiring>, StorageError> {
        let rows = certificate::Entity::find()
            .filter(
                certificate::COLUMN
                    .status
                    .eq(CertificateStatus::Active.as_str()),
            )
            .filter(certificate::COLUMN.not_after.gt(now))
            .filter(certificate::COLUMN.not_after.lte(by))
            .order_by_asc(certificate::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let sent = expiry_reminder::Entity::find()
            .filter(expiry_reminder::Column::CertificateId.is_in(rows.iter().map(|row| row.id)))
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let mut expiring = Vec::with_capacity(rows.len());
        for row in rows {
            let reminded = sent
                .iter()
                .filter(|reminder| reminder.certificate_id == row.id)
                .map(|reminder| i64::from(reminder.days_before))
                .collect();
            expiring.push(Expiring {
                certificate: record_of(self.db(), row).await?,
                reminded,
            });
        }
        Ok(expiring)
    }

    async fn remind(
        &self,
        certificate_id: i64,
        days: &[i64],
        notice: Option<&NoticeDraft>,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        for days_before in days {
            // Days are the few small constants of `REMINDER_DAYS`.
            let days_before = i32::try_from(*days_before).unwrap_or(i32::MAX);
            let written = expiry_reminder::Entity::insert(expiry_reminder::ActiveModel {
                certificate_id: Set(certificate_id),
                days_before: Set(days_before),
                sent_at: Set(now),
            })
            .on_conflict(
                OnConflict::columns([
                    expiry_reminder::Column::CertificateId,
                    expiry_reminder::Column::DaysBefore,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(unavailable)?;
            if written != 1 {
                // Another instance sent it: the transaction is dropped, nothing written.
                return Ok(false);
            }
        }
        if let Some(notice) = notice {
            insert_notice_in(&txn, notice, now).await?;
        }
        commit(txn).await?;
        Ok(true)
    }
}
