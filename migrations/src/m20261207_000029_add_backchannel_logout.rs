use sea_orm_migration::{prelude::*, schema::*};

/// OpenID Connect Back-Channel Logout: a portal may register a `backchannel_logout_uri`; mcert
/// remembers each portal session (`sid`) a certificate has, ends them when the certificate is
/// revoked or an item is withdrawn from it, and queues a logout token for each portal that
/// registered an endpoint (an outbox on the shared delivery columns).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("portals")
                    .add_column(text_null("backchannel_logout_uri"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("portal_sessions")
                    .col(string_len("sid", 64).primary_key())
                    .col(big_integer("certificate_id"))
                    .col(big_integer("portal_id"))
                    .col(string("sub"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("ended_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_portal_sessions_certificate")
                            .from("portal_sessions", "certificate_id")
                            .to("certificates", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_portal_sessions_portal")
                            .from("portal_sessions", "portal_id")
                            .to("portals", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_portal_sessions_certificate")
                    .table("portal_sessions")
                    .col("certificate_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("backchannel_logouts")
                    .col(big_pk_auto("id"))
                    .col(big_integer("portal_id"))
                    .col(string_len("sid", 64))
                    .col(string("sub"))
                    .col(text("uri"))
                    .col(string_len("status", 16))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(text_null("reference"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_backchannel_logouts_due")
                    .table("backchannel_logouts")
                    .col("status")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["backchannel_logouts", "portal_sessions"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("portals")
                    .drop_column("backchannel_logout_uri")
                    .to_owned(),
            )
            .await
    }
}
