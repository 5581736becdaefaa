//! Rubrics (page `interviews`; changed by admins and managers only).

use super::{AppState, ScoringEvent};
use crate::domain::rubric::{Criterion, NewRubric, RubricChange};
use crate::entities::rubric;
use crate::error::ScoringError;
use crate::store::{self, rubrics as repo};
use auth_types::{Principal, Role, RubricId};
use events::UnitOfWork;
use serde::Serialize;
use service_runtime::error::Failures;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct RubricView {
    pub id: RubricId,
    pub name: String,
    pub position: Option<String>,
    pub version: i32,
    pub criteria: Vec<Criterion>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn view(r: rubric::Model, version: i32, criteria: Vec<Criterion>) -> RubricView {
    RubricView {
        id: r.id,
        name: r.name,
        position: r.position,
        version,
        criteria,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn not_found() -> ScoringError {
    ScoringError::not_found("Rubric")
}

pub fn may_edit(caller: &Principal) -> Result<(), ScoringError> {
    match caller.role {
        Role::Admin | Role::Manager => Ok(()),
        Role::Agent | Role::Viewer => Err(ScoringError::forbidden(
            "Only admins and managers can change rubrics",
        )),
    }
}

async fn criteria_of(
    state: &AppState,
    r: &rubric::Model,
    version: i32,
) -> Result<Vec<Criterion>, ScoringError> {
    repo::version(&state.db, r.id, version)
        .await?
        .ok_or(ScoringError::not_found("Rubric version"))
}

pub async fn create(
    state: &AppState,
    caller: &Principal,
    new: NewRubric,
) -> Result<RubricView, ScoringError> {
    may_edit(caller)?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let r = repo::insert(
        &*txn,
        caller.company_id,
        caller.user_id,
        &new.name,
        new.position.as_deref(),
        &new.criteria,
    )
    .await?;
    super::record(
        &mut txn,
        caller,
        ScoringEvent::RubricCreated,
        ("rubric", r.id.into()),
        serde_json::json!({"name": r.name, "version": 1}),
    )
    .await?;
    txn.commit().await?;
    Ok(view(r, 1, new.criteria))
}

pub async fn list(
    state: &AppState,
    caller: &Principal,
    position: Option<&str>,
    skip: u64,
    limit: u64,
) -> Result<Vec<RubricView>, ScoringError> {
    let rows = repo::list(&state.db, caller.company_id, position, skip, limit).await?;
    let wanted: Vec<_> = rows.iter().map(|r| (r.id, r.current_version)).collect();
    let mut criteria = repo::versions_of(&state.db, &wanted).await?;
    rows.into_iter()
        .map(|r| {
            let version = r.current_version;
            let criteria = criteria
                .remove(&(r.id, version))
                .ok_or(ScoringError::not_found("Rubric version"))?;
            Ok(view(r, version, criteria))
        })
        .collect()
}

/// The current version, or an older one when asked.
pub async fn get(
    state: &AppState,
    caller: &Principal,
    id: RubricId,
    version: Option<i32>,
) -> Result<RubricView, ScoringError> {
    let r = repo::find(&state.db, caller.company_id, id)
        .await?
        .ok_or_else(not_found)?;
    let version = version.unwrap_or(r.current_version);
    let criteria = criteria_of(state, &r, version).await?;
    Ok(view(r, version, criteria))
}

/// Name and position change in place; new criteria make a new version, and scorecards
/// already written keep pointing at theirs.
pub async fn update(
    state: &AppState,
    caller: &Principal,
    id: RubricId,
    change: RubricChange,
) -> Result<RubricView, ScoringError> {
    may_edit(caller)?;
    let current = repo::find(&state.db, caller.company_id, id)
        .await?
        .ok_or_else(not_found)?;
    let current_criteria = criteria_of(state, &current, current.current_version).await?;
    let new_criteria = change.criteria.filter(|c| *c != current_criteria);
    let version = current.current_version + i32::from(new_criteria.is_some());
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if let Some(criteria) = &new_criteria {
        repo::add_version(&*txn, id, version, criteria)
            .await
            .map_err(|e| {
                if store::is_unique_violation(&e) {
                    ScoringError::conflict(
                        "The rubric was changed meanwhile; read it again and retry",
                    )
                } else {
                    e.into()
                }
            })?;
    }
    let saved = repo::update(&*txn, current, change.name, change.position, version).await?;
    super::record(
        &mut txn,
        caller,
        ScoringEvent::RubricUpdated,
        ("rubric", id.into()),
        serde_json::json!({"version": version}),
    )
    .await?;
    txn.commit().await?;
    Ok(view(
        saved,
        version,
        new_criteria.unwrap_or(current_criteria),
    ))
}
