//! `CertStore` on sea-orm. State changes and their audit entries share one transaction; a
//! lost race on the audit chain (two writers took the same `seq`) is retried.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};

use super::{
    SeaStore,
    employer_store::{employer_for_certificate_in, employer_in, employer_of},
    entities::{audit_entry, authority_key, certificate, crl, enrolment_ticket, revocation},
    outbox_store::{insert_notice_in, queue_certificate_event_in},
    session_store::end_sessions_in,
    txn::{append_in, commit, corrupt, lock_employer, lock_in, retrying, unavailable},
};
use crate::failure::StorageError;
use crate::{
    audit::{AuditDraft, AuditEntry},
    ca::{
        AuthorityKeyRecord, CaError, CertStore, CertificateRecord, CertificateStatus, CrlRecord,
        KeyPurpose, MediaType, PendingCertificate, RevocationCause, RevocationDraft,
        RevocationReason, RevocationRecord, Role,
    },
    certificates::{CertificateEvent, EmployerHoldings, role_of_new},
    domain::CertificateSerial,
};

fn revocation_record(
    serial: CertificateSerial,
    row: revocation::Model,
) -> Result<RevocationRecord, StorageError> {
    let cause = match row.cause.as_deref() {
        None => None,
        Some(cause) => {
            Some(RevocationCause::parse(cause).ok_or_else(|| corrupt("revocations", "cause"))?)
        }
    };
    Ok(RevocationRecord {
        serial,
        reason: RevocationReason::parse(&row.reason)
            .map_err(|e| corrupt("revocations", e.to_string()))?,
        cause,
        revoked_at: row.revoked_at,
    })
}

fn audit_entry_of(row: audit_entry::Model) -> AuditEntry {
    AuditEntry {
        seq: row.seq,
        occurred_at: row.occurred_at,
        actor: row.actor,
        action: row.action,
        subject: row.subject,
        detail: row.detail,
        prev_hash: row.prev_hash,
        hash: row.hash,
    }
}

async fn records_of(
    db: &impl ConnectionTrait,
    rows: Vec<certificate::Model>,
) -> Result<Vec<CertificateRecord>, StorageError> {
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        records.push(record_of(db, row).await?);
    }
    Ok(records)
}

pub(super) async fn record_of(
    db: &impl ConnectionTrait,
    row: certificate::Model,
) -> Result<CertificateRecord, StorageError> {
    let employer = employer_of(db, &row).await?;
    let revocation = revocation::Entity::find_by_id(row.id)
        .one(db)
        .await
        .map_err(unavailable)?;
    let serial = CertificateSerial::parse(&row.serial)
        .map_err(|e| corrupt("certificates", e.to_string()))?;
    let revocation = match revocation {
        Some(r) => Some(revocation_record(serial.clone(), r)?),
        None => None,
    };
    Ok(CertificateRecord {
        id: row.id,
        serial,
        uscc: employer.uscc,
        unit_name: employer.name,
        holder_name: row.holder_name,
        holder_id_number: row.holder_id_number,
        holder_phone: row.holder_phone,
        media: MediaType::parse(&row.media_type)
            .ok_or_else(|| corrupt("certificates", format!("media type {}", row.media_type)))?,
        role: match row.role.as_str() {
            "primary" => Role::Primary,
            "sub" => Role::Sub,
            other => return Err(corrupt("certificates", format!("role {other}"))),
        },
        status: CertificateStatus::parse(&row.status)
            .ok_or_else(|| corrupt("certificates", format!("status {}", row.status)))?,
        not_before: row.not_before,
        not_after: row.not_after,
        public_key: row.public_key,
        tbs_der: row.tbs_der,
        der: row.der,
        revocation,
    })
}

