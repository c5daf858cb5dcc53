//! `key_shares`: the server's half of each split mobile key, with the PIN failure counter.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_shares")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub certificate_id: i64,
    pub sealed_phone_share: Vec<u8>,
    pub sealed_server_share: Vec<u8>,
    pub device_token_hash: Option<String>,
    pub failed_pin_attempts: i32,
    pub locked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
