use sea_orm_migration::{prelude::*, schema::*};

/// The agent's ID number of step 2 as a column, so the mini-program finds the approved
/// applications of a verified person without reading every application's document.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("applications")
                    .add_column(string_len_null("agent_id_number", 18))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_applications_agent_id_number")
                    .table("applications")
                    .col("agent_id_number")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_applications_agent_id_number")
                    .table("applications")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("applications")
                    .drop_column("agent_id_number")
                    .to_owned(),
            )
            .await
    }
}
