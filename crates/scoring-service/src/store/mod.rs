//! Persistence: rubrics with their versions, and scorecard revisions. Every query is
//! scoped to a company; nothing here updates or deletes a version or a revision.

pub mod rubrics;
pub mod scorecards;

pub use service_runtime::db::is_unique_violation;