/// Records a certificate before it is signed inside `txn`, under the employer's lock: the
/// employer with it (created if new; a different registered name is `UnitNameMismatch`) and the
/// role the lifecycle core gives it ([`role_of_new`]; `replaces_primary` when it is a download
/// on a new phone replacing the application's active primary); recorded `now`.
pub(super) async fn insert_pending_in(
    txn: &DatabaseTransaction,
    pending: &PendingCertificate,
    replaces_primary: bool,
    now: DateTime<Utc>,
) -> Result<certificate::Model, CaError> {
    lock_employer(txn, pending.unit.uscc.as_str()).await?;
    let employer_id = match employer_for_certificate_in(txn, &pending.unit, now).await? {
        Ok(id) => id,
        Err(registered) => {
            return Err(CaError::UnitNameMismatch {
                uscc: registered.uscc,
                registered_name: registered.name,
            });
        }
    };
    let live_primary = certificate::Entity::find()
        .filter(certificate::COLUMN.employer_id.eq(employer_id))
        .filter(certificate::COLUMN.role.eq(Role::Primary.as_str()))
        .filter(certificate::COLUMN.status.is_in([
            CertificateStatus::Pending.as_str(),
            CertificateStatus::Active.as_str(),
        ]))
        .select_only()
        .column(certificate::Column::Id)
        .into_tuple::<i64>()
        .one(txn)
        .await
        .map_err(unavailable)?
        .is_some();
    let role = role_of_new(EmployerHoldings {
        live_primary,
        replaces_primary,
    });
    let row = certificate::ActiveModel {
        serial: Set(pending.serial.to_string()),
        employer_id: Set(employer_id),
        holder_name: Set(pending.holder.name.as_str().to_string()),
        holder_id_number: Set(pending.holder.id_number.as_str().to_string()),
        holder_phone: Set(pending.holder.phone.as_str().to_string()),
        media_type: Set(pending.media.as_str().to_string()),
        role: Set(role.as_str().to_string()),
        status: Set(CertificateStatus::Pending.as_str().to_string()),
        subject: Set(pending.subject.clone()),
        public_key: Set(pending.public_key.clone()),
        tbs_der: Set(pending.tbs_der.clone()),
        der: Set(None),
        not_before: Set(pending.not_before),
        not_after: Set(pending.not_after),
        created_at: Set(now),
        activated_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(unavailable)?;
    Ok(row)
}

/// Marks the pending certificate `id` active with its signed bytes inside `txn`: the one
/// Pending → Active write. False if it is no longer pending (a newer attempt abandoned it, or
/// another instance activated it).
pub(super) async fn activate_in(
    txn: &DatabaseTransaction,
    id: i64,
    der: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let changed = certificate::Entity::update_many()
        .col_expr(
            certificate::Column::Status,
            Expr::value(CertificateStatus::Active.as_str()),
        )
        .col_expr(certificate::Column::Der, Expr::value(der.to_vec()))
        .col_expr(certificate::Column::ActivatedAt, Expr::value(now))
        .filter(certificate::COLUMN.id.eq(id))
        .filter(
            certificate::COLUMN
                .status
                .eq(CertificateStatus::Pending.as_str()),
        )
        .exec(txn)
        .await
        .map_err(unavailable)?;
    Ok(changed.rows_affected == 1)
}

/// Revokes the active certificate `row` inside `txn`: its status, the revocation record, the
/// `revoked` event for the employment platform, the holder's notice and the audit entry.
pub(super) async fn revoke_in(
    txn: &DatabaseTransaction,
    row: &certificate::Model,
    draft: &RevocationDraft,
) -> Result<RevocationRecord, CaError> {
    if let Some(previous) = revocation::Entity::find_by_id(row.id)
        .one(txn)
        .await
        .map_err(unavailable)?
    {
        return Err(CaError::AlreadyRevoked {
            serial: draft.serial.clone(),
            revoked_at: previous.revoked_at,
        });
    }
    if row.status != CertificateStatus::Active.as_str() {
        return Err(CaError::NotActive {
            serial: draft.serial.clone(),
        });
    }
    // Compare-and-set on the status: a concurrent revoker finds zero rows changed.
    let changed = certificate::Entity::update_many()
        .col_expr(
            certificate::Column::Status,
            Expr::value(CertificateStatus::Revoked.as_str()),
        )
        .filter(certificate::COLUMN.id.eq(row.id))
        .filter(
            certificate::COLUMN
                .status
                .eq(CertificateStatus::Active.as_str()),
        )
        .exec(txn)
        .await
        .map_err(unavailable)?;
    if changed.rows_affected != 1 {
        return Err(StorageError::Conflict {
            what: "certificate status",
        }
        .into());
    }
    revocation::ActiveModel {
        certificate_id: Set(row.id),
        serial: Set(draft.serial.to_string()),
        reason: Set(draft.reason.as_str().to_string()),
        cause: Set(draft.cause.map(|cause| cause.as_str().to_string())),
        revoked_at: Set(draft.revoked_at),
        revoked_by: Set(draft.revoked_by.clone()),
    }
    .insert(txn)
    .await
    .map_err(unavailable)?;
    queue_certificate_event_in(
        txn,
        row,
        CertificateEvent::Revoked,
        Some((draft.reason, draft.cause)),
        draft.revoked_at,
    )
    .await?;
    end_sessions_in(txn, row.id, None, draft.revoked_at).await?;
    if let Some(notice) = &draft.notice {
        insert_notice_in(txn, notice, draft.revoked_at).await?;
    }
    append_in(txn, &draft.audit, draft.revoked_at).await?;
    Ok(RevocationRecord {
        serial: draft.serial.clone(),
        reason: draft.reason,
        cause: draft.cause,
        revoked_at: draft.revoked_at,
    })
}

impl SeaStore {
    async fn record_pending_once(
        &self,
        pending: &PendingCertificate,
        audit: &AuditDraft,
    ) -> Result<CertificateRecord, CaError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        let row = insert_pending_in(&txn, pending, false, self.now()).await?;
        append_in(&txn, audit, self.now()).await?;
        let record = record_of(&txn, row).await?;
        commit(txn).await?;
        Ok(record)
    }

    async fn revoke_once(&self, draft: &RevocationDraft) -> Result<RevocationRecord, CaError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        let row = certificate::Entity::find()
            .filter(certificate::COLUMN.serial.eq(draft.serial.as_str()))
            .one(&txn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| CaError::CertificateNotFound {
                serial: draft.serial.clone(),
            })?;
        let revocation = revoke_in(&txn, &row, draft).await?;
        commit(txn).await?;
        Ok(revocation)
    }
}

