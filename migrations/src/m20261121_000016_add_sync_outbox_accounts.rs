use sea_orm_migration::{prelude::*, schema::*};

/// The employment-platform accounts named in a "several accounts for this USCC" answer, kept on
/// the blocked outbox row so staff can choose which one the others are merged into.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_outbox")
                    .add_column(json_null("accounts"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("sync_outbox")
                    .drop_column("accounts")
                    .to_owned(),
            )
            .await
    }
}
