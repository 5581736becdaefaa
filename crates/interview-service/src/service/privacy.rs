//! A person's rights over their data (issue 14): a candidate's export — everything the
//! platform holds about them, this service's part and the others' gathered with the
//! caller's token — and erasure: their personal data replaced here at once, and in the
//! scoring service and the audit log through the outbox (`CANDIDATE_ERASED`), so a
//! service that is down erases when it is back. Also this service's part of a user's
//! export.

use super::interviews::{InterviewView, view};
use super::{AppState, InterviewEvent};
use crate::entities::{candidate, interview};
use crate::error::InterviewError;
use crate::store::{candidates, interviews, privacy};
use auth_types::{CandidateId, Principal, Role, UserId};
use events::{Event, UnitOfWork};
use serde::Serialize;
use serde_json::json;
use service_runtime::error::Failures;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A candidate as the record keeps it, deleted or erased ones too.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateRecord {
    #[serde(flatten)]
    pub candidate: super::candidates::CandidateView,
    /// When it was deleted (hidden from lists; the data stays).
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// When its personal data was erased.
    #[serde(with = "time::serde::rfc3339::option")]
    pub erased_at: Option<OffsetDateTime>,
}

impl From<candidate::Model> for CandidateRecord {
    fn from(c: candidate::Model) -> Self {
        Self {
            deleted_at: c.deleted_at,
            erased_at: c.erased_at,
            candidate: c.into(),
        }
    }
}

/// What this service holds about a candidate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidatePart {
    pub candidate: CandidateRecord,
    pub interviews: Vec<InterviewView>,
}

/// Whom an export is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subject {
    /// `candidate` (or `user`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Uuid,
}

/// `GET /candidates/{id}/export`: one document with everything the platform holds about
/// a candidate; each other service's part under its name.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateExport {
    pub subject: Subject,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    pub interview: CandidatePart,
    /// Scorecards about them.
    #[schema(value_type = Object)]
    pub scoring: serde_json::Value,
    /// Notifications and audit entries about them and their interviews.
    #[schema(value_type = Object)]
    pub audit: serde_json::Value,
}

