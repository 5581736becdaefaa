//! Candidates (page `candidates`).

use super::{AppState, SOURCE};
use crate::domain::candidate::{CandidateChange, CandidateStatus, NewCandidate};
use crate::domain::stored;
use crate::entities::candidate;
use crate::error::InterviewError;
use crate::store::candidates::{self as store, CandidateFilter};
use auth_types::Principal;
use events::{Event, UnitOfWork};
use sea_orm::{IntoActiveModel, Set};
use serde::Serialize;
use serde_json::json;
use service_runtime::error::Failures;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateView {
    pub id: Uuid,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub position: Option<String>,
    pub source: Option<String>,
    pub status: CandidateStatus,
    pub notes: Option<String>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl TryFrom<candidate::Model> for CandidateView {
    type Error = InterviewError;

    fn try_from(c: candidate::Model) -> Result<Self, InterviewError> {
        Ok(Self {
            status: stored(&c.status)?,
            id: c.id,
            full_name: c.full_name,
            email: c.email,
            phone: c.phone,
            position: c.position,
            source: c.source,
            notes: c.notes,
            created_by: c.created_by,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
    }
}

fn not_found() -> InterviewError {
    InterviewError::not_found("Candidate")
}

pub async fn create(
    state: &AppState,
    caller: &Principal,
    new: NewCandidate,
) -> Result<CandidateView, InterviewError> {
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let created = store::insert(&*txn, caller.company_id, caller.user_id, new).await?;
    record(
        &mut txn,
        caller,
        "CANDIDATE_CREATED",
        created.id,
        json!({"status": created.status}),
    )
    .await?;
    txn.commit().await?;
    created.try_into()
}

async fn record(
    txn: &mut UnitOfWork,
    caller: &Principal,
    kind: &str,
    id: Uuid,
    details: serde_json::Value,
) -> Result<(), InterviewError> {
    let event = Event::new(SOURCE, kind)
        .company(caller.company_id)
        .actor(caller.user_id)
        .resource("candidate", id)
        .details(details);
    Ok(txn.record(&event).await?)
}

pub async fn list(
    state: &AppState,
    caller: &Principal,
    filter: &CandidateFilter,
    skip: u64,
    limit: u64,
) -> Result<Vec<CandidateView>, InterviewError> {
    store::list(&state.db, caller.company_id, filter, skip, limit)
        .await?
        .into_iter()
        .map(CandidateView::try_from)
        .collect()
}

pub async fn get(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
) -> Result<CandidateView, InterviewError> {
    store::find(&state.db, caller.company_id, id)
        .await?
        .ok_or_else(not_found)?
        .try_into()
}

pub async fn update(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
    change: CandidateChange,
) -> Result<CandidateView, InterviewError> {
    let current = store::find(&state.db, caller.company_id, id)
        .await?
        .ok_or_else(not_found)?;
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
        model.status = Set(v.as_str().to_owned());
    }
    model.updated_at = Set(OffsetDateTime::now_utc());
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let saved = store::save(&*txn, model).await?;
    record(
        &mut txn,
        caller,
        "CANDIDATE_UPDATED",
        id,
        json!({"status": saved.status}),
    )
    .await?;
    txn.commit().await?;
    saved.try_into()
}

pub async fn delete(state: &AppState, caller: &Principal, id: Uuid) -> Result<(), InterviewError> {
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if !store::soft_delete(&*txn, caller.company_id, id).await? {
        return Err(not_found());
    }
    record(&mut txn, caller, "CANDIDATE_DELETED", id, json!({})).await?;
    txn.commit().await?;
    Ok(())
}
