//! Scorecards read for a person's export and rewritten for a candidate's erasure.

use crate::entities::{rubric, scorecard};
use auth_types::{CandidateId, CompanyId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use service_runtime::db::contains_ci;

/// Every revision a user wrote in the company, oldest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn written_by(
    db: &impl ConnectionTrait,
    company: CompanyId,
    user: UserId,
) -> Result<Vec<scorecard::Model>, DbErr> {
    scorecard::Entity::find()
        .filter(scorecard::Column::CompanyId.eq(company))
        .filter(scorecard::Column::EvaluatorId.eq(user))
        .order_by_asc(scorecard::Column::SubmittedAt)
        .order_by_asc(scorecard::Column::Revision)
        .all(db)
        .await
}

/// Every revision about a candidate, oldest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn about(
    db: &impl ConnectionTrait,
    company: CompanyId,
    candidate: CandidateId,
) -> Result<Vec<scorecard::Model>, DbErr> {
    scorecard::Entity::find()
        .filter(scorecard::Column::CompanyId.eq(company))
        .filter(scorecard::Column::CandidateId.eq(candidate))
        .order_by_asc(scorecard::Column::SubmittedAt)
        .order_by_asc(scorecard::Column::Revision)
        .all(db)
        .await
}

/// The rubrics a user made in the company.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn rubrics_by(
    db: &impl ConnectionTrait,
    company: CompanyId,
    user: UserId,
) -> Result<Vec<rubric::Model>, DbErr> {
    rubric::Entity::find()
        .filter(rubric::Column::CompanyId.eq(company))
        .filter(rubric::Column::CreatedBy.eq(user))
        .order_by_asc(rubric::Column::CreatedAt)
        .all(db)
        .await
}

/// The revisions of the company whose notes mention one of `terms` (case-insensitive).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn notes_mentioning(
    db: &impl ConnectionTrait,
    company: CompanyId,
    terms: &[String],
) -> Result<Vec<scorecard::Model>, DbErr> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let any = terms.iter().fold(Condition::any(), |c, t| {
        c.add(contains_ci(scorecard::Column::Notes, t))
    });
    scorecard::Entity::find()
        .filter(scorecard::Column::CompanyId.eq(company))
        .filter(scorecard::Column::Notes.is_not_null())
        .filter(any)
        .all(db)
        .await
}

/// Sets a revision's notes (an erased person taken out of them). Revisions are otherwise
/// never changed.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn set_notes(
    db: &impl ConnectionTrait,
    s: &scorecard::Model,
    notes: String,
) -> Result<(), DbErr> {
    scorecard::Entity::update_many()
        .col_expr(scorecard::Column::Notes, Expr::value(notes))
        .filter(scorecard::Column::Id.eq(s.id))
        .exec(db)
        .await
        .map(|_| ())
}
