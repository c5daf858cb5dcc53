use sea_orm_migration::{prelude::*, schema::*};

/// Notices get the delivery columns the two platform outboxes have (`reference`, `updated_at`),
/// so that one outbox mechanism finds, claims and records the rows of all three.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table("notices")
                    .add_column(text_null("reference"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("notices")
                    .add_column(timestamp_with_time_zone_null("updated_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["reference", "updated_at"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("notices")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
