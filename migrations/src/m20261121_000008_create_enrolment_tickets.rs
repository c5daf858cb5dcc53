use sea_orm_migration::{prelude::*, schema::*};

/// One-time permissions to enrol a mobile key for a named holder of an employer. Only the SM3
/// hash of the ticket is kept. `certificate_id` points at the latest enrolment attempt; a retry
/// abandons an unfinished earlier attempt in the same transaction.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("enrolment_tickets")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("ticket_hash", 64))
                    .col(string_len("uscc", 18))
                    .col(string("unit_name"))
                    .col(string("holder_name"))
                    .col(string_len("holder_id_number", 18))
                    .col(string_len("holder_phone", 11))
                    .col(string_len("status", 16))
                    .col(big_integer_null("certificate_id"))
                    .col(string("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("completed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_enrolment_tickets_certificate")
                            .from("enrolment_tickets", "certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("enrolment_tickets").to_owned())
            .await
    }
}
