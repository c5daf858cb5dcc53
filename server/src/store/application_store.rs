//! `ApplicationStore` on sea-orm: every change is one conditional UPDATE on `status`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

use super::{
    cert_store::{SeaCertStore, corrupt, unavailable},
    entities::application,
};
use crate::{
    applications::{ApplicationRecord, ApplicationStatus, ApplicationStore, Change, Step},
    ca::StorageError,
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
    })
}

#[async_trait::async_trait]
impl ApplicationStore for SeaCertStore {
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
            created_at: Set(now),
            updated_at: Set(now),
            submitted_at: Set(None),
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

    async fn apply(
        &self,
        id: i64,
        expected: ApplicationStatus,
        change: Change,
    ) -> Result<bool, StorageError> {
        use application::Column as C;
        let now = Utc::now();
        let mut update =
            application::Entity::update_many().col_expr(C::UpdatedAt, Expr::value(now));
        update = match change {
            Change::AcceptAgreement(at) => update.col_expr(C::AgreementAcceptedAt, Expr::value(at)),
            Change::SaveStep(which, value) => {
                let column = match which {
                    Step::Enterprise => C::Enterprise,
                    Step::Agent => C::Agent,
                    Step::Ca => C::Ca,
                };
                update.col_expr(column, Expr::value(value))
            }
            Change::Submit(at) => update
                .col_expr(
                    C::Status,
                    Expr::value(ApplicationStatus::Submitted.as_str()),
                )
                .col_expr(C::SubmittedAt, Expr::value(at)),
        };
        let result = update
            .filter(application::COLUMN.id.eq(id))
            .filter(application::COLUMN.status.eq(expected.as_str()))
            .exec(self.db())
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected == 1)
    }
}
