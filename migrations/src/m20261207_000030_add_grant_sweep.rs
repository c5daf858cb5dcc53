use sea_orm_migration::{prelude::*, schema::*};

/// When a grant set was last checked for items whose window ended, so that an expiring grant
/// ends the sub-certificate's sessions once.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("grant_sets")
                    .add_column(timestamp_with_time_zone_null("checked_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("grant_sets")
                    .drop_column("checked_at")
                    .to_owned(),
            )
            .await
    }
}
