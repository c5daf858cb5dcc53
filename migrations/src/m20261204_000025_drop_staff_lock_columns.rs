use sea_orm_migration::{prelude::*, schema::*};

/// Staff sign-in tries and locks move to the kv store, where an attempt is reserved before its
/// password is checked and names without an account are counted too.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for column in ["failed_logins", "locked_until"] {
            manager
                .alter_table(Table::alter().table("staff").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("staff")
                    .add_column(integer("failed_logins").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("staff")
                    .add_column(timestamp_with_time_zone_null("locked_until"))
                    .to_owned(),
            )
            .await
    }
}
