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
    pub created_at: OffsetDateTime,
    /// How many repeats it gathers (0: not a gathering entry).
    pub gathered: i64,
}

/// Gathering repeats into one entry: due `until`, holding `count` of them.
#[derive(Debug, Clone, Copy)]
struct Gathering {
    until: OffsetDateTime,
    count: i64,
}

const COLUMNS: [&str; 9] = [
    "id",
    "source",
    "routing_key",
    "payload",
    "created_at",
    "attempts",
    "next_attempt_at",
    "gathered",
    "slot",
];

/// How many slots the outbox rotates through (its partitions on PostgreSQL: the rotation
/// migration).
pub const SLOTS: i16 = 3;
/// How long each slot is written to before the next one's turn.
pub const SLOT_SECONDS: i64 = 5;
/// The slot of the entries that gather repeats, out of the rotation: such an entry waits
/// up to a minute for its repeats, which find it by its key, so it cannot go with the
/// turn it was written in (its slot would never be drained while a flood goes on).
pub const GATHERING_SLOT: i16 = 3;

/// The slot an entry written at `at` goes to: the slots take turns every
/// [`SLOT_SECONDS`], so the one written two turns ago is drained and can be emptied by
/// `TRUNCATE` ([`truncate_drained_slot`]) while the others are in use.
pub fn slot_of(at: OffsetDateTime) -> i16 {
    let turn = at.unix_timestamp().div_euclid(SLOT_SECONDS);
    // rem_euclid of a positive modulus: 0 ..= SLOTS - 1.
    i16::try_from(turn.rem_euclid(i64::from(SLOTS))).unwrap_or(0)
}

/// The slots oldest first at `now`: the gathering entries' (each due a minute after it
/// began), the one written two turns ago (drained, or draining what was left), the last
/// turn's, the current one.
pub fn slots_by_age(now: OffsetDateTime) -> [i16; 4] {
    let current = slot_of(now);
    [
        GATHERING_SLOT,
        (current + 1).rem_euclid(SLOTS),
        (current + 2).rem_euclid(SLOTS),
        current,
    ]
}

fn insert_into_outbox() -> InsertStatement {
    Query::insert()
        .into_table(Alias::new("outbox"))
        .columns(COLUMNS.map(Alias::new))
        .to_owned()
}