#[async_trait::async_trait]
impl CertStore for SeaStore {
    async fn has_authority_keys(&self) -> Result<bool, StorageError> {
        Ok(authority_key::Entity::find()
            .one(&self.db)
            .await
            .map_err(unavailable)?
            .is_some())
    }

    async fn authority_keys(
        &self,
        purpose: KeyPurpose,
    ) -> Result<Vec<AuthorityKeyRecord>, StorageError> {
        let rows = authority_key::Entity::find()
            .filter(authority_key::COLUMN.purpose.eq(purpose.as_str()))
            .order_by_desc(authority_key::COLUMN.current)
            .order_by_desc(authority_key::COLUMN.created_at)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|row| AuthorityKeyRecord {
                key_id: row.key_id,
                purpose,
                algorithm: row.algorithm,
                public_key: row.public_key,
                sealed_private_key: row.sealed_private_key,
                certificate_der: row.certificate_der,
                current: row.current,
                created_at: row.created_at,
            })
            .collect())
    }

    async fn insert_authority_keys(
        &self,
        keys: Vec<AuthorityKeyRecord>,
        audit: AuditDraft,
    ) -> Result<(), StorageError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        // Instances starting together: the second waits here, then finds the first's keys.
        lock_in(&txn, "authority_keys").await?;
        let mut purposes: Vec<&str> = keys.iter().map(|key| key.purpose.as_str()).collect();
        purposes.dedup();
        for purpose in purposes {
            let exists = authority_key::Entity::find()
                .filter(authority_key::COLUMN.purpose.eq(purpose))
                .one(&txn)
                .await
                .map_err(unavailable)?;
            if exists.is_some() {
                return Err(StorageError::Conflict {
                    what: "authority_keys",
                });
            }
        }
        for key in keys {
            authority_key::ActiveModel {
                key_id: Set(key.key_id),
                purpose: Set(key.purpose.as_str().to_string()),
                algorithm: Set(key.algorithm),
                public_key: Set(key.public_key),
                sealed_private_key: Set(key.sealed_private_key),
                certificate_der: Set(key.certificate_der),
                current: Set(key.current),
                created_at: Set(key.created_at),
            }
            .insert(&txn)
            .await
            .map_err(unavailable)?;
        }
        append_in(&txn, &audit, self.now()).await?;
        commit(txn).await
    }

    async fn record_pending(
        &self,
        pending: PendingCertificate,
        audit: AuditDraft,
    ) -> Result<CertificateRecord, CaError> {
        retrying(|| self.record_pending_once(&pending, &audit)).await
    }

    async fn activate(&self, serial: &CertificateSerial, der: Vec<u8>) -> Result<(), StorageError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        let row = certificate::Entity::find()
            .filter(certificate::COLUMN.serial.eq(serial.as_str()))
            .one(&txn)
            .await
            .map_err(unavailable)?;
        let activated = match row {
            Some(row) => activate_in(&txn, row.id, &der, self.now()).await?,
            None => false,
        };
        if !activated {
            return Err(StorageError::Conflict {
                what: "certificate activation",
            });
        }
        commit(txn).await
    }

    async fn find_by_serial(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<CertificateRecord>, StorageError> {
        let row = certificate::Entity::find()
            .filter(certificate::COLUMN.serial.eq(serial.as_str()))
            .one(&self.db)
            .await
            .map_err(unavailable)?;
        match row {
            Some(row) => Ok(Some(record_of(&self.db, row).await?)),
            None => Ok(None),
        }
    }

    async fn employer_certificates(
        &self,
        uscc: &str,
    ) -> Result<Vec<CertificateRecord>, StorageError> {
        let Some(employer) = employer_in(&self.db, uscc).await? else {
            return Ok(Vec::new());
        };
        let rows = certificate::Entity::find()
            .filter(certificate::COLUMN.employer_id.eq(employer.id))
            .order_by_asc(certificate::COLUMN.id)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        records_of(&self.db, rows).await
    }

    async fn holder_certificates(
        &self,
        holder_name: &str,
        limit: u64,
    ) -> Result<Vec<CertificateRecord>, StorageError> {
        let rows = certificate::Entity::find()
            .filter(certificate::COLUMN.holder_name.eq(holder_name))
            .order_by_desc(certificate::COLUMN.id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        records_of(&self.db, rows).await
    }

    async fn application_certificates(
        &self,
        application_id: i64,
    ) -> Result<Vec<CertificateRecord>, StorageError> {
        let ids: Vec<i64> = enrolment_ticket::Entity::find()
            .filter(enrolment_ticket::COLUMN.application_id.eq(application_id))
            .all(&self.db)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|ticket| ticket.certificate_id)
            .collect();
        let rows = certificate::Entity::find()
            .filter(certificate::Column::Id.is_in(ids))
            .order_by_asc(certificate::COLUMN.id)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        records_of(&self.db, rows).await
    }

    async fn appoint_primary(
        &self,
        candidate: &CertificateRecord,
        audit: AuditDraft,
    ) -> Result<bool, StorageError> {
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db.begin().await.map_err(unavailable)?;
            lock_employer(&txn, &candidate.uscc).await?;
            let row = certificate::Entity::find_by_id(candidate.id)
                .one(&txn)
                .await
                .map_err(unavailable)?
                .ok_or(StorageError::Conflict {
                    what: "certificate",
                })?;
            // `check_appointment`'s rule again, under the lock: another primary that is pending
            // or active and not expired (a concurrent appointment or download) wins.
            let other_primary = certificate::Entity::find()
                .filter(certificate::COLUMN.employer_id.eq(row.employer_id))
                .filter(certificate::COLUMN.id.ne(row.id))
                .filter(certificate::COLUMN.role.eq(Role::Primary.as_str()))
                .filter(certificate::COLUMN.status.is_in([
                    CertificateStatus::Pending.as_str(),
                    CertificateStatus::Active.as_str(),
                ]))
                .all(&txn)
                .await
                .map_err(unavailable)?
                .into_iter()
                .any(|primary| primary.not_after > self.now());
            if other_primary {
                return Ok(false);
            }
            let changed = certificate::Entity::update_many()
                .col_expr(
                    certificate::Column::Role,
                    Expr::value(Role::Primary.as_str()),
                )
                .filter(certificate::COLUMN.id.eq(row.id))
                .filter(certificate::COLUMN.role.eq(Role::Sub.as_str()))
                .filter(
                    certificate::COLUMN
                        .status
                        .eq(CertificateStatus::Active.as_str()),
                )
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            if changed.rows_affected != 1 {
                return Ok(false);
            }
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await?;
            Ok(true)
        })
        .await
    }

    async fn revoke(&self, revocation: RevocationDraft) -> Result<RevocationRecord, CaError> {
        retrying(|| self.revoke_once(&revocation)).await
    }

    async fn revocations(&self) -> Result<Vec<RevocationRecord>, StorageError> {
        let rows = revocation::Entity::find()
            .order_by_asc(revocation::COLUMN.revoked_at)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        rows.into_iter()
            .map(|r| {
                let serial = CertificateSerial::parse(&r.serial)
                    .map_err(|e| corrupt("revocations", e.to_string()))?;
                revocation_record(serial, r)
            })
            .collect()
    }

    async fn latest_crl(&self) -> Result<Option<CrlRecord>, StorageError> {
        let row = crl::Entity::find()
            .order_by_desc(crl::COLUMN.number)
            .one(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(row.map(|r| CrlRecord {
            number: r.number,
            this_update: r.this_update,
            next_update: r.next_update,
            der: r.der,
        }))
    }

    async fn insert_crl(&self, record: CrlRecord) -> Result<(), StorageError> {
        crl::ActiveModel {
            number: Set(record.number),
            this_update: Set(record.this_update),
            next_update: Set(record.next_update),
            der: Set(record.der),
        }
        .insert(&self.db)
        .await
        .map(|_| ())
        .map_err(unavailable)
    }

    async fn append_audit(&self, audit: AuditDraft) -> Result<AuditEntry, StorageError> {
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db.begin().await.map_err(unavailable)?;
            let entry = append_in(&txn, audit, self.now()).await?;
            commit(txn).await.map(|()| entry)
        })
        .await
    }

    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StorageError> {
        let rows = audit_entry::Entity::find()
            .filter(audit_entry::COLUMN.seq.gt(after_seq))
            .order_by_asc(audit_entry::COLUMN.seq)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(rows.into_iter().map(audit_entry_of).collect())
    }

    async fn audit_entries_about(
        &self,
        actions: &[&str],
        serials: Option<&[String]>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StorageError> {
        let mut query = audit_entry::Entity::find()
            .filter(audit_entry::Column::Action.is_in(actions.iter().copied()));
        if let Some(serials) = serials {
            query = query.filter(audit_entry::Column::Subject.is_in(serials.iter().cloned()));
        }
        if let Some(since) = since {
            query = query.filter(audit_entry::COLUMN.occurred_at.gte(since));
        }
        if let Some(until) = until {
            query = query.filter(audit_entry::COLUMN.occurred_at.lt(until));
        }
        let rows = query
            .order_by_desc(audit_entry::COLUMN.seq)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(rows.into_iter().map(audit_entry_of).collect())
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.db.ping().await.map_err(unavailable)
    }
}
