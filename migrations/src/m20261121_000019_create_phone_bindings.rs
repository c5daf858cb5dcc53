use sea_orm_migration::{prelude::*, schema::*};

/// Which person a mobile number is bound to (one phone, one person; seed 000 FAQ (四)). The
/// primary key makes a second binding of the same number impossible; unbinding deletes the row
/// (audited).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("phone_bindings")
                    .col(string_len("phone", 11).primary_key())
                    .col(big_integer("person_id"))
                    .col(timestamp_with_time_zone("bound_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_phone_bindings_person")
                            .from("phone_bindings", "person_id")
                            .to("persons", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_phone_bindings_person")
                    .table("phone_bindings")
                    .col("person_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("phone_bindings").to_owned())
            .await
    }
}
