//! Connecting to the database (PostgreSQL, or the embedded default's SQLite file).

pub use sea_orm::DbErr;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, RuntimeErr, SqlErr};
use std::time::Duration;

pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        // One writer at a time is what SQLite supports anyway; it avoids "database is locked".
        .max_connections(if sqlite { 1 } else { max_connections.max(1) })
        .min_connections(if sqlite { 1 } else { 0 })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
            .await?;
    }
    Ok(db)
}

/// Whether the error means the database did not answer (503, retry) rather than that it
/// refused what was asked (a bug or a constraint).
pub fn is_unavailable(e: &DbErr) -> bool {
    matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
}

/// What a database error means for the request that met it, decided once for every
/// service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// The database did not answer: 503, the client may retry.
    Unavailable,
    /// A uniqueness or reference constraint refused the change: 409.
    Conflict,
    /// The database refused a value (text it cannot store, a number out of range, a
    /// check constraint): 422. The edges refuse such values first; this is the backstop.
    InvalidValue,
    /// Anything else is a bug: an opaque 500 with the cause chain in the log.
    Unexpected,
}

pub fn classify(e: &DbErr) -> DbFailure {
    if is_unavailable(e) {
        return DbFailure::Unavailable;
    }
    if let Some(SqlErr::UniqueConstraintViolation(_) | SqlErr::ForeignKeyConstraintViolation(_)) =
        e.sql_err()
    {
        return DbFailure::Conflict;
    }
    match sqlstate(e).as_deref() {
        // Class 22: data exception (22021 NUL in text, 22001 too long, 22003 out of range,
        // 22P02 invalid text representation, ...); 23502 not null; 23514 check.
        Some(code) if code.starts_with("22") || code == "23502" || code == "23514" => {
            DbFailure::InvalidValue
        }
        Some(_) | None => DbFailure::Unexpected,
    }
}

pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The SQLSTATE the server answered with, if the error came from the server.
fn sqlstate(e: &DbErr) -> Option<String> {
    let (DbErr::Query(RuntimeErr::SqlxError(err)) | DbErr::Exec(RuntimeErr::SqlxError(err))) = e
    else {
        return None;
    };
    err.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// Readiness: the database answers a trivial query.
pub struct DatabaseCheck(pub DatabaseConnection);

#[async_trait::async_trait]
impl crate::health::ReadinessCheck for DatabaseCheck {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}
