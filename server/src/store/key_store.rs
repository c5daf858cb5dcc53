//! `KeyShareStore` and `EnrolStore` on sea-orm, sharing the registry's connection. PIN counters
//! change with single conditional UPDATEs, so racing attempts cannot pass the limit.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait as _, DatabaseTransaction, EntityTrait, PaginatorTrait as _, QueryFilter,
    QuerySelect, TransactionTrait,
    sea_query::{Expr, ExprTrait as _},
};

use super::{
    SeaStore,
    cert_store::{activate_in, insert_pending_in, record_of, revoke_in},
    entities::{certificate, enrolment_ticket, key_share},
    outbox_store::{insert_notice_in, queue_certificate_event_in},
    renewal_store::renew_in,
    txn::{Conflicted, append_in, commit, corrupt, retrying, unavailable},
};
use crate::failure::StorageError;
use crate::{
    audit::AuditDraft,
    ca::{
        CaError, CertificateRecord, CertificateStatus, HolderDraft, PendingCertificate,
        RevocationDraft, Role, UnitDraft,
    },
    certificates::{CertificateEvent, RenewalRecord},
    cosign::{KeyShareRecord, KeyShareStore, NewKeyShare, PinFailure},
    domain::CertificateSerial,
    enrol::{Completion, EnrolError, EnrolStore, NewTicket, TicketStatus},
    notify::NoticeDraft,
};

impl Conflicted for EnrolError {
    fn is_conflict(&self) -> bool {
        match self {
            EnrolError::Storage(e) => e.is_conflict(),
            EnrolError::Ca(e) => e.is_conflict(),
            _ => false,
        }
    }
}

async fn certificate_row(
    txn: &impl sea_orm::ConnectionTrait,
    serial: &CertificateSerial,
) -> Result<Option<certificate::Model>, StorageError> {
    certificate::Entity::find()
        .filter(certificate::COLUMN.serial.eq(serial.as_str()))
        .one(txn)
        .await
        .map_err(unavailable)
}

fn drafts(row: &enrolment_ticket::Model) -> Result<(UnitDraft, HolderDraft), StorageError> {
    let bad = |e: crate::domain::DomainError| corrupt("enrolment_tickets", e.to_string());
    Ok((
        UnitDraft::parse(&row.uscc, &row.unit_name).map_err(bad)?,
        HolderDraft::parse(&row.holder_name, &row.holder_id_number, &row.holder_phone)
            .map_err(bad)?,
    ))
}

fn check_open(row: &enrolment_ticket::Model, now: DateTime<Utc>) -> Result<(), EnrolError> {
    if row.status != TicketStatus::Open.as_str() {
        return Err(EnrolError::TicketInvalid { reason: "used" });
    }
    if row.expires_at <= now {
        return Err(EnrolError::TicketInvalid { reason: "expired" });
    }
    Ok(())
}

