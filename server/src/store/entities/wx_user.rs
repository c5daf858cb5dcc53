//! `wx_users`: WeChat users of the mini-program.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wx_users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub openid: String,
    pub unionid: Option<String>,
    pub person_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub last_login_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
