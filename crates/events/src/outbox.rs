//! The outbox: events written in the same transaction as the change they describe.

use crate::envelope::{Event, Notification};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, InsertStatement, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// One row waiting to be published.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Uuid,
    pub routing_key: String,
    pub payload: String,
    pub attempts: i32,
}

/// Gathering repeats into one entry: due `until`, holding `count` of them.
#[derive(Debug, Clone, Copy)]
struct Gathering {
    until: OffsetDateTime,
    count: i64,
}

const COLUMNS: [&str; 8] = [
    "id",
    "source",
    "routing_key",
    "payload",
    "created_at",
    "attempts",
    "next_attempt_at",
    "gathered",
];

fn insert_into_outbox() -> InsertStatement {
    Query::insert()
        .into_table(Alias::new("outbox"))
        .columns(COLUMNS.map(Alias::new))
        .to_owned()
}

/// One row of [`COLUMNS`]: due now, or when gathering, due then.
fn add_row(
    stmt: &mut InsertStatement,
    source: &str,
    id: Uuid,
    routing_key: String,
    payload: String,
    now: OffsetDateTime,
    gathering: Option<Gathering>,
) {
    stmt.values_panic([
        id.into(),
        source.into(),
        routing_key.into(),
        payload.into(),
        now.into(),
        0i32.into(),
        gathering.map_or(now, |g| g.until).into(),
        gathering.map_or(0, |g| g.count).into(),
    ]);
}

/// A new outbox row, due now; or, when gathering, due then, and a row with the same id
/// that is still waiting (due later, never tried) and holds fewer repeats takes the new
/// payload instead: concurrent upserts keep the largest count, not the last one.
async fn insert(
    db: &impl ConnectionTrait,
    source: &str,
    id: Uuid,
    routing_key: String,
    payload: String,
    gathering: Option<Gathering>,
) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    let mut stmt = insert_into_outbox();
    add_row(&mut stmt, source, id, routing_key, payload, now, gathering);
    if gathering.is_some() {
        let col = |name: &str| Expr::col((Alias::new("outbox"), Alias::new(name)));
        let new = Expr::col((Alias::new("excluded"), Alias::new("gathered")));
        stmt.on_conflict(
            OnConflict::column(Alias::new("id"))
                .update_columns([Alias::new("payload"), Alias::new("gathered")])
                .action_and_where(
                    col("next_attempt_at")
                        .gt(now)
                        .and(col("attempts").eq(0))
                        .and(new.gt(col("gathered"))),
                )
                .to_owned(),
        );
    }
    db.execute(&stmt).await.map(|_| ())
}

/// Rows a statement may carry: eight parameters each, well under SQLite's oldest limit
/// of 999 and PostgreSQL's 65,535.
pub const MAX_ROWS_PER_INSERT: usize = 100;

/// Records several events in one statement per [`MAX_ROWS_PER_INSERT`]; call inside the
/// transaction that makes the change. Each event keeps the trace context it carries
/// (set it where the request runs: [`with_trace`]).
pub async fn record_many(db: &impl ConnectionTrait, events: &[Event]) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    for chunk in events.chunks(MAX_ROWS_PER_INSERT) {
        let mut stmt = insert_into_outbox();
        for event in chunk {
            add_row(
                &mut stmt,
                &event.source,
                event.id,
                event.routing_key(),
                encode(event)?,
                now,
                None,
            );
        }
        db.execute(&stmt).await?;
    }
    Ok(())
}

/// `event` carrying the current trace context unless it has one, so its audit row joins
/// the trace of the request that made it.
pub fn with_trace(mut event: Event) -> Event {
    if event.traceparent.is_none() {
        event.traceparent = service_runtime::telemetry::current_traceparent();
    }
    event
}

