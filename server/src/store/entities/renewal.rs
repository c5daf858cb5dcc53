//! `renewals`: one per renewal (年审延期) that took effect.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "renewals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub certificate_id: i64,
    #[sea_orm(unique)]
    pub previous_certificate_id: i64,
    pub application_id: Option<i64>,
    pub fee_yuan: Option<i32>,
    pub renewed_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub paid_by: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
