//! Candidates (page `candidates`).

use super::{AppState, InterviewEvent};
use crate::domain::candidate::{CandidateChange, CandidateStatus, NewCandidate};
use crate::entities::candidate;
use crate::error::InterviewError;
use crate::store::candidates::{self as store, CandidateFilter};
use auth_types::{CandidateId, Principal, UserId};
use events::{Event, UnitOfWork};
use serde::Serialize;
use serde_json::json;
use service_runtime::error::Failures;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateView {
    pub id: CandidateId,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub position: Option<String>,
    pub source: Option<String>,
    pub status: CandidateStatus,
    pub notes: Option<String>,
    pub created_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<candidate::Model> for CandidateView {
    fn from(c: candidate::Model) -> Self {
        Self {
            status: c.status,
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
        }
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
        InterviewEvent::CandidateCreated,
        created.id,
        json!({"status": created.status}),
    )
    .await?;
    txn.commit().await?;
    Ok(created.into())
}

async fn record(
    txn: &mut UnitOfWork,
    caller: &Principal,
    kind: InterviewEvent,
    id: CandidateId,
    details: serde_json::Value,
) -> Result<(), InterviewError> {
    let event = Event::new(kind)
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
    Ok(
        store::list(&state.db, caller.company_id, filter, skip, limit)
            .await?
            .into_iter()
            .map(CandidateView::from)
            .collect(),
    )
}

pub async fn get(
    state: &AppState,
    caller: &Principal,
    id: CandidateId,
) -> Result<CandidateView, InterviewError> {
    Ok(store::find(&state.db, caller.company_id, id)
        .await?
        .ok_or_else(not_found)?
        .into())
}

pub async fn update(
    state: &AppState,
    caller: &Principal,
    id: CandidateId,
    change: CandidateChange,
) -> Result<CandidateView, InterviewError> {
    let current = store::find(&state.db, caller.company_id, id)
        .await?
        .ok_or_else(not_found)?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let saved = store::update(&*txn, current, change).await?;
    record(
        &mut txn,
        caller,
        InterviewEvent::CandidateUpdated,
        id,
        json!({"status": saved.status}),
    )
    .await?;
    txn.commit().await?;
    Ok(saved.into())
}

pub async fn delete(
    state: &AppState,
    caller: &Principal,
    id: CandidateId,
) -> Result<(), InterviewError> {
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if !store::soft_delete(&*txn, caller.company_id, id).await? {
        return Err(not_found());
    }
    record(
        &mut txn,
        caller,
        InterviewEvent::CandidateDeleted,
        id,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
