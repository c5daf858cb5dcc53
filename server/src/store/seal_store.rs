//! `SealStore` on sea-orm.

use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait, sea_query::Expr,
};

use super::{
    SeaStore,
    entities::{seal, seal_signature},
    txn::{append_in, commit, corrupt, retrying, unavailable},
};
use crate::{
    audit::AuditDraft,
    failure::StorageError,
    seals::{
        NewSeal, SealRecord, SealSignatureRecord, SealStatus, SealStore, SealStructure, kind_str,
        parse_kind,
    },
};

fn record(row: seal::Model) -> Result<SealRecord, StorageError> {
    let u32_of = |value: i32, what: &str| {
        u32::try_from(value).map_err(|_| corrupt("seals", format!("{what} {value}")))
    };
    Ok(SealRecord {
        id: row.id,
        application_id: row.application_id,
        kind: parse_kind(&row.kind)
            .ok_or_else(|| corrupt("seals", format!("kind {}", row.kind)))?,
        status: SealStatus::parse(&row.status)
            .ok_or_else(|| corrupt("seals", format!("status {}", row.status)))?,
        uscc: row.uscc,
        employer_name: row.employer_name,
        failure_reason: row.failure_reason,
        picture: row.picture,
        width_mm: u32_of(row.width_mm, "width")?,
        height_mm: u32_of(row.height_mm, "height")?,
        version: u32_of(row.version, "version")?,
        seal_der: row.seal_der,
        certificate_serials: serde_json::from_str(&row.certificate_serials)
            .map_err(|e| corrupt("seals", format!("certificate_serials: {e}")))?,
        valid_start: row.valid_start,
        valid_end: row.valid_end,
        decided_by: row.decided_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn signature_record(row: seal_signature::Model) -> Result<SealSignatureRecord, StorageError> {
    Ok(SealSignatureRecord {
        id: row.id,
        seal_id: row.seal_id,
        seal_version: u32::try_from(row.seal_version)
            .map_err(|_| corrupt("seal_signatures", "seal_version"))?,
        serial: row.serial,
        client_id: row.client_id,
        session_id: row.session_id,
        title: row.title,
        data_hash: row.data_hash,
        document_sm3: row.document_sm3,
        ses_signature: row.ses_signature,
        pdf: row.pdf,
        signed_at: row.signed_at,
    })
}

fn i32_of(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl SeaStore {
    /// Runs the guarded update `update` builds for the time `now`, with `audit`, in one
    /// transaction: false, and nothing written, when it matched no row.
    async fn update_audited<F>(&self, update: F, audit: &AuditDraft) -> Result<bool, StorageError>
    where
        F: Fn(chrono::DateTime<chrono::Utc>) -> sea_orm::UpdateMany<seal::Entity>,
    {
        let update = &update;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let now = self.now();
            let updated = update(now).exec(&txn).await.map_err(unavailable)?;
            if updated.rows_affected == 0 {
                return Ok(false);
            }
            append_in(&txn, audit, now).await?;
            commit(txn).await.map(|()| true)
        })
        .await
    }
}

#[async_trait::async_trait]
impl SealStore for SeaStore {
    async fn insert_seal(
        &self,
        seal: NewSeal,
        audit: AuditDraft,
    ) -> Result<SealRecord, StorageError> {
        let (seal, audit) = (&seal, &audit);
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let now = self.now();
            let row = seal::ActiveModel {
                application_id: Set(seal.application_id),
                uscc: Set(seal.uscc.clone()),
                employer_name: Set(seal.employer_name.clone()),
                kind: Set(kind_str(seal.kind).to_string()),
                status: Set(seal.status.as_str().to_string()),
                failure_reason: Set(seal.failure_reason.clone()),
                picture: Set(seal.picture.clone()),
                width_mm: Set(i32_of(seal.width_mm)),
                height_mm: Set(i32_of(seal.height_mm)),
                version: Set(0),
                seal_der: Set(None),
                certificate_serials: Set("[]".to_string()),
                valid_start: Set(None),
                valid_end: Set(None),
                decided_by: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(unavailable)?;
            append_in(&txn, audit, now).await?;
            commit(txn).await?;
            record(row)
        })
        .await
    }

    async fn seal(&self, id: i64) -> Result<Option<SealRecord>, StorageError> {
        seal::Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(record)
            .transpose()
    }

    async fn seal_of_application(
        &self,
        application_id: i64,
    ) -> Result<Option<SealRecord>, StorageError> {
        seal::Entity::find()
            .filter(seal::COLUMN.application_id.eq(application_id))
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(record)
            .transpose()
    }

    async fn employer_seals(&self, uscc: &str) -> Result<Vec<SealRecord>, StorageError> {
        seal::Entity::find()
            .filter(seal::COLUMN.uscc.eq(uscc))
            .order_by_desc(seal::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn seals_in(&self, status: Option<SealStatus>) -> Result<Vec<SealRecord>, StorageError> {
        let mut query = seal::Entity::find().order_by_asc(seal::COLUMN.id);
        if let Some(status) = status {
            query = query.filter(seal::COLUMN.status.eq(status.as_str()));
        }
        query
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn decide_seal(
        &self,
        id: i64,
        failure_reason: Option<String>,
        staff: &str,
        audit: AuditDraft,
    ) -> Result<bool, StorageError> {
        let status = if failure_reason.is_some() {
            SealStatus::Failed
        } else {
            SealStatus::Made
        };
        self.update_audited(
            |now| {
                seal::Entity::update_many()
                    .col_expr(seal::Column::Status, Expr::value(status.as_str()))
                    .col_expr(
                        seal::Column::FailureReason,
                        Expr::value(failure_reason.clone()),
                    )
                    .col_expr(seal::Column::DecidedBy, Expr::value(staff))
                    .col_expr(seal::Column::UpdatedAt, Expr::value(now))
                    .filter(seal::COLUMN.id.eq(id))
                    .filter(seal::COLUMN.status.eq(SealStatus::Making.as_str()))
            },
            &audit,
        )
        .await
    }

    async fn replace_structure(
        &self,
        id: i64,
        structure: SealStructure,
        audit: AuditDraft,
    ) -> Result<bool, StorageError> {
        let serials = serde_json::to_string(&structure.certificate_serials)
            .map_err(|e| corrupt("seals", e.to_string()))?;
        self.update_audited(
            |now| {
                seal::Entity::update_many()
                    .col_expr(
                        seal::Column::Version,
                        Expr::value(i32_of(structure.version)),
                    )
                    .col_expr(seal::Column::SealDer, Expr::value(structure.der.clone()))
                    .col_expr(
                        seal::Column::CertificateSerials,
                        Expr::value(serials.clone()),
                    )
                    .col_expr(seal::Column::ValidStart, Expr::value(structure.valid_start))
                    .col_expr(seal::Column::ValidEnd, Expr::value(structure.valid_end))
                    .col_expr(seal::Column::UpdatedAt, Expr::value(now))
                    .filter(seal::COLUMN.id.eq(id))
                    .filter(seal::COLUMN.version.eq(i32_of(structure.version) - 1))
            },
            &audit,
        )
        .await
    }

    async fn record_signature(
        &self,
        signature: SealSignatureRecord,
        audit: AuditDraft,
    ) -> Result<SealSignatureRecord, StorageError> {
        let (signature, audit) = (&signature, &audit);
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let row = seal_signature::ActiveModel {
                seal_id: Set(signature.seal_id),
                seal_version: Set(i32_of(signature.seal_version)),
                serial: Set(signature.serial.clone()),
                client_id: Set(signature.client_id.clone()),
                session_id: Set(signature.session_id.clone()),
                title: Set(signature.title.clone()),
                data_hash: Set(signature.data_hash.clone()),
                document_sm3: Set(signature.document_sm3.clone()),
                ses_signature: Set(signature.ses_signature.clone()),
                pdf: Set(signature.pdf.clone()),
                signed_at: Set(signature.signed_at),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(unavailable)?;
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await?;
            signature_record(row)
        })
        .await
    }

    async fn signature_of_session(
        &self,
        session_id: &str,
    ) -> Result<Option<SealSignatureRecord>, StorageError> {
        seal_signature::Entity::find()
            .filter(seal_signature::COLUMN.session_id.eq(session_id))
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(signature_record)
            .transpose()
    }
}
