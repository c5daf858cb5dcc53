//! `persons`: real-name verified people.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "persons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub id_number: String,
    pub name: String,
    pub verified_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub default_certificate_id: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
