use sea_orm_migration::{prelude::*, schema::*};

/// The CA's own keys (root, issuing CA, token signing), private halves sealed under the
/// master key. Kept in the database so every instance of a scaled-out deployment shares them.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("authority_keys")
                    .col(string_len("key_id", 64).primary_key())
                    .col(string_len("purpose", 16))
                    .col(string_len("algorithm", 16))
                    .col(blob("public_key"))
                    .col(blob("sealed_private_key"))
                    .col(blob_null("certificate_der"))
                    .col(boolean("current"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_authority_keys_purpose")
                    .table("authority_keys")
                    .col("purpose")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("authority_keys").to_owned())
            .await
    }
}
