use auth_types::RubricId;
use sea_orm::entity::prelude::*;

/// The criteria of one version of a rubric, as JSON; never changed once written.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rubric_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub rubric_id: RubricId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub criteria: String,
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
