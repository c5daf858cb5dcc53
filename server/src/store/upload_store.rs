//! `UploadStore` on sea-orm.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryFilter, sea_query::Expr};

use super::{
    SeaStore,
    entities::upload,
    txn::{corrupt, unavailable},
};
use crate::{
    failure::StorageError,
    uploads::{Recognised, UploadPurpose, UploadRecord, UploadStore},
};

#[async_trait::async_trait]
impl UploadStore for SeaStore {
    async fn insert_upload(&self, record: &UploadRecord) -> Result<(), StorageError> {
        upload::ActiveModel {
            id: Set(record.id.clone()),
            applicant_id: Set(record.applicant_id),
            purpose: Set(record.purpose.as_str().to_string()),
            content_type: Set(record.content_type.clone()),
            size: Set(i64::try_from(record.size).unwrap_or(i64::MAX)),
            sm3: Set(record.sm3.clone()),
            created_at: Set(record.created_at),
            recognised: Set(None),
        }
        .insert(self.db())
        .await
        .map(|_| ())
        .map_err(unavailable)
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StorageError> {
        let Some(row) = upload::Entity::find_by_id(id.to_string())
            .one(self.db())
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        Ok(Some(UploadRecord {
            purpose: UploadPurpose::parse(&row.purpose)
                .ok_or_else(|| corrupt("uploads", format!("purpose {}", row.purpose)))?,
            size: u64::try_from(row.size).map_err(|_| corrupt("uploads", "negative size"))?,
            id: row.id,
            applicant_id: row.applicant_id,
            content_type: row.content_type,
            sm3: row.sm3,
            created_at: row.created_at,
            // A reading this version cannot parse is only a hint lost, not a broken upload.
            recognised: row
                .recognised
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
        }))
    }

    async fn set_recognised(&self, id: &str, read: &Recognised) -> Result<(), StorageError> {
        let json = serde_json::to_string(read).map_err(|e| corrupt("uploads", e.to_string()))?;
        upload::Entity::update_many()
            .col_expr(upload::Column::Recognised, Expr::value(json))
            .filter(upload::COLUMN.id.eq(id))
            .exec(self.db())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
