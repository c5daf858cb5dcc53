//! `sync_outbox`: pushes to the employment platform.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub application_id: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub reference: Option<String>,
    pub payload: Json,
    pub accounts: Option<Json>,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
