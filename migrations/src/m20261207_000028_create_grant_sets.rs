use sea_orm_migration::{prelude::*, schema::*};

/// 事项授权: a sub-certificate's granted business items at one portal, replaced whole by each
/// save of its primary holder and versioned (the version is the `grant_id` portals see).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("grant_sets")
                    .col(big_integer("certificate_id"))
                    .col(big_integer("portal_id"))
                    .col(big_integer("version"))
                    .col(json("items"))
                    .col(string_len("granted_by", 40))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("certificate_id").col("portal_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_grant_sets_certificate")
                            .from("grant_sets", "certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_grant_sets_portal")
                            .from("grant_sets", "portal_id")
                            .to("portals", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("grant_sets").to_owned())
            .await
    }
}
