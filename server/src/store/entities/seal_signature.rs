//! `seal_signatures`: a seal signature a portal received.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "seal_signatures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub seal_id: i64,
    pub seal_version: i32,
    pub serial: String,
    pub client_id: String,
    #[sea_orm(unique)]
    pub session_id: String,
    pub title: String,
    pub data_hash: String,
    pub document_sm3: Option<String>,
    pub ses_signature: Vec<u8>,
    pub pdf: Option<Vec<u8>>,
    pub signed_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
