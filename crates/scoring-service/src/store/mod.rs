//! Persistence: rubrics with their versions, and scorecard revisions. Every query is
//! scoped to a company; nothing here updates or deletes a version or a revision.

pub mod rubrics;
pub mod scorecards;

use sea_orm::{DbErr, SqlErr};

/// Whether the error is a unique-key violation.
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
