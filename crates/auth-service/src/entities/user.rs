use auth_types::{CompanyId, Role, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UserId,
    pub company_id: CompanyId,
    pub email: String,
    pub password_hash: String,
    pub full_name: String,
    pub department: Option<String>,
    pub role: Role,
    pub is_active: bool,
    /// When the user last set their password (`None`: before this was recorded).
    pub password_changed_at: Option<TimeDateTimeWithTimeZone>,
    /// An admin set the password: the next sign-in must change it.
    pub password_change_required: bool,
    /// A confirmed TOTP factor (kept beside `user_mfa`, for the user record).
    pub mfa_enabled: bool,
    /// When the user's personal data was erased (`POST /users/{id}/erase`).
    pub erased_at: Option<TimeDateTimeWithTimeZone>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
