//! `applicants`: application-site accounts, one per proven phone.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applicants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub phone: String,
    pub created_at: DateTimeUtc,
    pub last_login_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
