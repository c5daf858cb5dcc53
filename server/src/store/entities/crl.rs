//! `crls`: issued CRLs by number.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "crls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub number: i64,
    pub this_update: DateTimeUtc,
    pub next_update: DateTimeUtc,
    pub der: Vec<u8>,
}

impl ActiveModelBehavior for ActiveModel {}
