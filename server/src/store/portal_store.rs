//! `PortalStore` on sea-orm.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    sea_query::Expr,
};

use super::{
    SeaStore,
    entities::portal,
    txn::{append_in, commit, corrupt, unavailable},
};
use crate::{
    audit::AuditDraft,
    failure::StorageError,
    portals::{BusinessItem, ClientKind, NewPortal, Portal, PortalStore, items},
};

fn strings(value: serde_json::Value, column: &'static str) -> Result<Vec<String>, StorageError> {
    serde_json::from_value(value).map_err(|_| corrupt("portals", column))
}

fn record(row: portal::Model) -> Result<Portal, StorageError> {
    Ok(Portal {
        id: row.id,
        kind: ClientKind::parse(&row.kind).ok_or_else(|| corrupt("portals", "kind"))?,
        client_id: row.client_id,
        name: row.name,
        secret_hash: row.secret_hash,
        origins: strings(row.origins, "origins")?,
        redirect_uris: strings(row.redirect_uris, "redirect_uris")?,
        post_logout_redirect_uris: strings(
            row.post_logout_redirect_uris,
            "post_logout_redirect_uris",
        )?,
        scopes: strings(row.scopes, "scopes")?,
        items: items::from_stored(row.items).map_err(|_| corrupt("portals", "items"))?,
        backchannel_logout_uri: row.backchannel_logout_uri,
        created_at: row.created_at,
    })
}

fn active(portal: NewPortal) -> portal::ActiveModel {
    let draft = portal.draft;
    portal::ActiveModel {
        client_id: Set(portal.client_id),
        name: Set(draft.name),
        kind: Set(draft.kind.as_str().to_string()),
        secret_hash: Set(portal.secret_hash),
        origins: Set(serde_json::json!(draft.origins)),
        redirect_uris: Set(serde_json::json!(draft.redirect_uris)),
        post_logout_redirect_uris: Set(serde_json::json!(draft.post_logout_redirect_uris)),
        scopes: Set(serde_json::json!(draft.scopes)),
        items: Set(serde_json::json!(draft.items)),
        backchannel_logout_uri: Set(draft.backchannel_logout_uri),
        ..Default::default()
    }
}

#[async_trait::async_trait]
impl PortalStore for SeaStore {
    async fn insert_portal(
        &self,
        portal: NewPortal,
        audit: AuditDraft,
    ) -> Result<Portal, StorageError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        let mut row = active(portal);
        row.created_at = Set(self.now());
        let row = row.insert(&txn).await.map_err(unavailable)?;
        append_in(&txn, &audit, self.now()).await?;
        commit(txn).await?;
        record(row)
    }

    async fn portal(&self, client_id: &str) -> Result<Option<Portal>, StorageError> {
        portal::Entity::find()
            .filter(portal::COLUMN.client_id.eq(client_id))
            .one(self.db())
            .await
            .map_err(unavailable)?
            .map(record)
            .transpose()
    }

    async fn portals(&self) -> Result<Vec<Portal>, StorageError> {
        portal::Entity::find()
            .order_by_asc(portal::COLUMN.id)
            .all(self.db())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn update_portal(
        &self,
        client_id: &str,
        portal: NewPortal,
        audit: AuditDraft,
    ) -> Result<Portal, StorageError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        let existing = portal::Entity::find()
            .filter(portal::COLUMN.client_id.eq(client_id))
            .one(&txn)
            .await
            .map_err(unavailable)?
            .ok_or(StorageError::Conflict { what: "portal" })?;
        let mut row = active(portal);
        row.id = Set(existing.id);
        row.created_at = Set(existing.created_at);
        let row = row.update(&txn).await.map_err(unavailable)?;
        append_in(&txn, &audit, self.now()).await?;
        commit(txn).await?;
        record(row)
    }

    async fn replace_items(
        &self,
        client_id: &str,
        items: &[BusinessItem],
        audit: AuditDraft,
    ) -> Result<Option<Portal>, StorageError> {
        let txn = self.db().begin().await.map_err(unavailable)?;
        let changed = portal::Entity::update_many()
            .col_expr(portal::Column::Items, Expr::value(serde_json::json!(items)))
            .filter(portal::COLUMN.client_id.eq(client_id))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if changed.rows_affected != 1 {
            return Ok(None);
        }
        append_in(&txn, &audit, self.now()).await?;
        let row = portal::Entity::find()
            .filter(portal::COLUMN.client_id.eq(client_id))
            .one(&txn)
            .await
            .map_err(unavailable)?
            .ok_or(StorageError::Conflict { what: "portal" })?;
        commit(txn).await?;
        record(row).map(Some)
    }
}
