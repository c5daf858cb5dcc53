use sea_orm_migration::{prelude::*, schema::*};

/// WeChat users of the mini-program, known by their `openid`; linked to a person once they pass
/// real-name verification.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("wx_users")
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("openid", 64))
                    .col(string_len_null("unionid", 64))
                    .col(big_integer_null("person_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_login_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_wx_users_person")
                            .from("wx_users", "person_id")
                            .to("persons", "id"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("wx_users").to_owned())
            .await
    }
}
