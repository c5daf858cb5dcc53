use sea_orm_migration::{prelude::*, schema::*};

/// Links an enrolment ticket to the approved application and the verified person it was made
/// for when the agent downloads the certificate in the mini-program (the download *is* the
/// enrolment), so that the application's certificates can be found and a download on a new
/// phone can revoke the old one.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("enrolment_tickets")
                    .add_column(big_integer_null("application_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("enrolment_tickets")
                    .add_column(big_integer_null("person_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_enrolment_tickets_application")
                    .table("enrolment_tickets")
                    .col("application_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_enrolment_tickets_person")
                    .table("enrolment_tickets")
                    .col("person_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [
            "idx_enrolment_tickets_person",
            "idx_enrolment_tickets_application",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table("enrolment_tickets")
                        .to_owned(),
                )
                .await?;
        }
        for column in ["person_id", "application_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("enrolment_tickets")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
