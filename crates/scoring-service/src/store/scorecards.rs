//! Scorecard revisions: appended, never changed.

use crate::domain::scorecard::Scores;
use crate::entities::scorecard;
use auth_types::{CandidateId, CompanyId, InterviewId, RubricId, ScorecardId, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

pub struct NewRevision<'a> {
    pub company: CompanyId,
    pub interview_id: InterviewId,
    pub candidate_id: CandidateId,
    pub evaluator_id: UserId,
    pub rubric_id: RubricId,
    pub rubric_version: i32,
    pub scores: &'a Scores,
    pub revision: i32,
    pub amends: Option<ScorecardId>,
}

pub fn ratings_of(model: &scorecard::Model) -> Result<BTreeMap<String, u8>, DbErr> {
    serde_json::from_str(&model.ratings).map_err(|e| DbErr::Custom(format!("stored ratings: {e}")))
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn insert(
    db: &impl ConnectionTrait,
    r: NewRevision<'_>,
) -> Result<scorecard::Model, DbErr> {
    let ratings = serde_json::to_string(&r.scores.ratings)
        .map_err(|e| DbErr::Custom(format!("encoding ratings: {e}")))?;
    scorecard::ActiveModel {
        id: Set(ScorecardId::new()),
        company_id: Set(r.company),
        interview_id: Set(r.interview_id),
        candidate_id: Set(r.candidate_id),
        evaluator_id: Set(r.evaluator_id),
        rubric_id: Set(r.rubric_id),
        rubric_version: Set(r.rubric_version),
        ratings: Set(ratings),
        recommendation: Set(r.scores.recommendation),
        notes: Set(r.scores.notes.clone()),
        revision: Set(r.revision),
        amends: Set(r.amends),
        submitted_at: Set(OffsetDateTime::now_utc()),
    }
    .insert(db)
    .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: ScorecardId,
) -> Result<Option<scorecard::Model>, DbErr> {
    scorecard::Entity::find_by_id(id)
        .filter(scorecard::Column::CompanyId.eq(company))
        .one(db)
        .await
}

/// The newest revision of one evaluator's scorecard for one interview.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn latest(
    db: &impl ConnectionTrait,
    company: CompanyId,
    interview: InterviewId,
    evaluator: UserId,
) -> Result<Option<scorecard::Model>, DbErr> {
    scorecard::Entity::find()
        .filter(scorecard::Column::CompanyId.eq(company))
        .filter(scorecard::Column::InterviewId.eq(interview))
        .filter(scorecard::Column::EvaluatorId.eq(evaluator))
        .order_by_desc(scorecard::Column::Revision)
        .one(db)
        .await
}

/// Every revision for these interviews, oldest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn of_interviews(
    db: &impl ConnectionTrait,
    company: CompanyId,
    interviews: &[InterviewId],
) -> Result<Vec<scorecard::Model>, DbErr> {
    scorecard::Entity::find()
        .filter(scorecard::Column::CompanyId.eq(company))
        .filter(scorecard::Column::InterviewId.is_in(interviews.iter().copied()))
        .order_by_asc(scorecard::Column::SubmittedAt)
        .order_by_asc(scorecard::Column::Revision)
        .all(db)
        .await
}

/// Each evaluator's latest revision per interview.
pub fn latest_only(all: Vec<scorecard::Model>) -> Vec<scorecard::Model> {
    let mut latest: HashMap<(InterviewId, UserId), scorecard::Model> = HashMap::new();
    for s in all {
        let key = (s.interview_id, s.evaluator_id);
        if latest
            .get(&key)
            .is_none_or(|have| have.revision < s.revision)
        {
            latest.insert(key, s);
        }
    }
    let mut out: Vec<scorecard::Model> = latest.into_values().collect();
    out.sort_by_key(|s| (s.submitted_at, s.id));
    out
}
