use sea_orm_migration::{prelude::*, schema::*};

/// Employment portals that log employers in with mcert (OIDC clients, DESIGN.md §7): registered
/// by staff, with their origins, redirect URIs and allowed scopes; a confidential portal's
/// secret is stored as its SM3 digest only.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("portals")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("client_id", 64))
                    .col(string("name"))
                    .col(string_len("kind", 16))
                    .col(string_null("secret_hash"))
                    .col(json("origins"))
                    .col(json("redirect_uris"))
                    .col(json("post_logout_redirect_uris"))
                    .col(json("scopes"))
                    .col(json("items"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("portals").to_owned())
            .await
    }
}
