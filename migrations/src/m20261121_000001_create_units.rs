use sea_orm_migration::{prelude::*, schema::*};

/// Employers (用人单位): one row per unified social credit code.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("units")
                    .col(big_pk_auto("id"))
                    .col(char_len_uniq("uscc", 18))
                    .col(string("name"))
                    .col(text_null("address"))
                    .col(string_len_null("region_code", 6))
                    .col(string_null("legal_rep_name"))
                    .col(string_len_null("legal_rep_id_number", 18))
                    .col(string_null("registration_authority"))
                    .col(integer_null("employee_count"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("units").to_owned())
            .await
    }
}
