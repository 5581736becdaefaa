use crate::domain::scorecard::Recommendation;
use auth_types::{CandidateId, CompanyId, InterviewId, RubricId, ScorecardId, UserId};
use sea_orm::entity::prelude::*;

/// One revision of one evaluator's scorecard for one interview; never changed once
/// written (an amendment is the next revision).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scorecards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ScorecardId,
    pub company_id: CompanyId,
    pub interview_id: InterviewId,
    pub candidate_id: CandidateId,
    pub evaluator_id: UserId,
    pub rubric_id: RubricId,
    pub rubric_version: i32,
    pub ratings: String,
    pub recommendation: Recommendation,
    pub notes: Option<String>,
    pub revision: i32,
    pub amends: Option<ScorecardId>,
    pub submitted_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
