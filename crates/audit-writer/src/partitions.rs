//! The monthly partitions of `audit_logs` on PostgreSQL (migration 000013): the writer
//! keeps the next months' made ahead, through `audit_ensure_partitions` (its role may
//! create no table itself), so an insert never finds its month missing.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use std::time::Duration;

/// Months made ahead of the current one.
pub const MONTHS_AHEAD: i32 = 3;

/// How often the writer makes sure of them.
const EVERY: Duration = Duration::from_secs(3600);

/// Makes the partitions of this month and the next [`MONTHS_AHEAD`] that are missing;
/// how many it made. Nothing to do on SQLite (a plain table).
pub async fn ensure_ahead(db: &impl ConnectionTrait) -> Result<i32, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(0);
    }
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT audit_ensure_partitions((now() AT TIME ZONE 'UTC')::date, $1) AS made",
            [MONTHS_AHEAD.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i32>("", "made"))
        .transpose()?
        .unwrap_or(0))
}

/// [`ensure_ahead`] now and every hour, until the task is dropped; a failure is logged and
/// tried again at the next turn (three months of margin).
pub async fn keep_ahead(db: DatabaseConnection) {
    loop {
        match ensure_ahead(&db).await {
            Ok(0) => {}
            Ok(made) => tracing::info!(made, "audit log partitions made ahead"),
            Err(e) => tracing::warn!(error = %e, "could not make the audit log's next partitions"),
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// A partition's month from its name (`audit_logs_y2026m12`): `(year, month)`.
pub fn month_of(name: &str) -> Option<(i32, u8)> {
    let rest = name.strip_prefix("audit_logs_y")?;
    let (year, month) = rest.split_once('m')?;
    let (year, month) = (year.parse().ok()?, month.parse().ok()?);
    (year > 0 && (1..=12).contains(&month)).then_some((year, month))
}

/// The partitions attached to `audit_logs`, oldest first.
pub async fn attached(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'audit_logs'::regclass",
        ))
        .await?;
    let mut names: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "name"))
        .collect::<Result<_, _>>()?;
    names.retain(|n| month_of(n).is_some());
    names.sort_by_key(|n| month_of(n));
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_names_its_month() {
        assert_eq!(month_of("audit_logs_y2026m12"), Some((2026, 12)));
        assert_eq!(month_of("audit_logs_y2027m01"), Some((2027, 1)));
        assert_eq!(month_of("audit_logs_y2027m13"), None);
        assert_eq!(month_of("audit_logs_unpartitioned"), None);
        assert_eq!(month_of("audit_pii"), None);
    }
}
