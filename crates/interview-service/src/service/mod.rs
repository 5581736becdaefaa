//! Transport-neutral operations of the interview service: HTTP handlers and the gRPC
//! service convert their input and call these.

pub mod candidates;
pub mod interviews;

use auth_types::IntrospectionClient;
use sea_orm::DatabaseConnection;

/// Everything a request needs, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Auth over gRPC: token introspection and user lookup.
    pub auth: IntrospectionClient,
}

/// Lists answer at most this many rows.
pub const MAX_LIMIT: u64 = 100;
