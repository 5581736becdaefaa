//! A person's data in the scoring service (issue 14): its parts of a user's and of a
//! candidate's export, and the erasure of a candidate, heard as `CANDIDATE_ERASED` from
//! the interview service on a queue of its own — so an erasure made while this service
//! is down completes when it is back.

use super::AppState;
use super::scorecards::{ScorecardView, view};
use crate::error::ScoringError;
use crate::store::privacy;
use auth_types::{CandidateId, CompanyId, Principal, RubricId, UserId};
use events::Event;
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A rubric a user made: which, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct MadeRubric {
    pub id: RubricId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /export/users/{id}`: the scorecards (every revision) a user wrote and the rubrics
/// they made.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPart {
    pub scorecards_written: Vec<ScorecardView>,
    pub rubrics_created: Vec<MadeRubric>,
}

/// `GET /export/candidates/{id}`: every scorecard revision about a candidate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidatePart {
    pub scorecards: Vec<ScorecardView>,
}

pub async fn user_part(
    state: &AppState,
    caller: &Principal,
    user: UserId,
) -> Result<UserPart, ScoringError> {
    let written = privacy::written_by(&state.db, caller.company_id, user).await?;
    Ok(UserPart {
        scorecards_written: written.into_iter().map(view).collect::<Result<_, _>>()?,
        rubrics_created: privacy::rubrics_by(&state.db, caller.company_id, user)
            .await?
            .into_iter()
            .map(|r| MadeRubric {
                id: r.id,
                name: r.name,
                created_at: r.created_at,
            })
            .collect(),
    })
}

pub async fn candidate_part(
    state: &AppState,
    caller: &Principal,
    candidate: CandidateId,
) -> Result<CandidatePart, ScoringError> {
    Ok(CandidatePart {
        scorecards: privacy::about(&state.db, caller.company_id, candidate)
            .await?
            .into_iter()
            .map(view)
            .collect::<Result<_, _>>()?,
    })
}

/// The routing key of the event this service erases on.
pub const CANDIDATE_ERASED_KEY: &str = "event.interview.candidate_erased";

/// Erases a candidate from scorecard notes: every occurrence of their name, email or
/// number in the notes of any revision of their company (notes about others may name
/// them too) becomes `[erased]`. Doing it twice changes nothing more.
pub struct Eraser {
    pub db: DatabaseConnection,
}

impl Eraser {
    async fn erase(&self, company: CompanyId, terms: &[String]) -> anyhow::Result<usize> {
        let txn = self.db.begin().await?;
        let mut rewritten = 0;
        for s in privacy::notes_mentioning(&txn, company, terms).await? {
            let Some(notes) = s.notes.as_deref() else {
                continue;
            };
            if let Some(clean) = service_runtime::export::redact(notes, terms) {
                privacy::set_notes(&txn, &s, clean).await?;
                rewritten += 1;
            }
        }
        txn.commit().await?;
        Ok(rewritten)
    }
}

#[async_trait::async_trait]
impl events::subscriber::Handler for Eraser {
    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        if event.source != "interview" || event.kind != "CANDIDATE_ERASED" {
            return Ok(());
        }
        let Some(company) = event.company_id else {
            tracing::warn!(event = %event.id, "CANDIDATE_ERASED without a company: nothing to erase");
            return Ok(());
        };
        let terms: Vec<String> = event
            .details
            .get("erase_terms")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let rewritten = self.erase(CompanyId::from(company), &terms).await?;
        tracing::info!(event = %event.id, candidate = ?event.resource_id, rewritten, "candidate erased from scorecard notes");
        metrics::counter!("scoring_erasures_total").increment(1);
        Ok(())
    }
}
