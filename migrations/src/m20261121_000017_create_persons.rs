use sea_orm_migration::{prelude::*, schema::*};

/// Real-name verified people (实名认证): name and resident ID number, confirmed by a face
/// verification the server checked itself (seed 000 §四(一)).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("persons")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("id_number", 18))
                    .col(string_len("name", 64))
                    .col(timestamp_with_time_zone("verified_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("persons").to_owned())
            .await
    }
}
