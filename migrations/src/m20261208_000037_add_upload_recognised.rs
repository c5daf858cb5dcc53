use sea_orm_migration::{prelude::*, schema::*};

/// What OCR read from an upload (a licence or an ID card front), kept so that reviewers see it
/// beside what the applicant typed.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("uploads")
                    .add_column(text_null("recognised"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("uploads")
                    .drop_column("recognised")
                    .to_owned(),
            )
            .await
    }
}
