//! Scorecard revisions: appended, never changed.

use crate::domain::scorecard::Scores;
use crate::entities::scorecard;
use auth_types::CompanyId;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

pub struct NewRevision<'a> {
    pub company: CompanyId,
    pub interview_id: Uuid,
    pub candidate_id: Uuid,
    pub evaluator_id: Uuid,
    pub rubric_id: Uuid,
    pub rubric_version: i32,
    pub scores: &'a Scores,
    pub revision: i32,
    pub amends: Option<Uuid>,
}

pub fn ratings_of(model: &scorecard::Model) -> Result<BTreeMap<String, u8>, DbErr> {
    serde_json::from_str(&model.ratings).map_err(|e| DbErr::Custom(format!("stored ratings: {e}")))
}

pub async fn insert(
    db: &impl ConnectionTrait,
    r: NewRevision<'_>,
) -> Result<scorecard::Model, DbErr> {
    let ratings = serde_json::to_string(&r.scores.ratings)
        .map_err(|e| DbErr::Custom(format!("encoding ratings: {e}")))?;
    scorecard::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(r.company.into()),
        interview_id: Set(r.interview_id),
        candidate_id: Set(r.candidate_id),
        evaluator_id: Set(r.evaluator_id),
        rubric_id: Set(r.rubric_id),
        rubric_version: Set(r.rubric_version),
        ratings: Set(ratings),
        recommendation: Set(r.scores.recommendation.as_str().to_owned()),
        notes: Set(r.scores.notes.clone()),
        revision: Set(r.revision),
        amends: Set(r.amends),
        submitted_at: Set(OffsetDateTime::now_utc()),
    }
    .insert(db)
    .await
}

pub async fn find(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: Uuid,
) -> Result<Option<scorecard::Model>, DbErr> {
    scorecard::Entity::find_by_id(id)
        .filter(scorecard::Column::CompanyId.eq(Uuid::from(company)))
        .one(db)
        .await
}

/// The newest revision of one evaluator's scorecard for one interview.
pub async fn latest(
    db: &impl ConnectionTrait,
    company: CompanyId,
    interview: Uuid,
    evaluator: Uuid,
) -> Result<Option<scorecard::Model>, DbErr> {
    scorecard::Entity::find()
        .filter(scorecard::Column::CompanyId.eq(Uuid::from(company)))
        .filter(scorecard::Column::InterviewId.eq(interview))
        .filter(scorecard::Column::EvaluatorId.eq(evaluator))
        .order_by_desc(scorecard::Column::Revision)
        .one(db)
        .await
}

/// Every revision for these interviews, oldest first.
pub async fn of_interviews(
    db: &impl ConnectionTrait,
    company: CompanyId,
    interviews: &[Uuid],
) -> Result<Vec<scorecard::Model>, DbErr> {
    scorecard::Entity::find()
        .filter(scorecard::Column::CompanyId.eq(Uuid::from(company)))
        .filter(scorecard::Column::InterviewId.is_in(interviews.iter().copied()))
        .order_by_asc(scorecard::Column::SubmittedAt)
        .order_by_asc(scorecard::Column::Revision)
        .all(db)
        .await
}

/// Each evaluator's latest revision per interview.
pub fn latest_only(all: Vec<scorecard::Model>) -> Vec<scorecard::Model> {
    let mut latest: HashMap<(Uuid, Uuid), scorecard::Model> = HashMap::new();
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
