use sea_orm_migration::{prelude::*, schema::*};

/// Staff accounts (reviewers, operators): Argon2id password hashes, a failure counter and a
/// temporary lock after repeated failures.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("staff")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("username", 64))
                    .col(string("display_name"))
                    .col(text("password_hash"))
                    .col(integer("failed_logins").default(0))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("staff").to_owned())
            .await
    }
}
