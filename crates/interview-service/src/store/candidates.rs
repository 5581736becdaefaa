//! Candidates of a company. Deleted ones are kept for the interviews that reference
//! them, and are gone from every read.

use super::contains_ci;
use crate::domain::candidate::{CandidateChange, CandidateStatus, NewCandidate};
use crate::entities::candidate;
use auth_types::{CandidateId, CompanyId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use time::OffsetDateTime;

#[derive(Debug, Default, Clone)]
pub struct CandidateFilter {
    pub status: Option<CandidateStatus>,
    pub position: Option<String>,
    /// Free text, matched case-insensitively in the name or the email.
    pub q: Option<String>,
}

fn live(company: CompanyId) -> Condition {
    Condition::all()
        .add(candidate::Column::CompanyId.eq(company))
        .add(candidate::Column::DeletedAt.is_null())
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn insert(
    db: &impl ConnectionTrait,
    company: CompanyId,
    created_by: UserId,
    c: NewCandidate,
) -> Result<candidate::Model, DbErr> {
    let now = OffsetDateTime::now_utc();
    candidate::ActiveModel {
        id: Set(CandidateId::new()),
        company_id: Set(company),
        full_name: Set(c.full_name),
        email: Set(c.email.as_str().to_owned()),
        phone: Set(c.phone),
        position: Set(c.position),
        source: Set(c.source),
        status: Set(c.status),
        notes: Set(c.notes),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        erased_at: Set(None),
    }
    .insert(db)
    .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: CandidateId,
) -> Result<Option<candidate::Model>, DbErr> {
    candidate::Entity::find_by_id(id)
        .filter(live(company))
        .one(db)
        .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn list(
    db: &impl ConnectionTrait,
    company: CompanyId,
    filter: &CandidateFilter,
    skip: u64,
    limit: u64,
) -> Result<Vec<candidate::Model>, DbErr> {
    let mut query = candidate::Entity::find().filter(live(company));
    if let Some(status) = filter.status {
        query = query.filter(candidate::Column::Status.eq(status));
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

/// Applies the fields set in `change` to `current`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn update(
    db: &impl ConnectionTrait,
    current: candidate::Model,
    change: CandidateChange,
) -> Result<candidate::Model, DbErr> {
    let mut model = current.into_active_model();
    if let Some(v) = change.full_name {
        model.full_name = Set(v);
    }
    if let Some(v) = change.email {
        model.email = Set(v.as_str().to_owned());
    }
    if let Some(v) = change.phone {
        model.phone = Set(v);
    }
    if let Some(v) = change.position {
        model.position = Set(v);
    }
    if let Some(v) = change.source {
        model.source = Set(v);
    }
    if let Some(v) = change.notes {
        model.notes = Set(v);
    }
    if let Some(v) = change.status {
        model.status = Set(v);
    }
    model.updated_at = Set(OffsetDateTime::now_utc());
    model.update(db).await
}

/// The candidate even if deleted: the interviews that reference one still name it.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find_even_deleted(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: CandidateId,
) -> Result<Option<candidate::Model>, DbErr> {
    candidate::Entity::find_by_id(id)
        .filter(candidate::Column::CompanyId.eq(company))
        .one(db)
        .await
}

/// Marks the candidate deleted; false when there was none to delete.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn soft_delete(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: CandidateId,
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
