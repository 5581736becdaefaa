use crate::domain::interview::{InterviewKind, InterviewStatus};
use auth_types::{CandidateId, CompanyId, InterviewId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InterviewId,
    pub company_id: CompanyId,
    pub candidate_id: CandidateId,
    pub title: String,
    pub kind: InterviewKind,
    pub scheduled_at: TimeDateTimeWithTimeZone,
    pub ends_at: TimeDateTimeWithTimeZone,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub meeting_url: Option<String>,
    pub status: InterviewStatus,
    /// Bumped whenever the time or place changes (iCalendar SEQUENCE).
    pub sequence: i32,
    pub created_by: UserId,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::participant::Entity")]
    Participants,
}

impl Related<super::participant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participants.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
