//! `information_changes`: 信息变更 of approved applications and their review.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "information_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub application_id: i64,
    pub applicant_id: i64,
    pub uscc: String,
    pub unit_name: String,
    pub status: String,
    pub before: Json,
    pub after: Json,
    pub licence_upload_id: Option<String>,
    pub reject_reason: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
