//! Scorecards (page `interviews`): one per evaluator per interview, immutable once
//! submitted; an amendment is the next revision and the old one stays.

use super::{AppState, ScoringEvent};
use crate::domain::scorecard::{self, AmendScorecard, Recommendation, SubmitScorecard};
use crate::entities::scorecard as entity;
use crate::error::ScoringError;
use crate::store::scorecards::{self as repo, NewRevision};
use crate::store::{self, rubrics};
use auth_types::{InterviewId, Principal, Role, RubricId, ScorecardId, UserId};
use events::{Notification, UnitOfWork};
use platform_proto::conversions::{InterviewFacts, status_name};
use serde::Serialize;
use serde_json::json;
use service_runtime::error::Failures;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ScorecardView {
    pub id: ScorecardId,
    pub interview_id: InterviewId,
    pub evaluator_id: UserId,
    pub rubric_id: RubricId,
    pub rubric_version: i32,
    pub ratings: BTreeMap<String, u8>,
    pub recommendation: Recommendation,
    pub notes: Option<String>,
    pub revision: i32,
    /// The revision this one amends.
    pub amends: Option<ScorecardId>,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
}

pub(crate) fn view(s: entity::Model) -> Result<ScorecardView, ScoringError> {
    Ok(ScorecardView {
        ratings: repo::ratings_of(&s)?,
        recommendation: s.recommendation,
        id: s.id,
        interview_id: s.interview_id,
        evaluator_id: s.evaluator_id,
        rubric_id: s.rubric_id,
        rubric_version: s.rubric_version,
        notes: s.notes,
        revision: s.revision,
        amends: s.amends,
        submitted_at: s.submitted_at,
    })
}

fn not_found() -> ScoringError {
    ScoringError::not_found("Scorecard")
}

/// The rubric's current criteria and version, or 422 when there is no such rubric.
async fn current_rubric(
    state: &AppState,
    caller: &Principal,
    id: RubricId,
) -> Result<(i32, Vec<crate::domain::rubric::Criterion>), ScoringError> {
    let Some(r) = rubrics::find(&state.db, caller.company_id, id).await? else {
        return Err(ScoringError::validation(vec![
            service_runtime::http::FieldError::new("rubric_id", "no such rubric in your company"),
        ]));
    };
    let criteria = rubrics::version(&state.db, r.id, r.current_version)
        .await?
        .ok_or(ScoringError::not_found("Rubric version"))?;
    Ok((r.current_version, criteria))
}

fn duplicate(e: sea_orm::DbErr) -> ScoringError {
    if store::is_unique_violation(&e) {
        ScoringError::conflict(
            "A scorecard by this evaluator for this interview already exists; amend it instead",
        )
    } else {
        e.into()
    }
}

/// Whether the caller may score this interview: one of its interviewers, or an admin or manager.
fn may_score(caller: &Principal, interview: &InterviewFacts) -> Result<(), ScoringError> {
    if interview.interviewer_ids.contains(&caller.user_id)
        || matches!(caller.role, Role::Admin | Role::Manager)
    {
        Ok(())
    } else {
        Err(ScoringError::forbidden(
            "Only the interview's interviewers, admins and managers can submit scorecards",
        ))
    }
}

