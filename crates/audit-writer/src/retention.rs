//! `audit-writer retention`: the only way rows leave the audit log (issue 15). Whole
//! monthly partitions older than `AUDIT_RETENTION_DAYS` are detached concurrently (`ALTER
//! TABLE … DETACH PARTITION … CONCURRENTLY`, which takes no lock that stops an insert)
//! and then dropped, or with `--detach` kept as tables of their own for archiving —
//! never a row-by-row `DELETE`, which the append-only triggers refuse anyway (and which
//! locks the table until logins fail: keycloak#20073).
//!
//! It runs as the schema's owner (the `DATABASE_URL` migrations run with): no service role
//! may detach or drop. Before a partition goes, each chain it ends records where it
//! resumes (`audit_chain_anchors`: the position and link of its last row there), so the
//! verifier checks what is left from there; the personal data of its rows (`audit_pii`)
//! goes with it. The retention itself is recorded in the audit log (`AUDIT_RETENTION`,
//! in the chain of no company), linked under the chain key.

use crate::chain::ChainKey;
use crate::partitions::{attached, month_of};
use crate::writer::{self, Message};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde::Serialize;
use time::{Date, Month, OffsetDateTime};

/// The TRD's two years.
pub const DEFAULT_DAYS: u32 = 730;

/// What a run does.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Partitions whose every row is older than this many days go.
    pub days: u32,
    /// Keep them as tables of their own (for archiving) instead of dropping them.
    pub detach: bool,
}

/// One partition that went.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub partition: String,
    pub rows: i64,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Rows created before this are gone (whole months of them).
    #[serde(with = "time::serde::rfc3339")]
    pub cutoff: OffsetDateTime,
    /// `drop` or `detach`.
    pub mode: &'static str,
    pub removed: Vec<Removed>,
}

/// The first instant after a partition's month (its upper bound), UTC.
fn month_end(year: i32, month: u8) -> Option<OffsetDateTime> {
    let (year, month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, 1).ok()?;
    Some(date.midnight().assume_utc())
}

fn sql(text: String) -> Statement {
    Statement::from_string(DbBackend::Postgres, text)
}

/// Removes (or detaches) every partition whose month ended at least `days` ago, oldest
/// first, and records what it did. Rows keep committing meanwhile.
pub async fn run(
    db: &DatabaseConnection,
    key: &ChainKey,
    options: Options,
) -> anyhow::Result<Outcome> {
    if db.get_database_backend() != DbBackend::Postgres {
        anyhow::bail!(
            "retention needs PostgreSQL: the embedded default's SQLite keeps a plain table"
        );
    }
    let cutoff = OffsetDateTime::now_utc() - time::Duration::days(i64::from(options.days));
    let mode = if options.detach { "detach" } else { "drop" };
    let mut removed = Vec::new();
    for name in attached(db).await? {
        let Some((year, month)) = month_of(&name) else {
            continue;
        };
        let Some(end) = month_end(year, month) else {
            continue;
        };
        if end > cutoff {
            break;
        }
        let rows = remove(db, &name, options.detach).await?;
        tracing::info!(partition = %name, rows, mode, "audit log partition removed");
        removed.push(Removed {
            partition: name,
            rows,
        });
    }
    let outcome = Outcome {
        cutoff,
        mode,
        removed,
    };
    if !outcome.removed.is_empty() {
        let total: i64 = outcome.removed.iter().map(|r| r.rows).sum();
        let event = events::Event::untyped("audit-writer", "AUDIT_RETENTION").details(
            serde_json::json!({
                "retention_days": options.days,
                "cutoff": outcome.cutoff.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                "mode": mode,
                "partitions": outcome.removed,
                "rows": total,
            }),
        );
        writer::store(db, key, &[Message::Event(event)]).await?;
    }
    Ok(outcome)
}

/// One partition: anchors and personal data in a transaction, then detached concurrently
/// (outside any transaction, as PostgreSQL requires), then dropped unless kept.
async fn remove(db: &DatabaseConnection, name: &str, keep: bool) -> anyhow::Result<i64> {
    // `name` came from pg_class and matched audit_logs_yYYYYmMM: safe in SQL as is.
    let txn = db.begin().await?;
    let rows = txn
        .query_one_raw(sql(format!("SELECT count(*) AS n FROM {name}")))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    txn.execute_raw(sql(format!(
        "INSERT INTO audit_chain_anchors (chain_key, seq, hash, partition_name, cut_at) \
         SELECT DISTINCT ON (chain_key) chain_key, chain_seq, hash, '{name}', now() \
           FROM {name} WHERE chain_key IS NOT NULL AND chain_seq IS NOT NULL AND hash IS NOT NULL \
           ORDER BY chain_key, chain_seq DESC \
         ON CONFLICT (chain_key) DO UPDATE \
           SET seq = excluded.seq, hash = excluded.hash, \
               partition_name = excluded.partition_name, cut_at = excluded.cut_at \
           WHERE excluded.seq > audit_chain_anchors.seq"
    )))
    .await?;
    txn.execute_raw(sql(format!(
        "DELETE FROM audit_pii WHERE log_id IN (SELECT id FROM {name})"
    )))
    .await?;
    txn.commit().await?;
    // The simple protocol: not even an implicit transaction block around it.
    let detach = db
        .execute_unprepared(&format!(
            "ALTER TABLE audit_logs DETACH PARTITION {name} CONCURRENTLY"
        ))
        .await;
    if let Err(e) = detach {
        // An earlier run stopped between the two steps of a concurrent detach.
        if e.to_string().contains("pending detach") {
            db.execute_unprepared(&format!(
                "ALTER TABLE audit_logs DETACH PARTITION {name} FINALIZE"
            ))
            .await?;
        } else {
            return Err(e.into());
        }
    }
    if !keep {
        db.execute_raw(sql(format!("DROP TABLE {name}"))).await?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_ends_where_the_next_begins() {
        assert_eq!(
            month_end(2026, 12).map(|t| t.date()),
            Date::from_calendar_date(2027, Month::January, 1).ok()
        );
        assert_eq!(
            month_end(2026, 1).map(|t| t.date()),
            Date::from_calendar_date(2026, Month::February, 1).ok()
        );
        assert_eq!(month_end(2026, 13), None);
    }
}
