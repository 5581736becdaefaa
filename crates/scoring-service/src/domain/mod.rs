//! The scoring service's rules: rubrics and their versions, scorecards, and the report.

pub mod report;
pub mod rubric;
pub mod scorecard;