pub async fn submit(
    state: &AppState,
    caller: &Principal,
    interview_id: InterviewId,
    req: SubmitScorecard,
) -> Result<ScorecardView, ScoringError> {
    let company = caller.company_id;
    let interview = state.interviews.interview(company, interview_id).await?;
    may_score(caller, &interview)?;
    if !interview.is_scorable() {
        return Err(ScoringError::conflict(format!(
            "Scorecards are for started or completed interviews; this one is {}",
            status_name(interview.status)
        )));
    }
    let (version, criteria) = current_rubric(state, caller, req.rubric_id).await?;
    let scores = scorecard::validate(&criteria, req.ratings, req.recommendation, req.notes)?;
    if let Some(existing) = repo::latest(&state.db, company, interview_id, caller.user_id).await? {
        return Err(ScoringError::conflict(format!(
            "You already submitted a scorecard for this interview ({}); amend it instead",
            existing.id
        )));
    }
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let saved = repo::insert(
        &*txn,
        NewRevision {
            company,
            interview_id,
            candidate_id: interview.candidate_id,
            evaluator_id: caller.user_id,
            rubric_id: req.rubric_id,
            rubric_version: version,
            scores: &scores,
            revision: 1,
            amends: None,
        },
    )
    .await
    .map_err(duplicate)?;
    let details = json!({"interview_id": interview_id, "recommendation": saved.recommendation, "revision": 1});
    super::record(
        &mut txn,
        caller,
        ScoringEvent::ScorecardSubmitted,
        ("scorecard", saved.id.into()),
        details,
    )
    .await?;
    // Whoever scheduled the interview hears about it.
    let n = Notification::new(
        company,
        interview.created_by,
        ScoringEvent::ScorecardSubmitted,
        format!("Scorecard submitted: {}", interview.title),
        format!(
            "A scorecard for '{}' was submitted ({}).",
            interview.title, saved.recommendation
        ),
    )
    .resource("scorecard", saved.id)
    .concerning(interview_id, saved.candidate_id);
    txn.notify(&n).await?;
    txn.commit().await?;
    view(saved)
}

pub async fn amend(
    state: &AppState,
    caller: &Principal,
    id: ScorecardId,
    req: AmendScorecard,
) -> Result<ScorecardView, ScoringError> {
    let company = caller.company_id;
    let previous = repo::find(&state.db, company, id)
        .await?
        .ok_or_else(not_found)?;
    if previous.evaluator_id != caller.user_id {
        return Err(ScoringError::forbidden(
            "Only the evaluator can amend a scorecard",
        ));
    }
    let latest = repo::latest(
        &state.db,
        company,
        previous.interview_id,
        previous.evaluator_id,
    )
    .await?
    .ok_or_else(not_found)?;
    if latest.id != previous.id {
        return Err(ScoringError::conflict(format!(
            "Only the latest revision can be amended: {} (revision {})",
            latest.id, latest.revision
        )));
    }
    let rubric_id = req.rubric_id.unwrap_or(previous.rubric_id);
    let (version, criteria) = current_rubric(state, caller, rubric_id).await?;
    let scores = scorecard::validate(&criteria, req.ratings, req.recommendation, req.notes)?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let saved = repo::insert(
        &*txn,
        NewRevision {
            company,
            interview_id: previous.interview_id,
            candidate_id: previous.candidate_id,
            evaluator_id: previous.evaluator_id,
            rubric_id,
            rubric_version: version,
            scores: &scores,
            revision: previous.revision + 1,
            amends: Some(previous.id),
        },
    )
    .await
    .map_err(|e| {
        if store::is_unique_violation(&e) {
            ScoringError::conflict("This scorecard was amended meanwhile; read it again")
        } else {
            e.into()
        }
    })?;
    let details = json!({"interview_id": saved.interview_id, "amends": previous.id, "revision": saved.revision});
    super::record(
        &mut txn,
        caller,
        ScoringEvent::ScorecardAmended,
        ("scorecard", saved.id.into()),
        details,
    )
    .await?;
    txn.commit().await?;
    view(saved)
}

/// The scorecards of an interview: each evaluator's latest revision, or every revision.
pub async fn of_interview(
    state: &AppState,
    caller: &Principal,
    interview_id: InterviewId,
    all_revisions: bool,
) -> Result<Vec<ScorecardView>, ScoringError> {
    let company = caller.company_id;
    state.interviews.interview(company, interview_id).await?;
    let rows = repo::of_interviews(&state.db, company, &[interview_id]).await?;
    let rows = if all_revisions {
        rows
    } else {
        repo::latest_only(rows)
    };
    rows.into_iter().map(view).collect()
}

pub async fn get(
    state: &AppState,
    caller: &Principal,
    id: ScorecardId,
) -> Result<ScorecardView, ScoringError> {
    view(
        repo::find(&state.db, caller.company_id, id)
            .await?
            .ok_or_else(not_found)?,
    )
}
