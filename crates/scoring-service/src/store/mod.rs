//! Persistence: rubrics with their versions, and scorecard revisions. Every query is
//! scoped to a company; nothing here updates or deletes a version or a revision, but for the erasure of a
//! person named in a revision's notes (`privacy`).

pub mod privacy;
pub mod rubrics;
pub mod scorecards;

pub use service_runtime::db::is_unique_violation;
