//! sea-orm entities of the scoring service's tables (schema in `migrations/`).

pub mod rubric;
pub mod rubric_version;
pub mod scorecard;
