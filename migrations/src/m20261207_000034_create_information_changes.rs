use sea_orm_migration::{prelude::*, schema::*};

/// Information changes (信息变更, seed 000 §五(二)): an approved application's employer address
/// and legal representative changed by its agent and reviewed by staff. One row per change with
/// the enterprise step before and after (JSON documents as the application keeps them), the new
/// licence, and the review; the employer's name and USCC are copied for the review queue, as
/// they never change this way.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("information_changes")
                    .col(big_pk_auto("id"))
                    .col(big_integer("application_id"))
                    .col(big_integer("applicant_id"))
                    .col(string_len("uscc", 18))
                    .col(text("unit_name"))
                    .col(string_len("status", 16))
                    .col(json("before"))
                    .col(json("after"))
                    .col(string_len_null("licence_upload_id", 32))
                    .col(text_null("reject_reason"))
                    .col(timestamp_with_time_zone("submitted_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(string_null("decided_by"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_information_changes_application")
                            .from("information_changes", "application_id")
                            .to("applications", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_information_changes_application")
                    .table("information_changes")
                    .col("application_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_information_changes_queue")
                    .table("information_changes")
                    .col("status")
                    .col("submitted_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("information_changes").to_owned())
            .await
    }
}