impl SeaStore {
    async fn start_enrolment_once(
        &self,
        ticket_hash: &str,
        pending: &PendingCertificate,
        share: &NewKeyShare,
        audit: &AuditDraft,
    ) -> Result<CertificateRecord, EnrolError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        let ticket = enrolment_ticket::Entity::find()
            .filter(enrolment_ticket::COLUMN.ticket_hash.eq(ticket_hash))
            .lock_exclusive()
            .one(&txn)
            .await
            .map_err(unavailable)?
            .ok_or(EnrolError::TicketInvalid { reason: "unknown" })?;
        let now = self.now();
        check_open(&ticket, now)?;
        if let Some(previous) = ticket.certificate_id {
            abandon_in(&txn, previous).await?;
        }
        let replaces_primary = match ticket.application_id {
            Some(application_id) => replaces_primary_in(&txn, application_id).await?,
            None => false,
        };
        let row = insert_pending_in(&txn, pending, replaces_primary, now).await?;
        key_share::ActiveModel {
            certificate_id: Set(row.id),
            sealed_phone_share: Set(share.sealed_phone_share.clone()),
            sealed_server_share: Set(share.sealed_server_share.clone()),
            device_token_hash: Set(None),
            failed_pin_attempts: Set(0),
            locked_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(unavailable)?;
        // Compare-and-set on the ticket's link: a concurrent start finds zero rows changed.
        let linked = enrolment_ticket::Entity::update_many()
            .col_expr(enrolment_ticket::Column::CertificateId, Expr::value(row.id))
            .filter(enrolment_ticket::COLUMN.id.eq(ticket.id))
            .filter(match ticket.certificate_id {
                Some(previous) => enrolment_ticket::Column::CertificateId.eq(previous),
                None => enrolment_ticket::Column::CertificateId.is_null(),
            })
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if linked.rows_affected != 1 {
            return Err(EnrolError::Storage(StorageError::Conflict {
                what: "enrolment ticket",
            }));
        }
        append_in(&txn, audit, self.now()).await?;
        let record = record_of(&txn, row).await?;
        commit(txn).await?;
        Ok(record)
    }

