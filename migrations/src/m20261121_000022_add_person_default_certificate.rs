use sea_orm_migration::{prelude::*, schema::*};

/// The certificate a person chose as default (默认证书) in the mini-program.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("persons")
                    .add_column(big_integer_null("default_certificate_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("persons")
                    .drop_column("default_certificate_id")
                    .to_owned(),
            )
            .await
    }
}
