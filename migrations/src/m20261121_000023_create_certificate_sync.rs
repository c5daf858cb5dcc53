use sea_orm_migration::{prelude::*, schema::*};

/// The outbox of certificate events for the employment platform (DESIGN.md §10): a row when a
/// certificate downloaded for an approved application is activated, and one when it is revoked,
/// each written in the transaction of the change it reports and worked off like `sync_outbox`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("certificate_sync")
                    .col(big_pk_auto("id"))
                    .col(big_integer("certificate_id"))
                    .col(big_integer("application_id"))
                    .col(string_len("event", 16))
                    .col(string_len("status", 16))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(string_null("reference"))
                    .col(json("payload"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_certificate_sync_certificate")
                            .from("certificate_sync", "certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_certificate_sync_application")
                            .from("certificate_sync", "application_id")
                            .to("applications", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_certificate_sync_due")
                    .table("certificate_sync")
                    .col("status")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_certificate_sync_application")
                    .table("certificate_sync")
                    .col("application_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("certificate_sync").to_owned())
            .await
    }
}
