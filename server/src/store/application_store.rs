//! `ApplicationStore` on sea-orm: every change is one conditional UPDATE on `status`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseTransaction,
    EntityTrait, PaginatorTrait as _, QueryFilter, QueryOrder, QuerySelect as _, TransactionTrait,
    sea_query::Expr,
};

use super::{
    SeaStore,
    cert_store::record_of,
    employer_store::{register_in, set_employee_count_in, take_profile_in},
    entities::{application, certificate, enrolment_ticket},
    outbox_store::{insert_notice_in, queue_employer_sync_in},
    txn::{append_in, commit, corrupt, lock_employer, retrying, unavailable},
};
use crate::failure::StorageError;
use crate::{
    applications::{
        ApplicationRecord, ApplicationStatus, ApplicationStore, Change, Outcome, QueueFilter, Step,
    },
    audit::AuditDraft,
    billing::{self, Charge, Held, Quota},
    ca::{CertificateRecord, CertificateStatus},
    certificates::Standing,
    employers::EmployerProfile,
};

fn step<T: serde::de::DeserializeOwned>(
    value: Option<serde_json::Value>,
) -> Result<Option<T>, StorageError> {
    value
        .map(|v| serde_json::from_value(v).map_err(|e| corrupt("applications", e.to_string())))
        .transpose()
}

fn record(row: application::Model) -> Result<ApplicationRecord, StorageError> {
    Ok(ApplicationRecord {
        id: row.id,
        applicant_id: row.applicant_id,
        status: ApplicationStatus::parse(&row.status)
            .ok_or_else(|| corrupt("applications", format!("status {}", row.status)))?,
        agreement_shown_at: row.agreement_shown_at,
        agreement_accepted_at: row.agreement_accepted_at,
        enterprise: step(row.enterprise)?,
        agent: step(row.agent)?,
        ca: step(row.ca)?,
        reject_reason: row.reject_reason,
        updated_at: row.updated_at,
        submitted_at: row.submitted_at,
        region_code: row.region_code,
        uscc: row.uscc,
        billable: row.billable,
        fee_yuan: row.fee_yuan.and_then(|f| u32::try_from(f).ok()),
        decided_at: row.decided_at,
        decided_by: row.decided_by,
    })
}

#[async_trait::async_trait]
impl ApplicationStore for SeaStore {
    async fn create_application(
        &self,
        applicant_id: i64,
        now: DateTime<Utc>,
    ) -> Result<ApplicationRecord, StorageError> {
        let row = application::ActiveModel {
            applicant_id: Set(applicant_id),
            status: Set(ApplicationStatus::Draft.as_str().to_string()),
            agreement_shown_at: Set(now),
            agreement_accepted_at: Set(None),
            enterprise: Set(None),
            agent: Set(None),
            ca: Set(None),
            reject_reason: Set(None),
            region_code: Set(None),
            uscc: Set(None),
            billable: Set(None),
            fee_yuan: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            submitted_at: Set(None),
            decided_at: Set(None),
            decided_by: Set(None),
            ..Default::default()
        }
        .insert(self.db())
        .await
        .map_err(unavailable)?;
        record(row)
    }

    async fn application(&self, id: i64) -> Result<Option<ApplicationRecord>, StorageError> {
        application::Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(record)
            .transpose()
    }

