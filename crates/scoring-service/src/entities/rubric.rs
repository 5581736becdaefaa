use auth_types::{CompanyId, RubricId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rubrics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: RubricId,
    pub company_id: CompanyId,
    pub name: String,
    pub position: Option<String>,
    pub current_version: i32,
    pub created_by: UserId,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
