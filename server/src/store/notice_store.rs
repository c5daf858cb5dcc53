//! `NoticeStore` on sea-orm, and the insert the announcing changes call in their transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect as _, sea_query::Expr,
};

use super::{
    cert_store::{SeaCertStore, corrupt, unavailable},
    entities::notice,
};
use crate::{
    ca::StorageError,
    notify::{NoticeDraft, NoticeRow, NoticeStatus, NoticeStore},
};

/// Writes `draft` as a pending notice due now, inside the caller's transaction.
pub(super) async fn insert_notice_in(
    txn: &impl ConnectionTrait,
    draft: &NoticeDraft,
) -> Result<(), StorageError> {
    let now = Utc::now();
    notice::ActiveModel {
        phone: Set(draft.phone.clone()),
        subject: Set(draft.subject.clone()),
        notice: Set(
            serde_json::to_value(&draft.notice).map_err(|e| corrupt("notices", e.to_string()))?
        ),
        status: Set(NoticeStatus::Pending.as_str().to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(unavailable)?;
    Ok(())
}

fn row(model: notice::Model) -> Result<NoticeRow, StorageError> {
    Ok(NoticeRow {
        id: model.id,
        phone: model.phone,
        subject: model.subject,
        notice: serde_json::from_value(model.notice)
            .map_err(|e| corrupt("notices", e.to_string()))?,
        status: NoticeStatus::parse(&model.status)
            .ok_or_else(|| corrupt("notices", format!("status {}", model.status)))?,
        attempts: u32::try_from(model.attempts).unwrap_or(0),
        next_attempt_at: model.next_attempt_at,
        last_error: model.last_error,
        created_at: model.created_at,
        sent_at: model.sent_at,
    })
}

#[async_trait::async_trait]
impl NoticeStore for SeaCertStore {
    async fn due_notices(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<NoticeRow>, StorageError> {
        notice::Entity::find()
            .filter(notice::COLUMN.status.eq(NoticeStatus::Pending.as_str()))
            .filter(notice::COLUMN.next_attempt_at.lte(now))
            .order_by_asc(notice::COLUMN.next_attempt_at)
            .limit(limit)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(row)
            .collect()
    }

    async fn claim_notice(
        &self,
        row: &NoticeRow,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let claimed = notice::Entity::update_many()
            .col_expr(notice::Column::NextAttemptAt, Expr::value(lease_until))
            .filter(notice::COLUMN.id.eq(row.id))
            .filter(notice::COLUMN.status.eq(NoticeStatus::Pending.as_str()))
            .filter(notice::COLUMN.next_attempt_at.eq(row.next_attempt_at))
            .exec(self.db())
            .await
            .map_err(unavailable)?;
        Ok(claimed.rows_affected == 1)
    }

    async fn record_notice(&self, next: &NoticeRow) -> Result<(), StorageError> {
        notice::Entity::update_many()
            .col_expr(notice::Column::Status, Expr::value(next.status.as_str()))
            .col_expr(
                notice::Column::Attempts,
                Expr::value(i32::try_from(next.attempts).unwrap_or(i32::MAX)),
            )
            .col_expr(
                notice::Column::NextAttemptAt,
                Expr::value(next.next_attempt_at),
            )
            .col_expr(
                notice::Column::LastError,
                Expr::value(next.last_error.clone()),
            )
            .col_expr(notice::Column::SentAt, Expr::value(next.sent_at))
            .filter(notice::COLUMN.id.eq(next.id))
            .exec(self.db())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn notices_about(&self, subject: &str) -> Result<Vec<NoticeRow>, StorageError> {
        notice::Entity::find()
            .filter(notice::COLUMN.subject.eq(subject))
            .order_by_asc(notice::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(row)
            .collect()
    }
}
