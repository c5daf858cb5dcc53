//! `certificates`: holder certificates, recorded before signing.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub serial: String,
    pub employer_id: i64,
    pub holder_name: String,
    pub holder_id_number: String,
    pub holder_phone: String,
    pub media_type: String,
    pub role: String,
    pub status: String,
    pub subject: String,
    pub public_key: Vec<u8>,
    pub tbs_der: Vec<u8>,
    pub der: Option<Vec<u8>>,
    pub not_before: DateTimeUtc,
    pub not_after: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub activated_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "employer_id", to = "id")]
    pub employer: HasOne<super::employer::Entity>,
    #[sea_orm(has_one)]
    pub revocation: HasOne<super::revocation::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
