use auth_types::{CompanyId, SessionId, UserId};
use sea_orm::entity::prelude::*;

/// One login: the family of refresh tokens rotated from it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SessionId,
    pub user_id: UserId,
    pub company_id: CompanyId,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub last_used_at: TimeDateTimeWithTimeZone,
    pub expires_at: TimeDateTimeWithTimeZone,
    pub revoked_at: Option<TimeDateTimeWithTimeZone>,
    pub revoked_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
