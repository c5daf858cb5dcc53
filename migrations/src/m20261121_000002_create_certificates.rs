use sea_orm_migration::{prelude::*, schema::*};

/// Holder certificates, mobile and physical. A row exists (status `pending`, with the
/// to-be-signed bytes) before the CA signs, so no signed certificate is ever unknown here.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("certificates")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("serial", 40))
                    .col(big_integer("unit_id"))
                    .col(string("holder_name"))
                    .col(string_len("holder_id_number", 18))
                    .col(string_len("holder_phone", 11))
                    .col(string_len("media_type", 16))
                    .col(string_len("role", 16))
                    .col(string_len("status", 16))
                    .col(text("subject"))
                    .col(blob("public_key"))
                    .col(blob("tbs_der"))
                    .col(blob_null("der"))
                    .col(timestamp_with_time_zone("not_before"))
                    .col(timestamp_with_time_zone("not_after"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("activated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_certificates_unit")
                            .from("certificates", "unit_id")
                            .to("units", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_certificates_unit")
                    .table("certificates")
                    .col("unit_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("certificates").to_owned())
            .await
    }
}
