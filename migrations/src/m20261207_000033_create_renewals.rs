use sea_orm_migration::{prelude::*, schema::*};

/// 年审延期: one row per renewal that took effect, the certificate that follows beside the one it
/// replaces, with the fee the renewal is due (none when the certificate renews free) and when
/// staff recorded it paid.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("renewals")
                    .col(big_pk_auto("id"))
                    .col(big_integer_uniq("certificate_id"))
                    .col(big_integer_uniq("previous_certificate_id"))
                    .col(big_integer_null("application_id"))
                    .col(integer_null("fee_yuan"))
                    .col(timestamp_with_time_zone("renewed_at"))
                    .col(timestamp_with_time_zone_null("paid_at"))
                    .col(string_len_null("paid_by", 40))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_renewals_certificate")
                            .from("renewals", "certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_renewals_previous_certificate")
                            .from("renewals", "previous_certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("renewals").to_owned())
            .await
    }
}
