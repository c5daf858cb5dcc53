//! `uploads`: metadata of applicants' files (bytes live in the file store).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub applicant_id: i64,
    pub purpose: String,
    pub content_type: String,
    pub size: i64,
    pub sm3: String,
    pub recognised: Option<String>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
