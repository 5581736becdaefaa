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
    /// Publishes the outbox; woken after every commit that wrote to it.
    pub relay: events::Relay,
}

/// The `source` of this service's events.
pub const SOURCE: &str = "interview";
