//! `NoticeStore` on sea-orm: the outbox of SMS notices, on the delivery columns every outbox
//! table shares (the rows are written by the changes they announce, `outbox_store`).

use chrono::{DateTime, Utc};
use sea_orm::{EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};

use super::{
    SeaStore,
    entities::notice,
    outbox_store::{claim_row, delivery, due_rows, set_delivery},
    txn::{corrupt, unavailable},
};
use crate::{
    failure::StorageError,
    notify::{NoticeRow, NoticeStatus, NoticeStore},
};

fn row(model: notice::Model) -> Result<NoticeRow, StorageError> {
    Ok(NoticeRow {
        id: model.id,
        phone: model.phone,
        subject: model.subject,
        notice: serde_json::from_value(model.notice)
            .map_err(|e| corrupt("notices", e.to_string()))?,
        delivery: delivery(
            "notices",
            &model.status,
            model.attempts,
            model.next_attempt_at,
            model.last_error,
            model.reference,
        )?,
        created_at: model.created_at,
        sent_at: model.sent_at,
    })
}

#[async_trait::async_trait]
impl NoticeStore for SeaStore {
    async fn due_notices(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<NoticeRow>, StorageError> {
        due_rows::<notice::Entity, NoticeStatus>(self.db(), now, limit)
            .await?
            .into_iter()
            .map(row)
            .collect()
    }

    async fn claim_notice(
        &self,
        row: &NoticeRow,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        claim_row::<notice::Entity, _>(
            self.db(),
            notice::COLUMN.id.eq(row.id),
            &row.delivery,
            lease_until,
        )
        .await
    }

    async fn record_notice(&self, next: &NoticeRow) -> Result<(), StorageError> {
        set_delivery(notice::Entity::update_many(), &next.delivery, self.now())
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
