use sea_orm_migration::{prelude::*, schema::*};

/// Electronic seals (电子印章): one per approved application that asked for one, with its
/// picture and the newest `SESeal` the CA made of it; and one row per seal signature a
/// portal received (its `SES_Signature` and, for a PDF, the stamped file).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("seals")
                    .col(big_pk_auto("id"))
                    .col(big_integer_uniq("application_id"))
                    .col(string_len("uscc", 18))
                    .col(string_len("employer_name", 200))
                    .col(string_len("kind", 16))
                    .col(string_len("status", 16))
                    .col(text_null("failure_reason"))
                    .col(blob_null("picture"))
                    .col(integer("width_mm"))
                    .col(integer("height_mm"))
                    .col(integer("version"))
                    .col(blob_null("seal_der"))
                    .col(text("certificate_serials"))
                    .col(timestamp_with_time_zone_null("valid_start"))
                    .col(timestamp_with_time_zone_null("valid_end"))
                    .col(string_len_null("decided_by", 40))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_seals_application")
                            .from("seals", "application_id")
                            .to("applications", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_seals_uscc")
                    .table("seals")
                    .col("uscc")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("seal_signatures")
                    .col(big_pk_auto("id"))
                    .col(big_integer("seal_id"))
                    .col(integer("seal_version"))
                    .col(string_len("serial", 40))
                    .col(string_len("client_id", 64))
                    .col(string_len_uniq("session_id", 32))
                    .col(text("title"))
                    .col(string_len("data_hash", 64))
                    .col(string_len_null("document_sm3", 64))
                    .col(blob("ses_signature"))
                    .col(blob_null("pdf"))
                    .col(timestamp_with_time_zone("signed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_seal_signatures_seal")
                            .from("seal_signatures", "seal_id")
                            .to("seals", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("seal_signatures").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("seals").to_owned())
            .await
    }
}
