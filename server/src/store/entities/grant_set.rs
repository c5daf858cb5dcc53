//! `grant_sets`: a sub-certificate's granted items at one portal.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "grant_sets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub certificate_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub portal_id: i64,
    pub version: i64,
    pub items: Json,
    pub granted_by: String,
    pub updated_at: DateTimeUtc,
    pub checked_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
