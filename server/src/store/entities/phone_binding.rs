//! `phone_bindings`: which person a mobile number is bound to.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "phone_bindings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub phone: String,
    pub person_id: i64,
    pub bound_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
