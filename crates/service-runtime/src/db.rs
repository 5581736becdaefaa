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

/// A pool of its own for each HTTP worker, opening its connections lazily on the worker
/// that uses them ([`WorkerPools::for_this_worker`] from the worker's app factory,
/// `HttpService::configure`).
///
/// A connection's socket is driven by the runtime that opened it, and every actix worker
/// runs its own runtime: with one pool shared by all workers, a worker awaiting a reply on
/// a connection another worker opened is woken through that worker's thread, two context
/// switches more for every query. Measured on the candidates list at 64 connections, the
/// service spent 0.101 ms of CPU a request with two workers on one pool and 0.078 ms with
/// a single worker, the difference being those cross-thread wake-ups. Each worker pool
/// holds up to half of `max_connections` (at least two); the first pool stays for
/// everything outside the workers (gRPC, the relay). SQLite, one connection by nature,
/// keeps its one pool.
#[derive(Clone)]
pub struct WorkerPools {
    shared: DatabaseConnection,
    url: secrecy::SecretString,
    max_connections: u32,
}

impl WorkerPools {
    /// Pools like `shared` (opened from `url` with `max_connections`), one per worker.
    pub fn new(
        shared: DatabaseConnection,
        url: secrecy::SecretString,
        max_connections: u32,
    ) -> Self {
        Self {
            shared,
            url,
            max_connections,
        }
    }

    /// A new pool for the calling worker; `shared` itself on SQLite or a URL sqlx
    /// cannot read (it was read once already, for `shared`).
    pub fn for_this_worker(&self) -> DatabaseConnection {
        use sea_orm::sqlx::ConnectOptions as _;
        use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        use secrecy::ExposeSecret;
        if !matches!(
            self.shared.get_database_backend(),
            sea_orm::DbBackend::Postgres
        ) {
            return self.shared.clone();
        }
        let Ok(options) = self.url.expose_secret().parse::<PgConnectOptions>() else {
            return self.shared.clone();
        };
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections.div_ceil(2).max(2))
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(options.disable_statement_logging());
        sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
    }
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

/// A database error with the step it broke (committing, recording the outbox entry), so
/// the log line of the 500 or 503 it becomes says what was being done. It is classified
/// like the error itself.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {source}")]
pub struct StepFailed {
    pub step: &'static str,
    #[source]
    pub source: DbErr,
}

/// `.during("committing the change")` on a database result.
pub trait During<T> {
    fn during(self, step: &'static str) -> Result<T, StepFailed>;
}

impl<T> During<T> for Result<T, DbErr> {
    fn during(self, step: &'static str) -> Result<T, StepFailed> {
        self.map_err(|source| StepFailed { step, source })
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

/// `LOWER(column) LIKE %needle%`, with the needle's wildcards taken literally.
pub fn contains_ci(column: impl sea_orm::ColumnTrait, needle: &str) -> sea_orm::Condition {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    let escaped: String = needle
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    sea_orm::Condition::all().add(
        Expr::expr(Func::lower(Expr::col(column.as_column_ref())))
            .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Failure;

    #[test]
    fn a_failed_step_is_classified_like_its_error_and_names_the_step() {
        let down: Result<(), DbErr> = Err(DbErr::Conn(RuntimeErr::Internal("refused".into())));
        let failure = Failure::from(down.during("committing the change").unwrap_err());
        let Failure::Unavailable { dependency, cause } = failure else {
            panic!("not unavailable: {failure:?}");
        };
        assert_eq!(dependency, "database");
        assert!(cause.starts_with("committing the change: "), "{cause}");
        let bug: Result<(), DbErr> = Err(DbErr::Custom("no such column".into()));
        let failure = Failure::from(bug.during("recording the event in the outbox").unwrap_err());
        let Failure::Unexpected(e) = failure else {
            panic!("not unexpected: {failure:?}");
        };
        let chain = format!("{e:#}");
        assert!(
            chain.starts_with("recording the event in the outbox: "),
            "{chain}"
        );
        assert!(chain.contains("no such column"), "{chain}");
    }
}