/// One row of [`COLUMNS`]: due now, in the current turn's slot; or, when gathering, due
/// then, in [`GATHERING_SLOT`].
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
        gathering
            .map_or_else(|| slot_of(now), |_| GATHERING_SLOT)
            .into(),
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
        // On PostgreSQL the key holds the slot (a partitioned table's keys hold the
        // partition key); SQLite's plain table is keyed by id.
        let mut key = if db.get_database_backend() == DbBackend::Postgres {
            OnConflict::columns([Alias::new("id"), Alias::new("slot")])
        } else {
            OnConflict::column(Alias::new("id"))
        };
        stmt.on_conflict(
            key.update_columns([Alias::new("payload"), Alias::new("gathered")])
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

/// Rows a statement may carry: nine parameters each, well under SQLite's oldest limit
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

/// Runs `change` (one data-modifying statement, on PostgreSQL, its parameters `$1` … `$n`)
/// and records `events` in a single statement: `WITH change AS (…) INSERT INTO outbox …
/// SELECT … FROM unnest(…)`. PostgreSQL runs a data-modifying `WITH` exactly once and the
/// whole statement atomically, so the change and its events commit together without a
/// transaction around them: one round trip where `BEGIN`, the change, the insert and
/// `COMMIT` took four. The text is the same for any number of events (they go as arrays),
/// so it is prepared once. Each event keeps the trace context it carries.
pub async fn record_with_change(
    db: &impl ConnectionTrait,
    change: Statement,
    events: &[Event],
) -> Result<(), DbErr> {
    let mut values = change.values.map(|v| v.0).unwrap_or_default();
    let n = values.len();
    let (mut ids, mut sources, mut keys, mut payloads) = (
        Vec::with_capacity(events.len()),
        Vec::with_capacity(events.len()),
        Vec::with_capacity(events.len()),
        Vec::with_capacity(events.len()),
    );
    for event in events {
        ids.push(event.id);
        sources.push(event.source.clone());
        keys.push(event.routing_key());
        payloads.push(encode(event)?);
    }
    let now = OffsetDateTime::now_utc();
    values.extend([
        Value::from(now),
        Value::from(slot_of(now)),
        ids.into(),
        sources.into(),
        keys.into(),
        payloads.into(),
    ]);
    let sql = format!(
        "WITH change AS ({}) INSERT INTO outbox ({}) \
         SELECT e.id, e.source, e.routing_key, e.payload, ${at}, 0, ${at}, 0, ${slot} \
         FROM unnest(${}::uuid[], ${}::text[], ${}::text[], ${}::text[]) AS e(id, source, routing_key, payload)",
        change.sql,
        COLUMNS.join(", "),
        n + 3,
        n + 4,
        n + 5,
        n + 6,
        at = n + 1,
        slot = n + 2,
    );
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .map(|_| ())
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

/// The columns a claim returns: everything an entry put back needs.
const RETURNING: &str = "RETURNING id, routing_key, payload, attempts, created_at, gathered";

/// The rows a claim returned, oldest first (a batch's order among equal due times is the
/// order they were written in).
fn entries(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<Entry>, DbErr> {
    let mut entries = rows
        .into_iter()
        .map(|r| {
            Ok(Entry {
                id: r.try_get("", "id")?,
                routing_key: r.try_get("", "routing_key")?,
                payload: r.try_get("", "payload")?,
                attempts: r.try_get("", "attempts")?,
                created_at: r.try_get("", "created_at")?,
                gathered: r.try_get("", "gathered")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    entries.sort_by_key(|e| (e.created_at, e.id));
    Ok(entries)
}

/// Takes up to `limit` due entries of `source` in `slot` ([`due_slots`]), the longest due
/// first, out of the outbox (PostgreSQL): call inside a transaction that publishes them and commits once the broker
/// confirmed, putting back ([`put_back`]) those it did not. Until that commit the rows stay
/// locked, so no other relay (replica) sees them (`SKIP LOCKED`); a relay that dies
/// mid-publish rolls back and the rows are due again at once (the consumer stores an entry
/// published twice once, by event id). One statement writes each entry once, where a
/// lease (set a due time, publish, delete) wrote it twice; the due entries are read in the
/// order of the `(source, next_attempt_at)` index and the scan stops after `limit`,
/// whatever the backlog.
pub async fn take(
    txn: &impl ConnectionTrait,
    source: &str,
    slot: i16,
    limit: u64,
) -> Result<Vec<Entry>, DbErr> {
    // The slot as a literal: the plan touches (and locks) that partition only, so the
    // others can be truncated meanwhile. The rows by their physical address within it:
    // locked, they cannot move before the delete.
    let sql = format!(
        "DELETE FROM outbox WHERE slot = {slot} AND ctid = ANY(ARRAY(SELECT ctid FROM outbox \
         WHERE slot = {slot} AND source = $1 AND next_attempt_at <= $2 \
         ORDER BY next_attempt_at LIMIT {limit} FOR UPDATE SKIP LOCKED)) {RETURNING}"
    );
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [Value::from(source), Value::from(OffsetDateTime::now_utc())],
        ))
        .await?;
    entries(rows)
}

/// The slots holding entries of `source` that are due (PostgreSQL), oldest first
/// ([`slots_by_age`]): one statement, its locks gone when it ends, so a relay's
/// transaction then locks only the slots it takes from.
pub async fn due_slots(db: &impl ConnectionTrait, source: &str) -> Result<Vec<i16>, DbErr> {
    let now = OffsetDateTime::now_utc();
    let order = slots_by_age(now);
    let probes: Vec<String> = order
        .iter()
        .map(|slot| {
            format!(
                "EXISTS (SELECT 1 FROM outbox WHERE slot = {slot} AND source = $1 \
                 AND next_attempt_at <= $2) AS s{slot}"
            )
        })
        .collect();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT {}", probes.join(", ")),
            [Value::from(source), Value::from(now)],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let mut due = Vec::with_capacity(order.len());
    for slot in order {
        if row.try_get::<bool>("", &format!("s{slot}"))? {
            due.push(slot);
        }
    }
    Ok(due)
}

/// Empties the slot written two turns ago if it is drained (PostgreSQL): truncated only
/// when its lock is free at once (no writer or relay is in it) and it holds no entry
/// under that lock, by the owner's `outbox_truncate_slot` (a service may not truncate).
/// Whether it was emptied.
pub async fn truncate_drained_slot(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let [_, oldest, ..] = slots_by_age(OffsetDateTime::now_utc());
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT outbox_truncate_slot($1) AS emptied",
            [Value::from(oldest)],
        ))
        .await?;
    row.map_or(Ok(false), |r| r.try_get("", "emptied"))
}

/// Entries taken ([`take`]) that the broker did not confirm, back into the outbox in the
/// same transaction, each with one more attempt, due after its `delay`, with the error.
pub async fn put_back(
    txn: &impl ConnectionTrait,
    source: &str,
    failed: &[(&Entry, time::Duration)],
    error: &str,
) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    let slot = slot_of(now);
    let error: String = error.chars().take(1000).collect();
    for chunk in failed.chunks(MAX_ROWS_PER_INSERT) {
        let mut stmt = Query::insert()
            .into_table(Alias::new("outbox"))
            .columns(
                COLUMNS
                    .iter()
                    .chain(&["last_error"])
                    .map(|c| Alias::new(*c)),
            )
            .to_owned();
        for (entry, delay) in chunk {
            stmt.values_panic([
                entry.id.into(),
                source.into(),
                entry.routing_key.clone().into(),
                entry.payload.clone().into(),
                entry.created_at.into(),
                entry.attempts.saturating_add(1).into(),
                (now + *delay).into(),
                entry.gathered.into(),
                slot.into(),
                error.clone().into(),
            ]);
        }
        txn.execute(&stmt).await?;
    }
    Ok(())
}

/// Claims up to `limit` due entries of `source`, the longest due first (a new entry is
/// due when it is written; a postponed one only after its backoff, so it never holds up
/// the entries behind it), for `lease`: they are not due again until then, so no
/// transaction stays open while publishing. The embedded SQLite's way (its one connection
/// is shared with the in-process writer, so no transaction may wait on a publish); a
/// relay on PostgreSQL [`take`]s instead. Entries whose lease expires are published again,
/// and the consumer stores them once (by event id).
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
         AND next_attempt_at <= {p3} ORDER BY next_attempt_at LIMIT {limit}{lock}) {RETURNING}"
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
    entries(rows)
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
