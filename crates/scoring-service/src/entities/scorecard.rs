use sea_orm::entity::prelude::*;

/// One revision of one evaluator's scorecard for one interview; never changed once
/// written (an amendment is the next revision).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scorecards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: Uuid,
    pub interview_id: Uuid,
    pub candidate_id: Uuid,
    pub evaluator_id: Uuid,
    pub rubric_id: Uuid,
    pub rubric_version: i32,
    pub ratings: String,
    pub recommendation: String,
    pub notes: Option<String>,
    pub revision: i32,
    pub amends: Option<Uuid>,
    pub submitted_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
