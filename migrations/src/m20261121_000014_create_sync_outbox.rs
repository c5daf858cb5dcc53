use sea_orm_migration::{prelude::*, schema::*};

/// The outbox of pushes to the employment platform (DESIGN.md §10): one row per approved
/// application, written in the approval's transaction, worked off with retries and backoff.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sync_outbox")
                    .col(big_integer("application_id").primary_key())
                    .col(string_len("status", 16))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(string_null("reference"))
                    .col(json("payload"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sync_outbox_application")
                            .from("sync_outbox", "application_id")
                            .to("applications", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_outbox_due")
                    .table("sync_outbox")
                    .col("status")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sync_outbox").to_owned())
            .await
    }
}
