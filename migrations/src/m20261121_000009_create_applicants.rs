use sea_orm_migration::{prelude::*, schema::*};

/// Applicant accounts of the application site: a person known by the mobile phone they proved
/// with an SMS code (seed 000 §三: register with phone, slider and SMS code).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("applicants")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("phone", 11))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_login_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("applicants").to_owned())
            .await
    }
}