/// A candidate a user added: which, not who (that is the candidate's own data).
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedCandidate {
    pub id: CandidateId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /export/users/{id}`: this service's part of a user's export.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPart {
    /// Interviews they take part in or organised.
    pub interviews: Vec<InterviewView>,
    pub candidates_added: Vec<AddedCandidate>,
}

/// The answer to an erasure.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    pub id: CandidateId,
    #[serde(with = "time::serde::rfc3339")]
    pub erased_at: OffsetDateTime,
}

async fn with_interviewers(
    state: &AppState,
    list: Vec<interview::Model>,
) -> Result<Vec<InterviewView>, InterviewError> {
    let ids: Vec<_> = list.iter().map(|i| i.id).collect();
    let mut who = interviews::participants(&state.db, &ids).await?;
    Ok(list
        .into_iter()
        .map(|i| {
            let people = who.remove(&i.id).unwrap_or_default();
            view(i, people)
        })
        .collect())
}

async fn load(
    state: &AppState,
    caller: &Principal,
    id: CandidateId,
) -> Result<candidate::Model, InterviewError> {
    candidates::find_even_deleted(&state.db, caller.company_id, id)
        .await?
        .ok_or_else(|| InterviewError::not_found("Candidate"))
}

/// `GET /candidates/{id}/export` (page candidates): deleted candidates too.
pub async fn export_candidate(
    state: &AppState,
    caller: &Principal,
    bearer: &str,
    id: CandidateId,
) -> Result<CandidateExport, InterviewError> {
    let found = load(state, caller, id).await?;
    let theirs = interviews::of_candidate(&state.db, caller.company_id, id).await?;
    let interview_ids: Vec<String> = theirs.iter().map(|i| i.id.to_string()).collect();
    let part = CandidatePart {
        candidate: found.into(),
        interviews: with_interviewers(state, theirs).await?,
    };
    let audit_path = format!(
        "/api/v1/export/candidates/{id}?interviews={}",
        interview_ids.join(",")
    );
    let mut parts = state
        .export
        .gather(
            |peer| match peer {
                "audit" => audit_path.clone(),
                _ => format!("/api/v1/export/candidates/{id}"),
            },
            bearer,
        )
        .await?;
    let mut take = |name: &str| parts.remove(name).unwrap_or(serde_json::Value::Null);
    Ok(CandidateExport {
        subject: Subject {
            kind: "candidate",
            id: id.into(),
        },
        exported_at: OffsetDateTime::now_utc(),
        interview: part,
        scoring: take("scoring"),
        audit: take("audit"),
    })
}

/// `GET /export/users/{id}` (page user management): the interviews a user takes part in
/// or organised and the candidates they added, in the caller's company.
pub async fn user_part(
    state: &AppState,
    caller: &Principal,
    user: UserId,
) -> Result<UserPart, InterviewError> {
    let list = privacy::interviews_of_user(&state.db, caller.company_id, user).await?;
    Ok(UserPart {
        interviews: with_interviewers(state, list).await?,
        candidates_added: privacy::candidates_added_by(&state.db, caller.company_id, user)
            .await?
            .into_iter()
            .map(|c| AddedCandidate {
                id: c.id,
                created_at: c.created_at,
            })
            .collect(),
    })
}

/// `POST /candidates/{id}/erase` (admins): name and email replaced, phone and notes gone,
/// the name taken out of their interviews' titles and locations, and `CANDIDATE_ERASED`
/// on the outbox for the scoring service (scorecard notes) and the audit-writer
/// (notifications, personal data in audit entries). Erasing an erased candidate answers
/// as the first time did.
pub async fn erase_candidate(
    state: &AppState,
    caller: &Principal,
    id: CandidateId,
) -> Result<Erased, InterviewError> {
    if caller.role != Role::Admin {
        return Err(InterviewError::forbidden(
            "Only admins can erase personal data",
        ));
    }
    let found = load(state, caller, id).await?;
    if let Some(erased_at) = found.erased_at {
        return Ok(Erased { id, erased_at });
    }
    let terms: Vec<String> = [
        Some(found.full_name.clone()),
        Some(found.email.clone()),
        found.phone.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|t| !t.trim().is_empty())
    .collect();
    // In whole microseconds, as the database keeps it: a repeated erasure answers the same.
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now);
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if !privacy::erase_candidate(&*txn, &found, now).await? {
        // Erased meanwhile by another request: that one recorded it.
        drop(txn);
        let again = load(state, caller, id).await?;
        return Ok(Erased {
            id,
            erased_at: again.erased_at.unwrap_or(now),
        });
    }
    let theirs = interviews::of_candidate(&*txn, caller.company_id, id).await?;
    let mut rewritten = 0_usize;
    for i in &theirs {
        let title = service_runtime::export::redact(&i.title, &terms);
        let location = i
            .location
            .as_deref()
            .and_then(|l| service_runtime::export::redact(l, &terms));
        if title.is_some() || location.is_some() {
            privacy::rewrite_interview(
                &*txn,
                i,
                title.unwrap_or_else(|| i.title.clone()),
                location.or_else(|| i.location.clone()),
                now,
            )
            .await?;
            rewritten += 1;
        }
    }
    txn.record(
        &Event::new(InterviewEvent::CandidateErased)
            .company(caller.company_id)
            .actor(caller.user_id)
            .resource("candidate", id)
            .details(json!({
                // What the other services look for in free text; the audit-writer keeps
                // it only until it has erased with it.
                "erase_terms": terms,
                "interviews": theirs.len(),
                "interviews_rewritten": rewritten,
            })),
    )
    .await?;
    txn.commit().await?;
    metrics::counter!("interview_candidate_erasures_total").increment(1);
    Ok(Erased { id, erased_at: now })
}
