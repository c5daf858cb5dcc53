//! `ApplicationStore` on sea-orm: every change is one conditional UPDATE on `status`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait as _, DatabaseTransaction, EntityTrait,
    PaginatorTrait as _, QueryFilter, QueryOrder, QuerySelect as _, TransactionTrait,
    sea_query::Expr,
};

use super::{
    SeaStore,
    cert_store::record_of,
    entities::{application, certificate, employer, enrolment_ticket},
    outbox_store::{insert_notice_in, queue_employer_sync_in},
    txn::{append_in, commit, corrupt, lock_employer, retrying, unavailable},
};
use crate::failure::StorageError;
use crate::{
    applications::{
        ApplicationRecord, ApplicationStatus, ApplicationStore, Change, Outcome, QueueFilter, Step,
    },
    audit::AuditDraft,
    ca::CertificateRecord,
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
        if application_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let tickets = enrolment_ticket::Entity::find()
            .filter(
                enrolment_ticket::COLUMN
                    .application_id
                    .is_in(application_ids.iter().copied()),
            )
            .all(self.db())
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
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let mut newest = HashMap::new();
        for row in rows {
            if let Some(application) = by_certificate.get(&row.id).copied() {
                newest.insert(application, row);
            }
        }
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
    ) -> Result<(), StorageError> {
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        let audit = &audit;
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            let row = employer::ActiveModel {
                uscc: Set(uscc.to_string()),
                employee_count: Set(count),
                employee_count_source: Set(source.to_string()),
                updated_by: Set(audit.actor.to_string()),
                updated_at: Set(self.now()),
            };
            employer::Entity::insert(row)
                .on_conflict(
                    sea_orm::sea_query::OnConflict::column(employer::Column::Uscc)
                        .update_columns([
                            employer::Column::EmployeeCount,
                            employer::Column::EmployeeCountSource,
                            employer::Column::UpdatedBy,
                            employer::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            append_in(&txn, audit, self.now()).await?;
            commit(txn).await
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
            Change::Submit(at, uscc) => {
                let billing = billing_in(&txn, uscc, id).await?;
                update
                    .col_expr(
                        C::Status,
                        Expr::value(ApplicationStatus::Submitted.as_str()),
                    )
                    .col_expr(C::SubmittedAt, Expr::value(*at))
                    .col_expr(C::Billable, Expr::value(billing.billable))
                    .col_expr(
                        C::FeeYuan,
                        Expr::value(billing.fee_yuan.and_then(|f| i32::try_from(f).ok())),
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

/// The billing of application `id` of employer `uscc`, decided inside `txn` under the
/// employer's lock, so simultaneous submissions for one employer count each other in turn.
async fn billing_in(
    txn: &DatabaseTransaction,
    uscc: &str,
    id: i64,
) -> Result<crate::applications::Billing, StorageError> {
    lock_employer(txn, uscc).await?;
    let before = application::Entity::find()
        .filter(application::COLUMN.uscc.eq(uscc))
        .filter(application::COLUMN.id.ne(id))
        .filter(application::COLUMN.status.is_in([
            ApplicationStatus::Submitted.as_str(),
            ApplicationStatus::Approved.as_str(),
        ]))
        .count(txn)
        .await
        .map_err(unavailable)?;
    let employees = employer::Entity::find_by_id(uscc.to_string())
        .one(txn)
        .await
        .map_err(unavailable)?
        .and_then(|row| u32::try_from(row.employee_count).ok());
    Ok(crate::applications::billing(before + 1, employees))
}
