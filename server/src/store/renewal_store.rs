//! `RenewalStore` on sea-orm, and the part of a renewal that the activating transaction writes
//! ([`renew_in`]), shared by mobile renewals (`EnrolStore::complete_enrolment`) and USB-key
//! renewals ([`RenewalStore::activate`]).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::Expr,
};

use super::{
    SeaStore,
    cert_store::{activate_in, insert_pending_in, record_of, revoke_in},
    entities::{certificate, enrolment_ticket, grant_set, person, renewal},
    txn::{append_in, commit, corrupt, retrying, unavailable},
};
use crate::{
    audit::AuditDraft,
    ca::{
        CaError, CertificateRecord, CertificateStatus, PendingCertificate, RevocationDraft, Role,
    },
    certificates::{RenewalDraft, RenewalRecord, RenewalStore},
    domain::CertificateSerial,
    failure::StorageError,
};

async fn row_by_serial(
    db: &impl ConnectionTrait,
    serial: &CertificateSerial,
) -> Result<certificate::Model, CaError> {
    certificate::Entity::find()
        .filter(certificate::COLUMN.serial.eq(serial.as_str()))
        .one(db)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| CaError::CertificateNotFound {
            serial: serial.clone(),
        })
}

/// Writes the renewal of `draft.previous` by the certificate `next` that activates in `txn`
/// `now`: the previous certificate superseded (it must still be active: a renewal of a
/// certificate revoked meanwhile fails), a sub-certificate's grant sets and the holder's
/// default choice carried over, the renewal's row and its audit entry.
pub(super) async fn renew_in(
    txn: &DatabaseTransaction,
    next: &certificate::Model,
    draft: &RenewalDraft,
    now: DateTime<Utc>,
) -> Result<RenewalRecord, CaError> {
    let previous = row_by_serial(txn, &draft.previous.serial).await?;
    revoke_in(
        txn,
        &previous,
        &RevocationDraft {
            revoked_at: now,
            ..draft.previous.clone()
        },
    )
    .await?;
    let grants = grant_set::Entity::find()
        .filter(grant_set::COLUMN.certificate_id.eq(previous.id))
        .all(txn)
        .await
        .map_err(unavailable)?;
    for grant in grants {
        grant_set::ActiveModel {
            certificate_id: Set(next.id),
            portal_id: Set(grant.portal_id),
            version: Set(grant.version),
            items: Set(grant.items),
            granted_by: Set(grant.granted_by),
            updated_at: Set(grant.updated_at),
            checked_at: Set(grant.checked_at),
        }
        .insert(txn)
        .await
        .map_err(unavailable)?;
    }
    // The holder's chosen default follows the key to its new certificate.
    person::Entity::update_many()
        .col_expr(person::Column::DefaultCertificateId, Expr::value(next.id))
        .filter(person::COLUMN.default_certificate_id.eq(previous.id))
        .exec(txn)
        .await
        .map_err(unavailable)?;
    let row = renewal::ActiveModel {
        certificate_id: Set(next.id),
        previous_certificate_id: Set(previous.id),
        application_id: Set(draft.application_id),
        fee_yuan: Set(draft
            .fee_yuan
            .map(|yuan| i32::try_from(yuan).unwrap_or(i32::MAX))),
        renewed_at: Set(now),
        paid_at: Set(None),
        paid_by: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(unavailable)?;
    append_in(txn, &draft.audit, now).await?;
    Ok(record_from(txn, row).await?)
}

async fn record_from(
    db: &impl ConnectionTrait,
    row: renewal::Model,
) -> Result<RenewalRecord, StorageError> {
    let ids = [row.certificate_id, row.previous_certificate_id];
    let mut certificates = certificate::Entity::find()
        .filter(certificate::COLUMN.id.is_in(ids))
        .all(db)
        .await
        .map_err(unavailable)?;
    let mut take = |id: i64| {
        certificates
            .iter()
            .position(|c| c.id == id)
            .map(|at| certificates.swap_remove(at))
            .ok_or_else(|| corrupt("renewals", format!("no certificate {id}")))
    };
    let next = take(row.certificate_id)?;
    let previous = take(row.previous_certificate_id)?;
    let next: CertificateRecord = record_of(db, next).await?;
    Ok(RenewalRecord {
        id: row.id,
        serial: next.serial,
        previous_serial: CertificateSerial::parse(&previous.serial)
            .map_err(|e| corrupt("certificates", e.to_string()))?,
        uscc: next.uscc,
        unit_name: next.unit_name,
        not_after: next.not_after,
        fee_yuan: row.fee_yuan.and_then(|yuan| u32::try_from(yuan).ok()),
        renewed_at: row.renewed_at,
        paid_at: row.paid_at,
        paid_by: row.paid_by,
    })
}

impl SeaStore {
    async fn record_pending_renewal_once(
        &self,
        pending: &PendingCertificate,
        previous: &CertificateSerial,
        audit: &AuditDraft,
    ) -> Result<CertificateRecord, CaError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        let previous = row_by_serial(&txn, previous).await?;
        // The renewed certificate takes the place, and so the role, of the one it follows.
        let replaces_primary = previous.role == Role::Primary.as_str()
            && previous.status == CertificateStatus::Active.as_str();
        let row = insert_pending_in(&txn, pending, replaces_primary, self.now()).await?;
        append_in(&txn, audit, self.now()).await?;
        let record = record_of(&txn, row).await?;
        commit(txn).await?;
        Ok(record)
    }

    async fn activate_renewal_once(
        &self,
        serial: &CertificateSerial,
        der: &[u8],
        draft: &RenewalDraft,
    ) -> Result<RenewalRecord, CaError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        let row = row_by_serial(&txn, serial).await?;
        let now = self.now();
        if !activate_in(&txn, row.id, der, now).await? {
            return Err(CaError::NotActive {
                serial: serial.clone(),
            });
        }
        let record = renew_in(&txn, &row, draft, now).await?;
        commit(txn).await?;
        Ok(record)
    }
}

