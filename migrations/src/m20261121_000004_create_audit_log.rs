use sea_orm_migration::{prelude::*, schema::*};

/// Append-only audit log. `seq` is assigned by the writer (last + 1), so two concurrent
/// appends collide on the primary key instead of forking the hash chain.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .col(big_integer("seq").primary_key())
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(string("actor"))
                    .col(string_len("action", 64))
                    .col(string("subject"))
                    .col(text("detail"))
                    .col(char_len("prev_hash", 64))
                    .col(char_len("hash", 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_log").to_owned())
            .await
    }
}
