//! Persistence: sea-orm queries over the interview tables. Every query is scoped to a
//! company.

pub mod candidates;
pub mod interviews;
pub mod privacy;

pub use service_runtime::db::contains_ci;
