use sea_orm_migration::{prelude::*, schema::*};

/// Staff roles: `reviewer` (review applications, information changes and captured seals) or
/// `administrator` (everything). Accounts made before roles keep every power they had.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("staff")
                    .add_column(string_len("role", 16).default("administrator"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("staff").drop_column("role").to_owned())
            .await
    }
}
