//! `portals`: employment portals registered as OIDC clients.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "portals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub client_id: String,
    pub name: String,
    pub kind: String,
    pub secret_hash: Option<String>,
    pub origins: Json,
    pub redirect_uris: Json,
    pub post_logout_redirect_uris: Json,
    pub scopes: Json,
    pub items: Json,
    pub backchannel_logout_uri: Option<String>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
