use sea_orm_migration::{prelude::*, schema::*};

/// The expiry reminders sent for a certificate (30 and 7 days before it expires), one row each,
/// so that each is sent once whatever the number of instances sweeping.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("expiry_reminders")
                    .col(big_integer("certificate_id"))
                    .col(integer("days_before"))
                    .col(timestamp_with_time_zone("sent_at"))
                    .primary_key(Index::create().col("certificate_id").col("days_before"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_expiry_reminders_certificate")
                            .from("expiry_reminders", "certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("expiry_reminders").to_owned())
            .await
    }
}
