//! Transport-neutral operations of the scoring service.

pub mod privacy;
pub mod reports;
pub mod rubrics;
pub mod scorecards;

use crate::interview_client::InterviewClient;
use auth_types::IntrospectionClient;
use sea_orm::DatabaseConnection;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Auth over gRPC: token introspection.
    pub auth: IntrospectionClient,
    /// The interview service over gRPC: interviews, their status and interviewers.
    pub interviews: InterviewClient,
    /// Publishes the outbox; woken after every commit that wrote to it.
    pub relay: events::Relay,
}

events::event_types!(
    /// What the scoring service records in the audit trail (and `ScorecardSubmitted`,
    /// the notice whoever scheduled the interview gets).
    ScoringEvent from "scoring" {
        RubricCreated => "RUBRIC_CREATED",
        RubricUpdated => "RUBRIC_UPDATED",
        ScorecardSubmitted => "SCORECARD_SUBMITTED",
        ScorecardAmended => "SCORECARD_AMENDED",
    }
);

/// The `source` of this service's events.
pub const SOURCE: &str = <ScoringEvent as events::EventType>::SOURCE;

/// One event of a scoring resource, written in the caller's transaction.
pub async fn record(
    txn: &mut events::UnitOfWork,
    caller: &auth_types::Principal,
    kind: ScoringEvent,
    resource: (&str, uuid::Uuid),
    details: serde_json::Value,
) -> Result<(), service_runtime::db::StepFailed> {
    let event = events::Event::new(kind)
        .company(caller.company_id)
        .actor(caller.user_id)
        .resource(resource.0, resource.1)
        .details(details);
    txn.record(&event).await
}
