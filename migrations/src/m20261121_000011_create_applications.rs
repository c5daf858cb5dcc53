use sea_orm_migration::{prelude::*, schema::*};

/// Certificate applications (seed 000 §三): one row per application, the wizard's steps as JSON
/// documents validated by the server, and the review outcome. Every change is one conditional
/// UPDATE on `status`, so a step is either saved whole or not at all.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("applications")
                    .col(big_pk_auto("id"))
                    .col(big_integer("applicant_id"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("agreement_shown_at"))
                    .col(timestamp_with_time_zone_null("agreement_accepted_at"))
                    .col(string_len_null("region_code", 6))
                    .col(string_len_null("uscc", 18))
                    .col(boolean_null("billable"))
                    .col(integer_null("fee_yuan"))
                    .col(json_null("enterprise"))
                    .col(json_null("agent"))
                    .col(json_null("ca"))
                    .col(text_null("reject_reason"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("submitted_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(string_null("decided_by"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_applications_applicant")
                            .from("applications", "applicant_id")
                            .to("applicants", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_applications_applicant")
                    .table("applications")
                    .col("applicant_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_applications_queue")
                    .table("applications")
                    .col("status")
                    .col("submitted_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("applications").to_owned())
            .await
    }
}
