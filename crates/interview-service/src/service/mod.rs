//! Transport-neutral operations of the interview service: HTTP handlers and the gRPC
//! service convert their input and call these.

pub mod candidates;
pub mod interviews;
pub mod privacy;

use auth_types::IntrospectionClient;
use sea_orm::DatabaseConnection;

/// Everything a request needs, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Auth over gRPC: token introspection and user lookup.
    pub auth: IntrospectionClient,
    /// Publishes the outbox; woken after every commit that wrote to it.
    pub relay: events::Relay,
    /// The other services' parts of a candidate's export.
    pub export: service_runtime::export::Parts,
}

events::event_types!(
    /// What the interview service records in the audit trail, and the notices it sends
    /// interviewers (`InterviewScheduled`, `InterviewMoved`, `InterviewCancelled`).
    InterviewEvent from "interview" {
        CandidateCreated => "CANDIDATE_CREATED",
        CandidateUpdated => "CANDIDATE_UPDATED",
        CandidateDeleted => "CANDIDATE_DELETED",
        CandidateErased => "CANDIDATE_ERASED",
        InterviewScheduled => "INTERVIEW_SCHEDULED",
        InterviewUpdated => "INTERVIEW_UPDATED",
        InterviewInProgress => "INTERVIEW_IN_PROGRESS",
        InterviewCompleted => "INTERVIEW_COMPLETED",
        InterviewCancelled => "INTERVIEW_CANCELLED",
        InterviewNoShow => "INTERVIEW_NO_SHOW",
        InterviewMoved => "INTERVIEW_MOVED",
    }
);

/// The `source` of this service's events.
pub const SOURCE: &str = <InterviewEvent as events::EventType>::SOURCE;
