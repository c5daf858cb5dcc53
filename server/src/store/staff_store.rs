//! `StaffStore` on sea-orm.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use super::{
    SeaStore,
    entities::staff,
    txn::{append_in, commit, retrying, unavailable},
};
use crate::{
    audit::AuditDraft,
    failure::StorageError,
    staff::{StaffRecord, StaffRole, StaffStore},
};

fn record(row: staff::Model) -> StaffRecord {
    StaffRecord {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        password_hash: row.password_hash,
        // A role this version does not know gives no administrator's powers.
        role: StaffRole::parse(&row.role).unwrap_or(StaffRole::Reviewer),
    }
}

#[async_trait::async_trait]
impl StaffStore for SeaStore {
    async fn insert_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: StaffRole,
        audit: AuditDraft,
    ) -> Result<StaffRecord, StorageError> {
        // A taken username stays taken: refuse it at once rather than retrying the insert.
        if self.staff_by_username(username).await?.is_some() {
            return Err(StorageError::Conflict { what: "username" });
        }
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let row = staff::ActiveModel {
                username: Set(username.to_string()),
                display_name: Set(display_name.to_string()),
                password_hash: Set(password_hash.to_string()),
                role: Set(role.as_str().to_string()),
                created_at: Set(self.now()),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(unavailable)?;
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await?;
            Ok(record(row))
        })
        .await
    }

    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffRecord>, StorageError> {
        Ok(staff::Entity::find()
            .filter(staff::COLUMN.username.eq(username))
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(record))
    }

    async fn all_staff(&self) -> Result<Vec<StaffRecord>, StorageError> {
        Ok(staff::Entity::find()
            .order_by_asc(staff::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(record)
            .collect())
    }

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffRecord>, StorageError> {
        Ok(staff::Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(record))
    }
}
