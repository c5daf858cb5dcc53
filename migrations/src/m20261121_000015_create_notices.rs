use sea_orm_migration::{prelude::*, schema::*};

/// The outbox of text messages about applications (approval, rejection, merge needed): written
/// in the transaction of the change they announce, delivered by a worker with retries, so a
/// decision is never recorded without its notice or announced without being recorded.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("notices")
                    .col(big_pk_auto("id"))
                    .col(string_len("phone", 20))
                    .col(string_len("subject", 64))
                    .col(json("notice"))
                    .col(string_len("status", 16))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notices_due")
                    .table("notices")
                    .col("status")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notices_subject")
                    .table("notices")
                    .col("subject")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("notices").to_owned())
            .await
    }
}
