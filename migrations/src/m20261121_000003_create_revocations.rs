use sea_orm_migration::{prelude::*, schema::*};

/// One row per revoked certificate: what the CRL and OCSP answers are built from.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("revocations")
                    .col(big_integer("certificate_id").primary_key())
                    .col(string_len_uniq("serial", 40))
                    .col(string_len("reason", 32))
                    .col(timestamp_with_time_zone("revoked_at"))
                    .col(string("revoked_by"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_revocations_certificate")
                            .from("revocations", "certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("revocations").to_owned())
            .await
    }
}
