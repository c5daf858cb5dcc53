use sea_orm_migration::{prelude::*, schema::*};

/// Issued CRLs; `number` is the RFC 5280 cRLNumber, so it only grows.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("crls")
                    .col(big_integer("number").primary_key())
                    .col(timestamp_with_time_zone("this_update"))
                    .col(timestamp_with_time_zone("next_update"))
                    .col(blob("der"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("crls").to_owned())
            .await
    }
}
