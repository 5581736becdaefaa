use auth_types::UserId;
use sea_orm::entity::prelude::*;

/// A user's TOTP factor: the secret sealed under a key derived from `SECRET_KEY`,
/// confirmed once a code from it was entered, and the last time step accepted (a code
/// of that step or an earlier one is refused: no replay, on any replica).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_mfa")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    pub secret_sealed: String,
    pub confirmed_at: Option<TimeDateTimeWithTimeZone>,
    pub last_used_step: Option<i64>,
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
