use sea_orm_migration::{prelude::*, schema::*};

/// The cause a person chose when revoking a certificate (seed 000 §五(一): 证书使用人变更,
/// 手机号变更, 单位名称变更, …), beside its RFC 5280 reason; none for a supersession.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("revocations")
                    .add_column(string_null("cause"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("revocations")
                    .drop_column("cause")
                    .to_owned(),
            )
            .await
    }
}