    async fn applications_of(
        &self,
        applicant_id: i64,
    ) -> Result<Vec<ApplicationRecord>, StorageError> {
        application::Entity::find()
            .filter(application::COLUMN.applicant_id.eq(applicant_id))
            .order_by_desc(application::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn certificates_of(
        &self,
        application_ids: &[i64],
    ) -> Result<HashMap<i64, CertificateRecord>, StorageError> {
        let newest = newest_certificates_in(self.db(), application_ids).await?;
        let mut records = HashMap::with_capacity(newest.len());
        for (application, row) in newest {
            records.insert(application, record_of(self.db(), row).await?);
        }
        Ok(records)
    }

    async fn approved_for_agent(
        &self,
        id_number: &str,
    ) -> Result<Vec<ApplicationRecord>, StorageError> {
        application::Entity::find()
            .filter(application::COLUMN.agent_id_number.eq(id_number))
            .filter(
                application::COLUMN
                    .status
                    .eq(ApplicationStatus::Approved.as_str()),
            )
            .order_by_asc(application::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn set_employee_count(
        &self,
        uscc: &str,
        count: u32,
        source: &str,
        audit: AuditDraft,
    ) -> Result<bool, StorageError> {
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let now = self.now();
            if !set_employee_count_in(&txn, uscc, count, source, &audit.actor.to_string(), now)
                .await?
            {
                return Ok(false);
            }
            append_in(&txn, audit, now).await?;
            commit(txn).await?;
            Ok(true)
        })
        .await
    }

    async fn queue(
        &self,
        filter: &QueueFilter,
    ) -> Result<(Vec<ApplicationRecord>, u64), StorageError> {
        let status = filter.status.unwrap_or(ApplicationStatus::Submitted);
        let mut query =
            application::Entity::find().filter(application::COLUMN.status.eq(status.as_str()));
        if let Some(prefix) = &filter.region_prefix {
            query = query.filter(application::Column::RegionCode.starts_with(prefix.as_str()));
        }
        if let Some(from) = filter.submitted_from {
            query = query.filter(application::COLUMN.submitted_at.gte(from));
        }
        if let Some(to) = filter.submitted_to {
            query = query.filter(application::COLUMN.submitted_at.lt(to));
        }
        let total = query.clone().count(self.db()).await.map_err(unavailable)?;
        let rows = query
            .order_by_asc(application::COLUMN.submitted_at)
            .order_by_asc(application::COLUMN.id)
            .offset(filter.offset)
            .limit(filter.limit)
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let records = rows.into_iter().map(record).collect::<Result<_, _>>()?;
        Ok((records, total))
    }

    async fn apply(
        &self,
        id: i64,
        expected: ApplicationStatus,
        change: Change,
    ) -> Result<bool, StorageError> {
        retrying(|| self.apply_once(id, expected, &change)).await
    }
}

impl SeaStore {
    async fn apply_once(
        &self,
        id: i64,
        expected: ApplicationStatus,
        change: &Change,
    ) -> Result<bool, StorageError> {
        use application::Column as C;
        let now = self.now();
        let txn = self.db().begin().await.map_err(unavailable)?;
        let mut update =
            application::Entity::update_many().col_expr(C::UpdatedAt, Expr::value(now));
        let mut audit = None;
        update = match change {
            Change::AcceptAgreement(at) => {
                update.col_expr(C::AgreementAcceptedAt, Expr::value(*at))
            }
            Change::SaveStep(which, value) => {
                let column = match which {
                    Step::Enterprise => C::Enterprise,
                    Step::Agent => C::Agent,
                    Step::Ca => C::Ca,
                };
                if *which == Step::Enterprise {
                    let region = value["region_code"].as_str().map(str::to_string);
                    let uscc = value["uscc"].as_str().map(str::to_string);
                    update = update
                        .col_expr(C::RegionCode, Expr::value(region))
                        .col_expr(C::Uscc, Expr::value(uscc));
                }
                if *which == Step::Agent {
                    let id_number = value["id_number"].as_str().map(str::to_string);
                    update = update.col_expr(C::AgentIdNumber, Expr::value(id_number));
                }
                update.col_expr(column, Expr::value(value.clone()))
            }
            Change::Submit(at, employer) => {
                let charge = charge_in(&txn, employer, id, now).await?;
                update
                    .col_expr(
                        C::Status,
                        Expr::value(ApplicationStatus::Submitted.as_str()),
                    )
                    .col_expr(C::SubmittedAt, Expr::value(*at))
                    .col_expr(C::Billable, Expr::value(charge.billable()))
                    .col_expr(
                        C::FeeYuan,
                        Expr::value(charge.fee_yuan().and_then(|f| i32::try_from(f).ok())),
                    )
            }
            Change::Decide(decision) => {
                audit = Some(&decision.audit);
                let (status, reason) = match &decision.outcome {
                    Outcome::Approve => (ApplicationStatus::Approved, None),
                    Outcome::Reject(reason) => (ApplicationStatus::Rejected, Some(reason.clone())),
                };
                update
                    .col_expr(C::Status, Expr::value(status.as_str()))
                    .col_expr(C::RejectReason, Expr::value(reason))
                    .col_expr(C::DecidedAt, Expr::value(decision.at))
                    .col_expr(C::DecidedBy, Expr::value(decision.staff.clone()))
            }
        };
        let result = update
            .filter(application::COLUMN.id.eq(id))
            .filter(application::COLUMN.status.eq(expected.as_str()))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        if let Some(audit) = audit {
            append_in(&txn, audit, self.now()).await?;
        }
        if let Change::Decide(decision) = change
            && let Some(employer) = &decision.employer
        {
            take_profile_in(&txn, employer, now).await?;
        }
        if let Change::Decide(decision) = change
            && let Some(sync) = &decision.sync
        {
            queue_employer_sync_in(&txn, id, sync, now).await?;
        }
        if let Change::Decide(decision) = change
            && let Some(notice) = &decision.notice
        {
            insert_notice_in(&txn, notice, self.now()).await?;
        }
        commit(txn).await?;
        Ok(true)
    }
}

/// The charge of application `id` of the employer `profile` names, decided inside `txn` under
/// the employer's lock (registering the employer if it is new), so simultaneous submissions for
/// one employer count each other in turn: the billing core weighs the employer's other submitted
/// or approved applications by their charges and their certificates' standing `now`.
async fn charge_in(
    txn: &DatabaseTransaction,
    profile: &EmployerProfile,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Charge, StorageError> {
    lock_employer(txn, &profile.uscc).await?;
    let employer = register_in(txn, profile, now).await?;
    let others = application::Entity::find()
        .filter(application::COLUMN.uscc.eq(profile.uscc.as_str()))
        .filter(application::COLUMN.id.ne(id))
        .filter(application::COLUMN.status.is_in([
            ApplicationStatus::Submitted.as_str(),
            ApplicationStatus::Approved.as_str(),
        ]))
        .all(txn)
        .await
        .map_err(unavailable)?;
    let ids: Vec<i64> = others.iter().map(|a| a.id).collect();
    let certificates = newest_certificates_in(txn, &ids).await?;
    let mut held = Vec::with_capacity(others.len());
    for other in &others {
        let standing = match certificates.get(&other.id) {
            Some(row) => Some(Standing::at(
                CertificateStatus::parse(&row.status)
                    .ok_or_else(|| corrupt("certificates", format!("status {}", row.status)))?,
                row.not_before,
                row.not_after,
                now,
            )),
            None => None,
        };
        held.push(Held {
            charge: Charge::stored(
                other.billable.unwrap_or(false),
                other.fee_yuan.and_then(|f| u32::try_from(f).ok()),
            ),
            standing,
        });
    }
    let employees = employer.employee_count.and_then(|n| u32::try_from(n).ok());
    Ok(billing::new_certificate(Quota::of(employees), &held))
}

/// The newest activated certificate downloaded for each of `application_ids` (those that have
/// one), by application.
async fn newest_certificates_in(
    db: &impl ConnectionTrait,
    application_ids: &[i64],
) -> Result<HashMap<i64, certificate::Model>, StorageError> {
    if application_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let tickets = enrolment_ticket::Entity::find()
        .filter(
            enrolment_ticket::COLUMN
                .application_id
                .is_in(application_ids.iter().copied()),
        )
        .all(db)
        .await
        .map_err(unavailable)?;
    let by_certificate: HashMap<i64, i64> = tickets
        .iter()
        .filter_map(|t| Some((t.certificate_id?, t.application_id?)))
        .collect();
    let rows = certificate::Entity::find()
        .filter(certificate::COLUMN.id.is_in(by_certificate.keys().copied()))
        .filter(certificate::Column::ActivatedAt.is_not_null())
        .order_by_asc(certificate::COLUMN.id)
        .all(db)
        .await
        .map_err(unavailable)?;
    let mut newest = HashMap::new();
    for row in rows {
        if let Some(application) = by_certificate.get(&row.id).copied() {
            newest.insert(application, row);
        }
    }
    Ok(newest)
}
