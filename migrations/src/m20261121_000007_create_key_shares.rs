use sea_orm_migration::{prelude::*, schema::*};

/// The server's half of each split mobile key (DESIGN.md §5): the phone's public share P1 and
/// the server share d2, both sealed under the master key (P1 is what a PIN guess is tested
/// against, so a database copy alone must not reveal it), the PIN failure counter and the lock. One row per
/// mobile certificate, written in the same transaction as the pending certificate.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("key_shares")
                    .col(big_integer("certificate_id").primary_key())
                    .col(blob("sealed_phone_share"))
                    .col(blob("sealed_server_share"))
                    .col(string_len_null("device_token_hash", 64))
                    .col(integer("failed_pin_attempts").default(0))
                    .col(timestamp_with_time_zone_null("locked_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_key_shares_certificate")
                            .from("key_shares", "certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("key_shares").to_owned())
            .await
    }
}
