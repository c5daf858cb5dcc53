use sea_orm_migration::{prelude::*, schema::*};

/// Files applicants upload (licence, ID card sides, the stamped application form): metadata
/// here, bytes in the file store under their SM3 hash.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("uploads")
                    .col(string_len("id", 32).primary_key())
                    .col(big_integer("applicant_id"))
                    .col(string_len("purpose", 32))
                    .col(string_len("content_type", 32))
                    .col(big_integer("size"))
                    .col(string_len("sm3", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_uploads_applicant")
                            .from("uploads", "applicant_id")
                            .to("applicants", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("uploads").to_owned())
            .await
    }
}
