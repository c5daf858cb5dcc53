//! `enrolment_tickets`: one-time permissions to enrol a mobile key (hash only).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolment_tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ticket_hash: String,
    pub uscc: String,
    pub unit_name: String,
    pub holder_name: String,
    pub holder_id_number: String,
    pub holder_phone: String,
    pub status: String,
    pub certificate_id: Option<i64>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub application_id: Option<i64>,
    pub person_id: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