/// Records `event`, which gathers `count` repeats, to be published no earlier than `due`;
/// or, when an entry with its id is still waiting and holds fewer, replaces that entry's
/// event: repeats gathered into one event whose count grows until it is due (a failed
/// sign-in repeated within a minute). Upserts racing each other keep the largest count.
pub async fn gather(
    db: &impl ConnectionTrait,
    event: &Event,
    count: i64,
    due: OffsetDateTime,
) -> Result<(), DbErr> {
    let routing_key = event.routing_key();
    insert(
        db,
        &event.source,
        event.id,
        routing_key,
        encode(event)?,
        Some(Gathering { until: due, count }),
    )
    .await
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String, DbErr> {
    serde_json::to_string(value).map_err(|e| DbErr::Custom(format!("encoding an event: {e}")))
}

/// Records an event; call inside the transaction that makes the change.
/// The current trace context rides along, so the audit row joins the request's trace.
pub async fn record(db: &impl ConnectionTrait, event: &Event) -> Result<(), DbErr> {
    let event = with_trace(event.clone());
    insert(
        db,
        &event.source,
        event.id,
        event.routing_key(),
        encode(&event)?,
        None,
    )
    .await
}

/// Records a notification for one user, in the same way.
pub async fn notify(
    db: &impl ConnectionTrait,
    source: &str,
    n: &Notification,
) -> Result<(), DbErr> {
    insert(db, source, n.id, n.routing_key(), encode(n)?, None).await
}

/// Claims up to `limit` due entries of `source`, the longest due first (a new entry is
/// due when it is written; a postponed one only after its backoff, so it never holds up
/// the entries behind it), for `lease`: they are not due again
/// until then, so no other relay (replica) publishes them meanwhile, and no transaction
/// stays open while publishing. A relay that dies mid-publish leaves its claim to expire;
/// the entry is then published again, and the consumer stores it once (by event id).
pub async fn claim(
    db: &impl ConnectionTrait,
    source: &str,
    limit: u64,
    lease: time::Duration,
) -> Result<Vec<Entry>, DbErr> {
    let backend = db.get_database_backend();
    let (p1, p2, p3, lock) = if backend == DbBackend::Postgres {
        ("$1", "$2", "$3", " FOR UPDATE SKIP LOCKED")
    } else {
        ("?", "?", "?", "")
    };
    let now = OffsetDateTime::now_utc();
    let sql = format!(
        "UPDATE outbox SET next_attempt_at = {p1} WHERE id IN (SELECT id FROM outbox WHERE source = {p2} \
         AND next_attempt_at <= {p3} ORDER BY next_attempt_at, id LIMIT {limit}{lock}) \
         RETURNING id, routing_key, payload, attempts, created_at"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(now + lease),
                Value::from(source),
                Value::from(now),
            ],
        ))
        .await?;
    let mut entries = rows
        .into_iter()
        .map(|r| {
            let created: OffsetDateTime = r.try_get("", "created_at")?;
            Ok((
                created,
                Entry {
                    id: r.try_get("", "id")?,
                    routing_key: r.try_get("", "routing_key")?,
                    payload: r.try_get("", "payload")?,
                    attempts: r.try_get("", "attempts")?,
                },
            ))
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    entries.sort_by_key(|(created, e)| (*created, e.id));
    Ok(entries.into_iter().map(|(_, e)| e).collect())
}

/// The broker confirmed these: they are done.
pub async fn remove_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let stmt = Query::delete()
        .from_table(Alias::new("outbox"))
        .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().copied()))
        .to_owned();
    db.execute(&stmt).await.map(|_| ())
}

/// Publishing failed: try again after `delay`.
pub async fn postpone(
    db: &impl ConnectionTrait,
    entry: &Entry,
    delay: time::Duration,
    error: &str,
) -> Result<(), DbErr> {
    let stmt = Query::update()
        .table(Alias::new("outbox"))
        .value(Alias::new("attempts"), entry.attempts.saturating_add(1))
        .value(
            Alias::new("next_attempt_at"),
            OffsetDateTime::now_utc() + delay,
        )
        .value(
            Alias::new("last_error"),
            error.chars().take(1000).collect::<String>(),
        )
        .and_where(Expr::col(Alias::new("id")).eq(entry.id))
        .to_owned();
    db.execute(&stmt).await.map(|_| ())
}

/// How many entries wait, and how old the oldest is (seconds), for `/metrics`.
pub async fn depth(db: &impl ConnectionTrait, source: &str) -> Result<(i64, f64), DbErr> {
    let backend = db.get_database_backend();
    let p = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE source = {p}"
            ),
            [Value::from(source)],
        ))
        .await?;
    let Some(row) = row else { return Ok((0, 0.0)) };
    let n: i64 = row.try_get("", "n")?;
    let oldest: Option<OffsetDateTime> = row.try_get("", "oldest").ok().flatten();
    let age = oldest.map_or(0.0, |t| {
        (OffsetDateTime::now_utc() - t).as_seconds_f64().max(0.0)
    });
    Ok((n, age))
}
