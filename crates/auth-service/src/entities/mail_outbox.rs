use sea_orm::entity::prelude::*;

/// A mail waiting to be sent; deleted once the SMTP server took it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: TimeDateTimeWithTimeZone,
    pub attempts: i32,
    pub next_attempt_at: TimeDateTimeWithTimeZone,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
