//! `applications`: certificate applications and their wizard steps.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub applicant_id: i64,
    pub status: String,
    pub agreement_shown_at: DateTimeUtc,
    pub agreement_accepted_at: Option<DateTimeUtc>,
    pub region_code: Option<String>,
    pub uscc: Option<String>,
    pub agent_id_number: Option<String>,
    pub billable: Option<bool>,
    pub fee_yuan: Option<i32>,
    pub enterprise: Option<Json>,
    pub agent: Option<Json>,
    pub ca: Option<Json>,
    pub reject_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub submitted_at: Option<DateTimeUtc>,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
