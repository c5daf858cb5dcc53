//! `SessionStore` on sea-orm: the portal sessions of certificates' logins, ended inside the
//! transaction of a revocation or a grant change ([`end_sessions_in`]), and the outbox of
//! back-channel logout tokens on the delivery columns every outbox shares.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait,
    DatabaseTransaction, EntityTrait, QueryFilter, sea_query::Expr, sea_query::OnConflict,
};

use super::{
    SeaStore,
    entities::{backchannel_logout, certificate, portal, portal_session},
    outbox_store::{claim_row, delivery, due_rows, set_delivery},
    txn::{corrupt, unavailable},
};
use crate::{
    failure::StorageError,
    login::backchannel::{LogoutRow, LogoutStatus, SessionStore},
    outbox::DeliveryStatus as _,
};

/// Ends the open portal sessions of certificate `certificate_id` (at every portal, or only at
/// `portal_id`) inside `txn`, and queues a logout token for each session whose portal has a
/// back-channel endpoint.
pub(super) async fn end_sessions_in(
    txn: &DatabaseTransaction,
    certificate_id: i64,
    portal_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let mut open = portal_session::Entity::find()
        .filter(portal_session::COLUMN.certificate_id.eq(certificate_id))
        .filter(portal_session::Column::EndedAt.is_null());
    if let Some(portal_id) = portal_id {
        open = open.filter(portal_session::COLUMN.portal_id.eq(portal_id));
    }
    let sessions = open.all(txn).await.map_err(unavailable)?;
    if sessions.is_empty() {
        return Ok(());
    }
    portal_session::Entity::update_many()
        .col_expr(portal_session::Column::EndedAt, Expr::value(now))
        .filter(portal_session::Column::Sid.is_in(sessions.iter().map(|s| s.sid.clone())))
        .exec(txn)
        .await
        .map_err(unavailable)?;
    // The back-channel endpoints of the portals concerned, read once.
    let uris: HashMap<i64, String> = portal::Entity::find()
        .filter(portal::Column::Id.is_in(sessions.iter().map(|s| s.portal_id)))
        .all(txn)
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter_map(|portal| Some((portal.id, portal.backchannel_logout_uri?)))
        .collect();
    for session in sessions {
        let Some(uri) = uris.get(&session.portal_id) else {
            continue;
        };
        backchannel_logout::ActiveModel {
            portal_id: Set(session.portal_id),
            sid: Set(session.sid),
            sub: Set(session.sub),
            uri: Set(uri.clone()),
            status: Set(LogoutStatus::Pending.as_str().to_string()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_error: Set(None),
            reference: Set(None),
            created_at: Set(now),
            updated_at: Set(Some(now)),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(unavailable)?;
    }
    Ok(())
}

async fn row(
    db: &impl ConnectionTrait,
    model: backchannel_logout::Model,
) -> Result<LogoutRow, StorageError> {
    let client_id = portal::Entity::find_by_id(model.portal_id)
        .one(db)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| corrupt("backchannel_logouts", "portal missing"))?
        .client_id;
    Ok(LogoutRow {
        id: model.id,
        client_id,
        uri: model.uri,
        sid: model.sid,
        sub: model.sub,
        delivery: delivery(
            "backchannel_logouts",
            &model.status,
            model.attempts,
            model.next_attempt_at,
            model.last_error,
            model.reference,
        )?,
    })
}

#[async_trait::async_trait]
impl SessionStore for SeaStore {
    async fn record_session(
        &self,
        sid: &str,
        serial: &str,
        client_id: &str,
        sub: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let certificate = certificate::Entity::find()
            .filter(certificate::COLUMN.serial.eq(serial))
            .one(self.db())
            .await
            .map_err(unavailable)?;
        let portal = portal::Entity::find()
            .filter(portal::COLUMN.client_id.eq(client_id))
            .one(self.db())
            .await
            .map_err(unavailable)?;
        let (Some(certificate), Some(portal)) = (certificate, portal) else {
            return Ok(());
        };
        portal_session::Entity::insert(portal_session::ActiveModel {
            sid: Set(sid.to_string()),
            certificate_id: Set(certificate.id),
            portal_id: Set(portal.id),
            sub: Set(sub.to_string()),
            created_at: Set(at),
            ended_at: Set(None),
        })
        .on_conflict(
            OnConflict::column(portal_session::Column::Sid)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.db())
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn session_ended(&self, sid: &str) -> Result<bool, StorageError> {
        Ok(portal_session::Entity::find_by_id(sid.to_string())
            .one(self.db())
            .await
            .map_err(unavailable)?
            .is_some_and(|session| session.ended_at.is_some()))
    }

    async fn due_logouts(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<LogoutRow>, StorageError> {
        let mut rows = Vec::new();
        for model in
            due_rows::<backchannel_logout::Entity, LogoutStatus>(self.db(), now, limit).await?
        {
            rows.push(row(self.db(), model).await?);
        }
        Ok(rows)
    }

    async fn claim_logout(
        &self,
        row: &LogoutRow,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        claim_row::<backchannel_logout::Entity, _>(
            self.db(),
            backchannel_logout::COLUMN.id.eq(row.id),
            &row.delivery,
            lease_until,
        )
        .await
    }

    async fn record_logout(&self, next: &LogoutRow) -> Result<(), StorageError> {
        set_delivery(
            backchannel_logout::Entity::update_many(),
            &next.delivery,
            self.now(),
        )
        .filter(backchannel_logout::COLUMN.id.eq(next.id))
        .exec(self.db())
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}
