//! `ApplicantStore` on sea-orm.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryFilter};

use super::{
    SeaStore,
    entities::applicant,
    txn::{corrupt, unavailable},
};
use crate::{
    applicants::{ApplicantRecord, ApplicantStore},
    domain::PhoneNumber,
    failure::StorageError,
};

fn record(row: applicant::Model) -> Result<ApplicantRecord, StorageError> {
    Ok(ApplicantRecord {
        id: row.id,
        phone: PhoneNumber::parse(&row.phone).map_err(|e| corrupt("applicants", e.to_string()))?,
        created_at: row.created_at,
    })
}

#[async_trait::async_trait]
impl ApplicantStore for SeaStore {
    async fn sign_in(
        &self,
        phone: &PhoneNumber,
        at: DateTime<Utc>,
    ) -> Result<(ApplicantRecord, bool), StorageError> {
        let find = || applicant::Entity::find().filter(applicant::COLUMN.phone.eq(phone.as_str()));
        if let Some(row) = find().one(self.db()).await.map_err(unavailable)? {
            let mut active: applicant::ActiveModel = row.into();
            active.last_login_at = Set(at);
            let row = active.update(self.db()).await.map_err(unavailable)?;
            return Ok((record(row)?, false));
        }
        let inserted = applicant::ActiveModel {
            phone: Set(phone.as_str().to_string()),
            created_at: Set(at),
            last_login_at: Set(at),
            ..Default::default()
        }
        .insert(self.db())
        .await;
        match inserted.map_err(unavailable) {
            Ok(row) => Ok((record(row)?, true)),
            // A concurrent first sign-in of the same phone created it: use that one.
            Err(StorageError::Conflict { .. }) => {
                let row = find()
                    .one(self.db())
                    .await
                    .map_err(unavailable)?
                    .ok_or_else(|| corrupt("applicants", "vanished after a conflict"))?;
                Ok((record(row)?, false))
            }
            Err(e) => Err(e),
        }
    }

    async fn applicant(&self, id: i64) -> Result<Option<ApplicantRecord>, StorageError> {
        applicant::Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(record)
            .transpose()
    }
}
