//! `seals`: an employer's electronic seal (电子印章), made at approval.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "seals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub application_id: i64,
    pub uscc: String,
    pub employer_name: String,
    pub kind: String,
    pub status: String,
    pub failure_reason: Option<String>,
    pub picture: Option<Vec<u8>>,
    pub width_mm: i32,
    pub height_mm: i32,
    pub version: i32,
    pub seal_der: Option<Vec<u8>>,
    pub certificate_serials: String,
    pub valid_start: Option<DateTimeUtc>,
    pub valid_end: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
