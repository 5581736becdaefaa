//! Transport-neutral operations of the scoring service.

pub mod reports;
pub mod rubrics;
pub mod scorecards;

use crate::interviews::InterviewClient;
use auth_types::IntrospectionClient;
use sea_orm::DatabaseConnection;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Auth over gRPC: token introspection.
    pub auth: IntrospectionClient,
    /// The interview service over gRPC: interviews, their status and interviewers.
    pub interviews: InterviewClient,
}

pub const MAX_LIMIT: u64 = 100;
