//! Rubrics and their versions.

use crate::domain::rubric::Criterion;
use crate::entities::{rubric, rubric_version};
use auth_types::{CompanyId, RubricId, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;
use time::OffsetDateTime;

pub fn encode(criteria: &[Criterion]) -> Result<String, DbErr> {
    serde_json::to_string(criteria).map_err(|e| DbErr::Custom(format!("encoding criteria: {e}")))
}

pub fn decode(raw: &str) -> Result<Vec<Criterion>, DbErr> {
    serde_json::from_str(raw).map_err(|e| DbErr::Custom(format!("stored criteria: {e}")))
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn insert(
    db: &impl ConnectionTrait,
    company: CompanyId,
    created_by: UserId,
    name: &str,
    position: Option<&str>,
    criteria: &[Criterion],
) -> Result<rubric::Model, DbErr> {
    let now = OffsetDateTime::now_utc();
    let id = RubricId::new();
    let model = rubric::ActiveModel {
        id: Set(id),
        company_id: Set(company),
        name: Set(name.to_owned()),
        position: Set(position.map(str::to_owned)),
        current_version: Set(1),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    add_version(db, id, 1, criteria).await?;
    Ok(model)
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn add_version(
    db: &impl ConnectionTrait,
    rubric: RubricId,
    version: i32,
    criteria: &[Criterion],
) -> Result<(), DbErr> {
    rubric_version::ActiveModel {
        rubric_id: Set(rubric),
        version: Set(version),
        criteria: Set(encode(criteria)?),
        created_at: Set(OffsetDateTime::now_utc()),
    }
    .insert(db)
    .await
    .map(|_| ())
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: RubricId,
) -> Result<Option<rubric::Model>, DbErr> {
    rubric::Entity::find_by_id(id)
        .filter(rubric::Column::CompanyId.eq(company))
        .one(db)
        .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn version(
    db: &impl ConnectionTrait,
    rubric: RubricId,
    version: i32,
) -> Result<Option<Vec<Criterion>>, DbErr> {
    rubric_version::Entity::find_by_id((rubric, version))
        .one(db)
        .await?
        .map(|v| decode(&v.criteria))
        .transpose()
}

/// The criteria of each (rubric, version) asked for, in one query: a page of rubrics
/// with their current criteria costs two queries, not one per rubric.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn versions_of(
    db: &impl ConnectionTrait,
    wanted: &[(RubricId, i32)],
) -> Result<HashMap<(RubricId, i32), Vec<Criterion>>, DbErr> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let any = wanted.iter().fold(Condition::any(), |any, (id, version)| {
        any.add(
            Condition::all()
                .add(rubric_version::Column::RubricId.eq(*id))
                .add(rubric_version::Column::Version.eq(*version)),
        )
    });
    rubric_version::Entity::find()
        .filter(any)
        .all(db)
        .await?
        .into_iter()
        .map(|v| Ok(((v.rubric_id, v.version), decode(&v.criteria)?)))
        .collect()
}

/// Every version of the given rubrics, by (rubric, version).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn versions(
    db: &impl ConnectionTrait,
    rubrics: &[RubricId],
) -> Result<Vec<rubric_version::Model>, DbErr> {
    rubric_version::Entity::find()
        .filter(rubric_version::Column::RubricId.is_in(rubrics.iter().copied()))
        .all(db)
        .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn list(
    db: &impl ConnectionTrait,
    company: CompanyId,
    position: Option<&str>,
    skip: u64,
    limit: u64,
) -> Result<Vec<rubric::Model>, DbErr> {
    let mut query = rubric::Entity::find().filter(rubric::Column::CompanyId.eq(company));
    if let Some(p) = position {
        query = query.filter(rubric::Column::Position.eq(p));
    }
    query
        .order_by_asc(rubric::Column::Name)
        .order_by_asc(rubric::Column::Id)
        .offset(skip)
        .limit(limit)
        .all(db)
        .await
}

/// Renames or moves `current` (what is `Some`) and points it at `version`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn update(
    db: &impl ConnectionTrait,
    current: rubric::Model,
    name: Option<String>,
    position: Option<Option<String>>,
    version: i32,
) -> Result<rubric::Model, DbErr> {
    let mut model = current.into_active_model();
    if let Some(name) = name {
        model.name = Set(name);
    }
    if let Some(position) = position {
        model.position = Set(position);
    }
    model.current_version = Set(version);
    model.updated_at = Set(OffsetDateTime::now_utc());
    model.update(db).await
}