    async fn complete_enrolment_once(
        &self,
        serial: &CertificateSerial,
        completion: &Completion,
    ) -> Result<Option<RenewalRecord>, EnrolError> {
        let Completion {
            der,
            device_token_hash,
            supersedes,
            audit,
            notice,
            renewal,
        } = completion;
        let txn = self.db().begin().await.map_err(unavailable)?;
        let row = certificate_row(&txn, serial)
            .await?
            .ok_or(EnrolError::Superseded)?;
        let now = self.now();
        if !activate_in(&txn, row.id, der, now).await? {
            return Err(EnrolError::Superseded);
        }
        key_share::Entity::update_many()
            .col_expr(
                key_share::Column::DeviceTokenHash,
                Expr::value(device_token_hash.to_string()),
            )
            .col_expr(key_share::Column::UpdatedAt, Expr::value(now))
            .filter(key_share::COLUMN.certificate_id.eq(row.id))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        let completed = enrolment_ticket::Entity::update_many()
            .col_expr(
                enrolment_ticket::Column::Status,
                Expr::value(TicketStatus::Completed.as_str()),
            )
            .col_expr(enrolment_ticket::Column::CompletedAt, Expr::value(now))
            .filter(enrolment_ticket::COLUMN.certificate_id.eq(row.id))
            .filter(
                enrolment_ticket::COLUMN
                    .status
                    .eq(TicketStatus::Open.as_str()),
            )
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if completed.rows_affected != 1 {
            return Err(EnrolError::Superseded);
        }
        queue_certificate_event_in(&txn, &row, CertificateEvent::Activated, None, now).await?;
        if let Some(notice) = notice {
            insert_notice_in(&txn, notice, self.now()).await?;
        }
        append_in(&txn, audit, now).await?;
        let renewed = match renewal {
            Some(renewal) => Some(renew_in(&txn, &row, renewal, now).await?),
            None => None,
        };
        // The new phone's certificate first, then the ones it supersedes, revoked at the moment
        // it activates (no gap, no overlap): the employment platform and the audit log show
        // them in that order.
        for revocation in supersedes {
            let Some(old) = certificate_row(&txn, &revocation.serial).await? else {
                continue;
            };
            let revocation = RevocationDraft {
                revoked_at: now,
                ..revocation.clone()
            };
            match revoke_in(&txn, &old, &revocation).await {
                // Revoked meanwhile by someone else: superseded all the same.
                Ok(_) | Err(CaError::AlreadyRevoked { .. } | CaError::NotActive { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        commit(txn).await?;
        Ok(renewed)
    }

    async fn record_pin_failure_once(
        &self,
        certificate_id: i64,
        limit: u32,
        failure_audit: &AuditDraft,
        lock_audit: &AuditDraft,
    ) -> Result<PinFailure, StorageError> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let txn = self.db().begin().await.map_err(unavailable)?;
        let now = self.now();
        // One statement: count only while unlocked and below the limit.
        let counted = key_share::Entity::update_many()
            .col_expr(
                key_share::Column::FailedPinAttempts,
                Expr::col(key_share::Column::FailedPinAttempts).add(1),
            )
            .col_expr(key_share::Column::UpdatedAt, Expr::value(now))
            .filter(key_share::COLUMN.certificate_id.eq(certificate_id))
            .filter(key_share::Column::LockedAt.is_null())
            .filter(key_share::COLUMN.failed_pin_attempts.lt(limit))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if counted.rows_affected != 1 {
            txn.rollback().await.map_err(unavailable)?;
            return Ok(PinFailure::Locked);
        }
        let failures = key_share::Entity::find_by_id(certificate_id)
            .select_only()
            .column(key_share::Column::FailedPinAttempts)
            .into_tuple::<i32>()
            .one(&txn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| corrupt("key_shares", "row vanished"))?;
        append_in(&txn, failure_audit, now).await?;
        if failures < limit {
            commit(txn).await?;
            return Ok(PinFailure::Remaining(
                u32::try_from(limit - failures).unwrap_or(0),
            ));
        }
        key_share::Entity::update_many()
            .col_expr(key_share::Column::LockedAt, Expr::value(now))
            .filter(key_share::COLUMN.certificate_id.eq(certificate_id))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        append_in(&txn, lock_audit, self.now()).await?;
        commit(txn).await?;
        Ok(PinFailure::Locked)
    }
}

/// Marks an unfinished enrolment attempt abandoned (never signed; its key share goes with it).
async fn abandon_in(txn: &DatabaseTransaction, certificate_id: i64) -> Result<(), StorageError> {
    certificate::Entity::update_many()
        .col_expr(
            certificate::Column::Status,
            Expr::value(CertificateStatus::Abandoned.as_str()),
        )
        .filter(certificate::COLUMN.id.eq(certificate_id))
        .filter(
            certificate::COLUMN
                .status
                .eq(CertificateStatus::Pending.as_str()),
        )
        .exec(txn)
        .await
        .map_err(unavailable)?;
    key_share::Entity::delete_by_id(certificate_id)
        .exec(txn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

#[async_trait::async_trait]
impl KeyShareStore for SeaStore {
    async fn key_share(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<KeyShareRecord>, StorageError> {
        let Some(row) = certificate_row(self.db(), serial).await? else {
            return Ok(None);
        };
        let Some(share) = key_share::Entity::find_by_id(row.id)
            .one(self.db())
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        Ok(Some(KeyShareRecord {
            certificate: record_of(self.db(), row).await?,
            sealed_phone_share: share.sealed_phone_share,
            sealed_server_share: share.sealed_server_share,
            device_token_hash: share.device_token_hash,
            failed_pin_attempts: u32::try_from(share.failed_pin_attempts)
                .map_err(|_| corrupt("key_shares", "negative failure count"))?,
            locked_at: share.locked_at,
        }))
    }

    async fn record_pin_failure(
        &self,
        serial: &CertificateSerial,
        limit: u32,
        failure_audit: AuditDraft,
        lock_audit: AuditDraft,
    ) -> Result<PinFailure, StorageError> {
        let row = certificate_row(self.db(), serial)
            .await?
            .ok_or_else(|| corrupt("key_shares", format!("no certificate {serial}")))?;
        retrying(|| self.record_pin_failure_once(row.id, limit, &failure_audit, &lock_audit)).await
    }

    async fn log_signature(&self, entry: AuditDraft) -> Result<(), StorageError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        append_in(&txn, &entry, self.now()).await?;
        commit(txn).await
    }

    async fn unlock(
        &self,
        serial: &CertificateSerial,
        audit: AuditDraft,
        notice: Option<NoticeDraft>,
    ) -> Result<bool, StorageError> {
        let row = certificate_row(self.db(), serial)
            .await?
            .ok_or_else(|| corrupt("key_shares", format!("no certificate {serial}")))?;
        let (audit, notice) = (&audit, notice.as_ref());
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let unlocked = key_share::Entity::update_many()
                .col_expr(key_share::Column::FailedPinAttempts, Expr::value(0))
                .col_expr(
                    key_share::Column::LockedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(key_share::Column::UpdatedAt, Expr::value(self.now()))
                .filter(key_share::COLUMN.certificate_id.eq(row.id))
                .filter(key_share::Column::LockedAt.is_not_null())
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            if unlocked.rows_affected != 1 {
                return Ok(false);
            }
            if let Some(notice) = notice {
                insert_notice_in(&txn, notice, self.now()).await?;
            }
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await?;
            Ok(true)
        })
        .await
    }

    async fn record_pin_success(&self, serial: &CertificateSerial) -> Result<bool, StorageError> {
        let row = certificate_row(self.db(), serial)
            .await?
            .ok_or_else(|| corrupt("key_shares", format!("no certificate {serial}")))?;
        let reset = key_share::Entity::update_many()
            .col_expr(key_share::Column::FailedPinAttempts, Expr::value(0))
            .filter(key_share::COLUMN.certificate_id.eq(row.id))
            .filter(key_share::Column::LockedAt.is_null())
            .exec(self.db())
            .await
            .map_err(unavailable)?;
        Ok(reset.rows_affected == 1)
    }
}

/// The certificates downloaded for `application_id` other than `except` (any status).
async fn other_downloads_in(
    db: &impl sea_orm::ConnectionTrait,
    application_id: i64,
    except: i64,
) -> Result<Vec<i64>, StorageError> {
    Ok(enrolment_ticket::Entity::find()
        .filter(enrolment_ticket::COLUMN.application_id.eq(application_id))
        .all(db)
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter_map(|ticket| ticket.certificate_id)
        .filter(|id| *id != except)
        .collect())
}

/// Whether a new download for `application_id` replaces the application's active primary
/// certificate (on an earlier phone): a fact the lifecycle core's role rule asks for.
async fn replaces_primary_in(
    txn: &DatabaseTransaction,
    application_id: i64,
) -> Result<bool, EnrolError> {
    let downloads = other_downloads_in(txn, application_id, 0).await?;
    Ok(certificate::Entity::find()
        .filter(certificate::COLUMN.id.is_in(downloads))
        .filter(certificate::COLUMN.role.eq(Role::Primary.as_str()))
        .filter(
            certificate::COLUMN
                .status
                .eq(CertificateStatus::Active.as_str()),
        )
        .one(txn)
        .await
        .map_err(unavailable)?
        .is_some())
}

/// The row of a new open ticket stored under `hash`, created `now`.
fn ticket_row(ticket: &NewTicket, hash: &str, now: DateTime<Utc>) -> enrolment_ticket::ActiveModel {
    enrolment_ticket::ActiveModel {
        ticket_hash: Set(hash.to_string()),
        uscc: Set(ticket.unit.uscc.as_str().to_string()),
        unit_name: Set(ticket.unit.name.as_str().to_string()),
        holder_name: Set(ticket.holder.name.as_str().to_string()),
        holder_id_number: Set(ticket.holder.id_number.as_str().to_string()),
        holder_phone: Set(ticket.holder.phone.as_str().to_string()),
        status: Set(TicketStatus::Open.as_str().to_string()),
        certificate_id: Set(None),
        created_by: Set(ticket.created_by.clone()),
        created_at: Set(now),
        expires_at: Set(ticket.expires_at),
        completed_at: Set(None),
        application_id: Set(ticket.download.map(|d| d.application_id)),
        person_id: Set(ticket.download.map(|d| d.person_id)),
        ..Default::default()
    }
}

#[async_trait::async_trait]
impl EnrolStore for SeaStore {
    async fn insert_ticket(&self, ticket: NewTicket, audit: AuditDraft) -> Result<(), EnrolError> {
        let (ticket, audit) = (&ticket, &audit);
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            ticket_row(ticket, &ticket.ticket_hash, self.now())
                .insert(&txn)
                .await
                .map_err(unavailable)?;
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await
        })
        .await
        .map_err(EnrolError::Storage)
    }

    async fn open_ticket(
        &self,
        ticket_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(UnitDraft, HolderDraft), EnrolError> {
        let row = enrolment_ticket::Entity::find()
            .filter(enrolment_ticket::COLUMN.ticket_hash.eq(ticket_hash))
            .one(self.db())
            .await
            .map_err(unavailable)?
            .ok_or(EnrolError::TicketInvalid { reason: "unknown" })?;
        check_open(&row, now)?;
        Ok(drafts(&row)?)
    }

    async fn start_enrolment(
        &self,
        ticket_hash: &str,
        pending: PendingCertificate,
        share: NewKeyShare,
        audit: AuditDraft,
    ) -> Result<CertificateRecord, EnrolError> {
        retrying(|| self.start_enrolment_once(ticket_hash, &pending, &share, &audit)).await
    }

    async fn download_ticket(&self, ticket: NewTicket) -> Result<String, EnrolError> {
        let ticket = &ticket;
        let link = ticket.download.ok_or(EnrolError::TicketInvalid {
            reason: "not a download",
        })?;
        retrying(|| async move {
            let open = enrolment_ticket::Entity::find()
                .filter(
                    enrolment_ticket::COLUMN
                        .application_id
                        .eq(link.application_id),
                )
                .filter(
                    enrolment_ticket::COLUMN
                        .status
                        .eq(TicketStatus::Open.as_str()),
                )
                .filter(enrolment_ticket::COLUMN.expires_at.gt(self.now()))
                .one(self.db())
                .await
                .map_err(unavailable)?;
            if let Some(open) = open {
                return Ok(open.ticket_hash);
            }
            // Not a digest anybody can type: typed tickets are looked up by their SM3 (hex).
            // Concurrent first downloads compute the same name, and one row results.
            let earlier = enrolment_ticket::Entity::find()
                .filter(
                    enrolment_ticket::COLUMN
                        .application_id
                        .eq(link.application_id),
                )
                .count(self.db())
                .await
                .map_err(unavailable)?;
            let hash = format!("download:{}:{earlier}", link.application_id);
            enrolment_ticket::Entity::insert(ticket_row(ticket, &hash, self.now()))
                .on_conflict_do_nothing_on([enrolment_ticket::Column::TicketHash])
                .exec(self.db())
                .await
                .map_err(unavailable)?;
            Ok(hash)
        })
        .await
    }

    async fn other_downloads(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Vec<CertificateRecord>, EnrolError> {
        let row = certificate_row(self.db(), serial)
            .await?
            .ok_or_else(|| corrupt("certificates", format!("no certificate {serial}")))?;
        let Some(application_id) = enrolment_ticket::Entity::find()
            .filter(enrolment_ticket::COLUMN.certificate_id.eq(row.id))
            .one(self.db())
            .await
            .map_err(unavailable)?
            .and_then(|ticket| ticket.application_id)
        else {
            return Ok(Vec::new());
        };
        let others = other_downloads_in(self.db(), application_id, row.id).await?;
        let rows = certificate::Entity::find()
            .filter(certificate::COLUMN.id.is_in(others))
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            records.push(record_of(self.db(), row).await?);
        }
        Ok(records)
    }

    async fn complete_enrolment(
        &self,
        serial: &CertificateSerial,
        completion: Completion,
    ) -> Result<Option<RenewalRecord>, EnrolError> {
        retrying(|| self.complete_enrolment_once(serial, &completion)).await
    }
}