#[async_trait::async_trait]
impl RenewalStore for SeaStore {
    async fn application_of(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<i64>, StorageError> {
        let Some(id) = certificate::Entity::find()
            .filter(certificate::COLUMN.serial.eq(serial.as_str()))
            .select_only()
            .column(certificate::Column::Id)
            .into_tuple::<i64>()
            .one(self.db())
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        Ok(enrolment_ticket::Entity::find()
            .filter(enrolment_ticket::COLUMN.certificate_id.eq(id))
            .one(self.db())
            .await
            .map_err(unavailable)?
            .and_then(|ticket| ticket.application_id))
    }

    async fn record_pending(
        &self,
        pending: PendingCertificate,
        previous: &CertificateSerial,
        audit: AuditDraft,
    ) -> Result<CertificateRecord, CaError> {
        retrying(|| self.record_pending_renewal_once(&pending, previous, &audit)).await
    }

    async fn activate(
        &self,
        serial: &CertificateSerial,
        der: Vec<u8>,
        renewal: RenewalDraft,
    ) -> Result<RenewalRecord, CaError> {
        retrying(|| self.activate_renewal_once(serial, &der, &renewal)).await
    }

    async fn renewals(&self, unpaid: bool, limit: u64) -> Result<Vec<RenewalRecord>, StorageError> {
        let mut query = renewal::Entity::find();
        if unpaid {
            query = query
                .filter(renewal::Column::FeeYuan.is_not_null())
                .filter(renewal::Column::PaidAt.is_null());
        }
        let rows = query
            .order_by_desc(renewal::COLUMN.id)
            .limit(limit)
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            records.push(record_from(self.db(), row).await?);
        }
        Ok(records)
    }

    async fn renewal(&self, id: i64) -> Result<Option<RenewalRecord>, StorageError> {
        match renewal::Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(unavailable)?
        {
            Some(row) => Ok(Some(record_from(self.db(), row).await?)),
            None => Ok(None),
        }
    }

    async fn mark_paid(
        &self,
        id: i64,
        staff: &str,
        at: DateTime<Utc>,
        audit: AuditDraft,
    ) -> Result<bool, StorageError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        let changed = renewal::Entity::update_many()
            .col_expr(renewal::Column::PaidAt, Expr::value(at))
            .col_expr(renewal::Column::PaidBy, Expr::value(staff.to_string()))
            .filter(renewal::COLUMN.id.eq(id))
            .filter(renewal::Column::FeeYuan.is_not_null())
            .filter(renewal::Column::PaidAt.is_null())
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if changed.rows_affected != 1 {
            txn.rollback().await.map_err(unavailable)?;
            return Ok(false);
        }
        append_in(&txn, &audit, at).await?;
        commit(txn).await?;
        Ok(true)
    }
}
