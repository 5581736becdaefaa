//! The outbox rotates through slots on PostgreSQL (the rotation migration): entries go to
//! the slot of the five seconds they are written in, a relay takes from every slot with
//! due entries, oldest first, and a slot drained two turns later is emptied by `TRUNCATE`
//! — never while it holds an entry, and never by waiting for a writer or a relay in it.

use crate::batches::{pipeline_and_company, settle, test_relay};
use crate::helpers::one;
use events::Event;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use std::time::{Duration, Instant};

async fn truncated(db: &DatabaseConnection, slot: i16) -> bool {
    one(
        db,
        &format!("SELECT outbox_truncate_slot({slot}::smallint) AS n"),
    )
    .await
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    one(db, sql).await
}

/// An entry of `source` in `slot`, due now, carrying `event`.
fn entry(source: &str, slot: i16, event: &Event) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "INSERT INTO outbox (id, source, routing_key, payload, created_at, attempts, \
             next_attempt_at, slot) VALUES ($1, '{source}', $2, $3, now(), 0, now(), {slot})"
        ),
        [
            event.id.into(),
            event.routing_key().into(),
            serde_json::to_string(event).unwrap().into(),
        ],
    )
}

#[tokio::test]
async fn a_drained_slot_is_emptied_and_one_holding_an_entry_or_a_writer_never() {
    let (url, db) = test_support::fresh_database().await;
    let event = || Event::untyped("auth", "ROTATED");

    // An entry waiting in slot 1: the slot is kept.
    db.execute_raw(entry("auth", 1, &event())).await.unwrap();
    assert!(!truncated(&db, 1).await);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM outbox WHERE slot = 1").await,
        1
    );

    // Drained (the entry deleted, its dead row still taking space): emptied, the space
    // given back at once.
    db.execute_unprepared("DELETE FROM outbox WHERE slot = 1")
        .await
        .unwrap();
    let size = "SELECT pg_relation_size('outbox_1') AS n";
    assert!(count(&db, size).await > 0);
    assert!(truncated(&db, 1).await);
    assert_eq!(count(&db, size).await, 0);

    // A writer with an uncommitted entry in slot 2: refused at once, not waited for, and
    // its entry is there once it commits.
    let writer = service_runtime::db::connect(&url, 1).await.unwrap();
    let txn = writer.begin().await.unwrap();
    txn.execute_raw(entry("auth", 2, &event())).await.unwrap();
    let asked = Instant::now();
    assert!(!truncated(&db, 2).await);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the truncation waited for the writer: {:?}",
        asked.elapsed()
    );
    txn.commit().await.unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM outbox WHERE slot = 2").await,
        1
    );

    // The gathering entries' slot is out of the rotation; no other slot exists.
    for slot in [3, 4, -1] {
        assert!(!truncated(&db, slot).await, "slot {slot}");
    }
    // An entry written now goes to the current turn's slot.
    let before = events::outbox::slot_of(time::OffsetDateTime::now_utc());
    let recorded = event();
    events::outbox::record(&db, &recorded).await.unwrap();
    let after = events::outbox::slot_of(time::OffsetDateTime::now_utc());
    let slot: i16 = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT slot FROM outbox WHERE id = $1",
            [recorded.id.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "slot")
        .unwrap();
    assert!(slot == before || slot == after, "slot {slot}");
}

#[tokio::test]
async fn the_relay_takes_from_every_slot_and_each_entry_is_stored_once() {
    let (p, _admin, company) = pipeline_and_company().await;
    // One entry in each slot, the gathering one's included, and a second in slot 0.
    let mut written = Vec::new();
    for slot in [0, 1, 2, 3, 0] {
        let e = Event::untyped("test", "ROTATED").company(company);
        p.db.execute_raw(entry("test", slot, &e)).await.unwrap();
        written.push(e.id);
    }
    let relay = test_relay(&p);
    assert_eq!(relay.pump().await.unwrap(), 5, "one pump, every slot");
    assert_eq!(relay.pump().await.unwrap(), 0, "the outbox is empty");
    assert_eq!(settle(&p.db, "ROTATED", 5).await, 5);
    let stored =
        p.db.query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(DISTINCT id) AS n FROM audit_logs WHERE id = ANY($1)",
            [sea_orm::Value::from(written.clone())],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(stored, 5, "each entry stored once");
}

#[tokio::test]
async fn entries_waiting_when_the_outbox_starts_rotating_are_kept_both_ways() {
    let (_url, db) = test_support::fresh_database().await;
    crate::helpers::migrate_back_before(&db, "m20261208_000015_outbox_rotation").await;
    let waiting = Event::untyped("auth", "WAITING");
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO outbox (id, source, routing_key, payload, created_at, attempts, \
         next_attempt_at) VALUES ($1, 'auth', $2, $3, now(), 2, now())",
        [
            waiting.id.into(),
            waiting.routing_key().into(),
            serde_json::to_string(&waiting).unwrap().into(),
        ],
    ))
    .await
    .unwrap();
    let kept = "SELECT count(*) AS n FROM outbox WHERE attempts = 2";

    migration::migrate(&db).await.unwrap();
    assert_eq!(count(&db, kept).await, 1);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM outbox_0").await,
        1,
        "it waits in slot 0"
    );

    crate::helpers::migrate_back_before(&db, "m20261208_000015_outbox_rotation").await;
    assert_eq!(count(&db, kept).await, 1, "and is kept going back");
}
