//! `PeopleStore` on sea-orm.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    sea_query::Expr,
};

use super::{
    SeaStore,
    cert_store::record_of,
    entities::{certificate, enrolment_ticket, person, phone_binding, wx_user},
    txn::{append_in, commit, corrupt, retrying, unavailable},
};
use crate::failure::StorageError;
use crate::{
    audit::AuditDraft,
    ca::{CertificateRecord, CertificateStatus},
    people::{BindOutcome, PeopleStore, PersonRecord, WxUserRecord},
};

fn wx(row: wx_user::Model) -> WxUserRecord {
    WxUserRecord {
        id: row.id,
        openid: row.openid,
        person_id: row.person_id,
    }
}

fn person_record(row: person::Model) -> PersonRecord {
    PersonRecord {
        id: row.id,
        name: row.name,
        id_number: row.id_number,
        verified_at: row.verified_at,
    }
}

#[async_trait::async_trait]
impl PeopleStore for SeaStore {
    async fn sign_in_wx(
        &self,
        openid: &str,
        unionid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<WxUserRecord, StorageError> {
        let find = || wx_user::Entity::find().filter(wx_user::COLUMN.openid.eq(openid));
        if let Some(row) = find().one(self.db()).await.map_err(unavailable)? {
            let mut active: wx_user::ActiveModel = row.into();
            active.last_login_at = Set(now);
            if let Some(unionid) = unionid {
                active.unionid = Set(Some(unionid.to_string()));
            }
            return Ok(wx(active.update(self.db()).await.map_err(unavailable)?));
        }
        let inserted = wx_user::ActiveModel {
            openid: Set(openid.to_string()),
            unionid: Set(unionid.map(str::to_string)),
            person_id: Set(None),
            created_at: Set(now),
            last_login_at: Set(now),
            ..Default::default()
        }
        .insert(self.db())
        .await;
        match inserted.map_err(unavailable) {
            Ok(row) => Ok(wx(row)),
            // A concurrent first sign-in created it: use that one.
            Err(StorageError::Conflict { .. }) => find()
                .one(self.db())
                .await
                .map_err(unavailable)?
                .map(wx)
                .ok_or_else(|| corrupt("wx_users", "vanished after a conflict")),
            Err(e) => Err(e),
        }
    }

    async fn wx_user(&self, id: i64) -> Result<Option<WxUserRecord>, StorageError> {
        Ok(wx_user::Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(wx))
    }

    async fn verify_person(
        &self,
        wx_user_id: i64,
        name: &str,
        id_number: &str,
        now: DateTime<Utc>,
        audit: AuditDraft,
    ) -> Result<Option<PersonRecord>, StorageError> {
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let existing = person::Entity::find()
                .filter(person::COLUMN.id_number.eq(id_number))
                .one(&txn)
                .await
                .map_err(unavailable)?;
            let row = match existing {
                Some(row) if row.name != name => return Ok(None),
                Some(row) => {
                    let mut active: person::ActiveModel = row.into();
                    active.verified_at = Set(now);
                    active.update(&txn).await.map_err(unavailable)?
                }
                None => person::ActiveModel {
                    id_number: Set(id_number.to_string()),
                    name: Set(name.to_string()),
                    verified_at: Set(now),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await
                .map_err(unavailable)?,
            };
            wx_user::Entity::update_many()
                .col_expr(wx_user::Column::PersonId, Expr::value(row.id))
                .filter(wx_user::COLUMN.id.eq(wx_user_id))
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            let mut audit = audit.clone();
            audit.detail["person"] = serde_json::json!(row.id);
            append_in(&txn, &audit, self.now()).await?;
            commit(txn).await?;
            Ok(Some(person_record(row)))
        })
        .await
    }

    async fn person(&self, id: i64) -> Result<Option<PersonRecord>, StorageError> {
        Ok(person::Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(person_record))
    }

    async fn bind_phone(
        &self,
        phone: &str,
        person_id: i64,
        now: DateTime<Utc>,
        audit: AuditDraft,
    ) -> Result<BindOutcome, StorageError> {
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let existing = phone_binding::Entity::find_by_id(phone.to_string())
                .one(&txn)
                .await
                .map_err(unavailable)?;
            match existing {
                Some(row) if row.person_id == person_id => return Ok(BindOutcome::AlreadyBound),
                Some(_) => return Ok(BindOutcome::OtherPerson),
                None => {}
            }
            // Two binders racing: the primary key lets one insert through; the other's
            // transaction fails with a conflict, and the retry finds the winner's row.
            phone_binding::ActiveModel {
                phone: Set(phone.to_string()),
                person_id: Set(person_id),
                bound_at: Set(now),
            }
            .insert(&txn)
            .await
            .map_err(unavailable)?;
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await?;
            Ok(BindOutcome::Bound)
        })
        .await
    }

    async fn unbind_phone(
        &self,
        phone: &str,
        person_id: Option<i64>,
        audit: AuditDraft,
    ) -> Result<bool, StorageError> {
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let mut delete =
                phone_binding::Entity::delete_many().filter(phone_binding::COLUMN.phone.eq(phone));
            if let Some(person_id) = person_id {
                delete = delete.filter(phone_binding::COLUMN.person_id.eq(person_id));
            }
            let deleted = delete.exec(&txn).await.map_err(unavailable)?;
            if deleted.rows_affected != 1 {
                return Ok(false);
            }
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await?;
            Ok(true)
        })
        .await
    }

    async fn phones_of(&self, person_id: i64) -> Result<Vec<String>, StorageError> {
        Ok(phone_binding::Entity::find()
            .filter(phone_binding::COLUMN.person_id.eq(person_id))
            .order_by_asc(phone_binding::COLUMN.bound_at)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|row| row.phone)
            .collect())
    }

    async fn phone_holder(&self, phone: &str) -> Result<Option<i64>, StorageError> {
        Ok(phone_binding::Entity::find_by_id(phone.to_string())
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(|row| row.person_id))
    }

    async fn certificates_of(
        &self,
        person_id: i64,
    ) -> Result<(Vec<CertificateRecord>, Option<i64>), StorageError> {
        let ids: Vec<i64> = enrolment_ticket::Entity::find()
            .filter(enrolment_ticket::COLUMN.person_id.eq(person_id))
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|ticket| ticket.certificate_id)
            .collect();
        let rows = certificate::Entity::find()
            .filter(certificate::COLUMN.id.is_in(ids))
            .filter(
                certificate::COLUMN
                    .status
                    .ne(CertificateStatus::Abandoned.as_str()),
            )
            .filter(
                certificate::COLUMN
                    .status
                    .ne(CertificateStatus::Pending.as_str()),
            )
            .order_by_asc(certificate::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            records.push(record_of(self.db(), row).await?);
        }
        let default = person::Entity::find_by_id(person_id)
            .one(self.db())
            .await
            .map_err(unavailable)?
            .and_then(|p| p.default_certificate_id);
        Ok((records, default))
    }

    async fn set_default(&self, person_id: i64, certificate_id: i64) -> Result<(), StorageError> {
        person::Entity::update_many()
            .col_expr(
                person::Column::DefaultCertificateId,
                Expr::value(certificate_id),
            )
            .filter(person::COLUMN.id.eq(person_id))
            .exec(self.db())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
