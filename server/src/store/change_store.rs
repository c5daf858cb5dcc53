//! `ChangeStore` on sea-orm: information changes (`information_changes`). A submission is
//! checked against the application's open change under a lock on the application; a decision
//! is one conditional UPDATE on the change's status, and an approval writes the application's
//! enterprise step, the employer record and the platform push in the same transaction.

use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, EntityTrait, PaginatorTrait as _, QueryFilter,
    QueryOrder, QuerySelect as _, TransactionTrait, sea_query::Expr,
};

use super::{
    SeaStore,
    employer_store::take_profile_in,
    entities::{application, information_change},
    outbox_store::{insert_notice_in, requeue_employer_sync_in},
    txn::{append_in, commit, corrupt, lock_employer, lock_in, retrying, unavailable},
};
use crate::{
    applications::{
        ApplicationStatus, EnterpriseInfo, Outcome,
        changes::{ChangeDecision, ChangeDraft, ChangeRecord, ChangeStatus, ChangeStore},
    },
    failure::StorageError,
};

fn enterprise(value: serde_json::Value) -> Result<EnterpriseInfo, StorageError> {
    serde_json::from_value(value).map_err(|e| corrupt("information_changes", e.to_string()))
}

fn to_json(info: &EnterpriseInfo) -> Result<serde_json::Value, StorageError> {
    serde_json::to_value(info).map_err(|e| corrupt("information_changes", e.to_string()))
}

fn record(row: information_change::Model) -> Result<ChangeRecord, StorageError> {
    Ok(ChangeRecord {
        id: row.id,
        application_id: row.application_id,
        applicant_id: row.applicant_id,
        uscc: row.uscc,
        unit_name: row.unit_name,
        status: ChangeStatus::parse(&row.status)
            .ok_or_else(|| corrupt("information_changes", format!("status {}", row.status)))?,
        before: enterprise(row.before)?,
        after: enterprise(row.after)?,
        licence_upload_id: row.licence_upload_id,
        reject_reason: row.reject_reason,
        submitted_at: row.submitted_at,
        decided_at: row.decided_at,
        decided_by: row.decided_by,
    })
}

#[async_trait::async_trait]
impl ChangeStore for SeaStore {
    async fn insert_change(
        &self,
        draft: &ChangeDraft,
    ) -> Result<Result<ChangeRecord, i64>, StorageError> {
        retrying(|| async move {
            let txn = self.db().begin().await.map_err(unavailable)?;
            lock_in(&txn, &format!("application:{}", draft.application_id)).await?;
            let open = information_change::Entity::find()
                .filter(
                    information_change::COLUMN
                        .application_id
                        .eq(draft.application_id),
                )
                .filter(
                    information_change::COLUMN
                        .status
                        .eq(ChangeStatus::Submitted.as_str()),
                )
                .one(&txn)
                .await
                .map_err(unavailable)?;
            if let Some(open) = open {
                return Ok(Err(open.id));
            }
            let row = information_change::ActiveModel {
                application_id: Set(draft.application_id),
                applicant_id: Set(draft.applicant_id),
                uscc: Set(draft.uscc.clone()),
                unit_name: Set(draft.unit_name.clone()),
                status: Set(ChangeStatus::Submitted.as_str().to_string()),
                before: Set(to_json(&draft.before)?),
                after: Set(to_json(&draft.after)?),
                licence_upload_id: Set(draft.licence_upload_id.clone()),
                reject_reason: Set(None),
                submitted_at: Set(draft.submitted_at),
                decided_at: Set(None),
                decided_by: Set(None),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(unavailable)?;
            append_in(&txn, &draft.audit, self.now()).await?;
            commit(txn).await?;
            Ok(Ok(record(row)?))
        })
        .await
    }

    async fn change(&self, id: i64) -> Result<Option<ChangeRecord>, StorageError> {
        information_change::Entity::find_by_id(id)
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(record)
            .transpose()
    }

    async fn changes_of(&self, application_id: i64) -> Result<Vec<ChangeRecord>, StorageError> {
        information_change::Entity::find()
            .filter(information_change::COLUMN.application_id.eq(application_id))
            .order_by_desc(information_change::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn change_queue(
        &self,
        status: ChangeStatus,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<ChangeRecord>, u64), StorageError> {
        let query = information_change::Entity::find()
            .filter(information_change::COLUMN.status.eq(status.as_str()));
        let total = query.clone().count(self.db()).await.map_err(unavailable)?;
        let rows = query
            .order_by_asc(information_change::COLUMN.submitted_at)
            .order_by_asc(information_change::COLUMN.id)
            .offset(offset)
            .limit(limit)
            .all(self.db())
            .await
            .map_err(unavailable)?;
        let records = rows.into_iter().map(record).collect::<Result<_, _>>()?;
        Ok((records, total))
    }

    async fn decide_change(
        &self,
        id: i64,
        decision: &ChangeDecision,
    ) -> Result<bool, StorageError> {
        retrying(|| self.decide_change_once(id, decision)).await
    }
}

impl SeaStore {
    async fn decide_change_once(
        &self,
        id: i64,
        decision: &ChangeDecision,
    ) -> Result<bool, StorageError> {
        use information_change::Column as C;
        let now = self.now();
        let txn = self.db().begin().await.map_err(unavailable)?;
        let (status, reason) = match &decision.outcome {
            Outcome::Approve => (ChangeStatus::Approved, None),
            Outcome::Reject(reason) => (ChangeStatus::Rejected, Some(reason.clone())),
        };
        let decided = information_change::Entity::update_many()
            .col_expr(C::Status, Expr::value(status.as_str()))
            .col_expr(C::RejectReason, Expr::value(reason))
            .col_expr(C::DecidedAt, Expr::value(decision.at))
            .col_expr(C::DecidedBy, Expr::value(decision.staff.clone()))
            .filter(information_change::COLUMN.id.eq(id))
            .filter(
                information_change::COLUMN
                    .status
                    .eq(ChangeStatus::Submitted.as_str()),
            )
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if decided.rows_affected != 1 {
            return Ok(false);
        }
        append_in(&txn, &decision.audit, now).await?;
        if let Some(applied) = &decision.applied {
            let step = application::Entity::update_many()
                .col_expr(
                    application::Column::Enterprise,
                    Expr::value(to_json(&applied.enterprise)?),
                )
                .col_expr(
                    application::Column::RegionCode,
                    Expr::value(applied.enterprise.region_code.clone()),
                )
                .col_expr(application::Column::UpdatedAt, Expr::value(now))
                .filter(application::COLUMN.id.eq(applied.application_id))
                .filter(
                    application::COLUMN
                        .status
                        .eq(ApplicationStatus::Approved.as_str()),
                )
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            if step.rows_affected != 1 {
                // An approved application never changes status; a missing one was deleted
                // outside mcert.
                return Err(corrupt(
                    "applications",
                    format!("approved application {} missing", applied.application_id),
                ));
            }
            lock_employer(&txn, &applied.employer.uscc).await?;
            take_profile_in(&txn, &applied.employer, now).await?;
            requeue_employer_sync_in(&txn, applied.application_id, &applied.sync, now).await?;
        }
        if let Some(notice) = &decision.notice {
            insert_notice_in(&txn, notice, now).await?;
        }
        commit(txn).await?;
        Ok(true)
    }
}
