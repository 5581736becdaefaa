//! Candidates of a company. Deleted ones are kept for the interviews that reference
//! them, and are gone from every read.

use super::contains_ci;
use crate::domain::candidate::{CandidateStatus, NewCandidate};
use crate::entities::candidate;
use auth_types::{CompanyId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Default, Clone)]
pub struct CandidateFilter {
    pub status: Option<CandidateStatus>,
    pub position: Option<String>,
    /// Free text, matched case-insensitively in the name or the email.
    pub q: Option<String>,
}

fn live(company: CompanyId) -> Condition {
    Condition::all()
        .add(candidate::Column::CompanyId.eq(Uuid::from(company)))
        .add(candidate::Column::DeletedAt.is_null())
}

pub async fn insert(
    db: &impl ConnectionTrait,
    company: CompanyId,
    created_by: UserId,
    c: NewCandidate,
) -> Result<candidate::Model, DbErr> {
    let now = OffsetDateTime::now_utc();
    candidate::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_id: Set(company.into()),
        full_name: Set(c.full_name),
        email: Set(c.email.as_str().to_owned()),
        phone: Set(c.phone),
        position: Set(c.position),
        source: Set(c.source),
        status: Set(c.status.as_str().to_owned()),
        notes: Set(c.notes),
        created_by: Set(created_by.into()),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn find(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: Uuid,
) -> Result<Option<candidate::Model>, DbErr> {
    candidate::Entity::find_by_id(id)
        .filter(live(company))
        .one(db)
        .await
}

pub async fn list(
    db: &impl ConnectionTrait,
    company: CompanyId,
    filter: &CandidateFilter,
    skip: u64,
    limit: u64,
) -> Result<Vec<candidate::Model>, DbErr> {
    let mut query = candidate::Entity::find().filter(live(company));
    if let Some(status) = filter.status {
        query = query.filter(candidate::Column::Status.eq(status.as_str()));
    }
    if let Some(position) = &filter.position {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(candidate::Column::Position)))
                .eq(position.trim().to_lowercase()),
        );
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(
            Condition::any()
                .add(contains_ci(candidate::Column::FullName, q))
                .add(contains_ci(candidate::Column::Email, q)),
        );
    }
    query
        .order_by_desc(candidate::Column::CreatedAt)
        .order_by_desc(candidate::Column::Id)
        .offset(skip)
        .limit(limit)
        .all(db)
        .await
}

pub async fn save(
    db: &impl ConnectionTrait,
    model: candidate::ActiveModel,
) -> Result<candidate::Model, DbErr> {
    model.update(db).await
}

/// Marks the candidate deleted; false when there was none to delete.
pub async fn soft_delete(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: Uuid,
) -> Result<bool, DbErr> {
    let now = OffsetDateTime::now_utc();
    let result = candidate::Entity::update_many()
        .col_expr(candidate::Column::DeletedAt, Expr::value(now))
        .col_expr(candidate::Column::UpdatedAt, Expr::value(now))
        .filter(candidate::Column::Id.eq(id))
        .filter(live(company))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}
