use sea_orm_migration::{prelude::*, schema::*};

/// What mcert knows about an employer beyond its certificates: the registered employee count
/// that decides its free-certificate quota (from the employment platform, or entered by staff).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("employers")
                    .col(string_len("uscc", 18).primary_key())
                    .col(integer("employee_count"))
                    .col(string_len("employee_count_source", 16))
                    .col(string("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("employers").to_owned())
            .await
    }
}
