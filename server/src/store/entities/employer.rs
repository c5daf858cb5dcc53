//! `employers`: one row per employer (USCC), its details and employee count.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "employers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uscc: String,
    pub name: String,
    pub address: Option<String>,
    pub region_code: Option<String>,
    pub legal_rep_name: Option<String>,
    pub legal_rep_id_number: Option<String>,
    pub registration_authority: Option<String>,
    pub contact_phone: Option<String>,
    pub employee_count: Option<i32>,
    pub employee_count_source: Option<String>,
    pub employee_count_updated_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub certificates: HasMany<super::certificate::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
