//! The candidate report across all of the candidate's interviews.

use super::AppState;
use crate::domain::report::{self, Card, InterviewFacts, Report};
use crate::domain::rubric::Criterion;
use crate::error::ScoringError;
use crate::store::{rubrics, scorecards};
use auth_types::{CandidateId, InterviewId, Principal, RubricId};
use platform_proto::interview::v1::InterviewStatus;
use std::collections::{BTreeMap, HashMap};

pub async fn report(
    state: &AppState,
    caller: &Principal,
    candidate: CandidateId,
) -> Result<Report, ScoringError> {
    let company = caller.company_id;
    let interviews = state.interviews.of_candidate(company, candidate).await?;
    let facts: Vec<InterviewFacts> = interviews
        .into_iter()
        .map(|i| InterviewFacts {
            id: i.id,
            completed: i.status == InterviewStatus::Completed,
            interviewer_ids: i.interviewer_ids,
        })
        .collect();
    let ids: Vec<InterviewId> = facts.iter().map(|f| f.id).collect();
    let latest =
        scorecards::latest_only(scorecards::of_interviews(&state.db, company, &ids).await?);

    let mut rubric_ids: Vec<RubricId> = latest.iter().map(|s| s.rubric_id).collect();
    rubric_ids.sort();
    rubric_ids.dedup();
    let versions: HashMap<(RubricId, i32), Vec<Criterion>> =
        rubrics::versions(&state.db, &rubric_ids)
            .await?
            .into_iter()
            .map(|v| Ok(((v.rubric_id, v.version), rubrics::decode(&v.criteria)?)))
            .collect::<Result<_, sea_orm::DbErr>>()?;
    let ratings: Vec<BTreeMap<String, u8>> = latest
        .iter()
        .map(scorecards::ratings_of)
        .collect::<Result<_, _>>()?;
    let empty: Vec<Criterion> = Vec::new();
    let cards = latest
        .iter()
        .zip(&ratings)
        .map(|(s, r)| {
            Ok(Card {
                interview_id: s.interview_id,
                evaluator_id: s.evaluator_id,
                ratings: r,
                criteria: versions
                    .get(&(s.rubric_id, s.rubric_version))
                    .unwrap_or(&empty),
                recommendation: s.recommendation,
            })
        })
        .collect::<Result<Vec<_>, ScoringError>>()?;
    Ok(report::build(candidate, &facts, &cards))
}
