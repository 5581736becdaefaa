//! Persistence: sea-orm queries over the auth tables, and the token store.

pub mod companies;
pub mod sessions;
pub mod tokens;
pub mod users;

use sea_orm::{DbErr, SqlErr};

/// Whether the error is a unique-key violation (a duplicate email, company name...).
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
