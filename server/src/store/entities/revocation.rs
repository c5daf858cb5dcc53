//! `revocations`: one per revoked certificate.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revocations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub certificate_id: i64,
    #[sea_orm(unique)]
    pub serial: String,
    pub reason: String,
    pub cause: Option<String>,
    pub revoked_at: DateTimeUtc,
    pub revoked_by: String,
    #[sea_orm(belongs_to, from = "certificate_id", to = "id")]
    pub certificate: HasOne<super::certificate::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
