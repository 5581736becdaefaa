//! Many outbox entries in one broker message (`events::batch`): the relay sends a hundred
//! of one routing key as one message, the writer stores each entry once, and a message is
//! dead-lettered whole when it cannot be read — with the entries that could be stored
//! stored, so a replay from the dead letters stores only the rest.

use crate::helpers::*;
use events::{Event, RabbitPublisher, Relay, Topology};
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub(crate) fn topology(prefix: &str) -> Topology {
    Topology {
        prefix: prefix.to_owned(),
        expire_unused_ms: Some(60_000),
    }
}

async fn stored(db: &DatabaseConnection, action: &str) -> i64 {
    db.query_one_raw(Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "SELECT count(*) AS n FROM audit_logs WHERE action = $1",
        [action.into()],
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get("", "n")
    .unwrap()
}

/// Waits until `n` rows of `action` are stored; then a while longer, to see no more come.
pub(crate) async fn settle(db: &DatabaseConnection, action: &str, n: i64) -> i64 {
    for _ in 0..200 {
        if stored(db, action).await >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    stored(db, action).await
}

/// A queue of the test's own on `binding`, to see the messages as the broker carries them.
async fn probe(prefix: &str, binding: &str) -> (lapin::Connection, lapin::Consumer) {
    let t = topology(prefix);
    let (connection, channel) = declared(prefix).await;
    let queue = format!("{prefix}probe");
    let mut args = FieldTable::default();
    args.insert(
        "x-expires".into(),
        lapin::types::AMQPValue::LongUInt(60_000),
    );
    channel
        .queue_declare(queue.as_str().into(), QueueDeclareOptions::default(), args)
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.as_str().into(),
            t.exchange().into(),
            binding.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "probe".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    (connection, consumer)
}

async fn dead_letter(channel: &lapin::Channel, prefix: &str) -> Vec<u8> {
    let mut dead = channel
        .basic_consume(
            topology(prefix).dead_letter_queue().into(),
            "test".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let Ok(Some(letter)) = tokio::time::timeout(Duration::from_secs(30), dead.next()).await else {
        panic!("no dead letter within 30 s");
    };
    letter.unwrap().data
}

fn encoded(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect()
}

/// A relay of the outbox entries of source `test`, publishing to the pipeline's broker
/// names; the test pumps it.
pub(crate) fn test_relay(p: &Pipeline) -> Relay {
    Relay::new(
        p.db.clone(),
        "test",
        Arc::new(RabbitPublisher::new(
            &test_support::amqp_url(),
            topology(&p.prefix),
        )),
    )
}

/// The pipeline, its admin signed in, and their company (from their first `LOGIN`).
pub(crate) async fn pipeline_and_company() -> (Pipeline, test_support::Tokens, Uuid) {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let company = p.wait_for(&admin.access, "?action=LOGIN", 1).await[0]["company_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (p, admin, company)
}

#[tokio::test]
async fn the_relay_sends_a_hundred_entries_a_message_and_each_is_stored_once() {
    let (p, admin, company) = pipeline_and_company().await;
    let (_probe_connection, mut seen) = probe(&p.prefix, "event.test.#").await;

    // 250 of one key and 3 of another, as one service's outbox holds them.
    let mut batched: Vec<Event> = (0..250)
        .map(|i| {
            Event::untyped("test", "BATCHED")
                .company(company)
                .details(serde_json::json!({ "n": i }))
        })
        .collect();
    let others: Vec<Event> = (0..3)
        .map(|_| Event::untyped("test", "OTHER").company(company))
        .collect();
    batched.extend(others.iter().cloned());
    events::outbox::record_many(&p.db, &batched).await.unwrap();
    let relay = test_relay(&p);
    assert_eq!(relay.pump().await.unwrap(), 253);
    assert_eq!(relay.pump().await.unwrap(), 0, "the outbox is empty");

    let mut sizes = Vec::new();
    let mut bodies = Vec::new();
    while sizes.len() < 4 {
        let d = tokio::time::timeout(Duration::from_secs(10), seen.next())
            .await
            .expect("four messages")
            .unwrap()
            .unwrap();
        let entries: Vec<Event> = events::batch::decode(&d.data).unwrap();
        assert!(d.data.starts_with(b"["), "several entries go as one array");
        sizes.push((d.routing_key.to_string(), entries.len()));
        bodies.push(d.data.clone());
        d.ack(BasicAckOptions::default()).await.unwrap();
    }
    sizes.sort();
    assert_eq!(
        sizes,
        [
            ("event.test.batched".to_owned(), 50),
            ("event.test.batched".to_owned(), 100),
            ("event.test.batched".to_owned(), 100),
            ("event.test.other".to_owned(), 3),
        ]
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), seen.next())
            .await
            .is_err(),
        "and no more than that"
    );
    assert_eq!(settle(&p.db, "BATCHED", 250).await, 250);
    assert_eq!(settle(&p.db, "OTHER", 3).await, 3);

    // The same message again (a redelivery, or a replay): nothing doubles.
    let _replayed = publish_bare(&p.prefix, "event.test.batched", &bodies[0]).await;
    assert_eq!(settle(&p.db, "BATCHED", 251).await, 250);
    let chain = p
        .call(
            &p.audit,
            reqwest::Method::GET,
            "/api/v1/audit-logs/verify",
            &admin.access,
            None,
        )
        .await;
    assert_eq!(chain.status(), reqwest::StatusCode::OK);
    let chain: serde_json::Value = chain.json().await.unwrap();
    assert_eq!(chain["ok"], true, "{chain}");
}

#[tokio::test]
async fn a_batch_with_an_entry_that_does_not_parse_is_dead_lettered_whole() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    p.wait_for(&admin.access, "?action=LOGIN", 1).await;
    let good = encoded(&[Event::untyped("test", "HALF_GOOD")]);
    let body = format!("[{},{{\"id\":\"not an event\"}}]", good[0]);
    let (_connection, channel) =
        publish_bare(&p.prefix, "event.test.half_good", body.as_bytes()).await;
    assert_eq!(dead_letter(&channel, &p.prefix).await, body.as_bytes());
    assert_eq!(
        stored(&p.db, "HALF_GOOD").await,
        0,
        "nothing of it is stored"
    );
    // Later messages flow on.
    p.user("agent", "After A Bad Batch").await;
    assert_eq!(
        p.wait_for(&admin.access, "?action=USER_CREATED", 1)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_batch_the_database_refuses_in_part_stores_the_rest_and_a_replay_stores_it_once() {
    let (p, _admin, company) = pipeline_and_company().await;
    p.db.execute_unprepared(
        "CREATE FUNCTION refuse_in_batch() RETURNS trigger AS $$ BEGIN \
           IF NEW.details::jsonb->>'refuse' = 'yes' THEN RAISE EXCEPTION 'refused for the test'; END IF; \
           RETURN NEW; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER refuse_in_batch BEFORE INSERT ON audit_logs \
           FOR EACH ROW EXECUTE FUNCTION refuse_in_batch();",
    )
    .await
    .unwrap();
    let events: Vec<Event> = ["no", "yes", "no"]
        .iter()
        .map(|refuse| {
            Event::untyped("test", "PARTLY")
                .company(company)
                .details(serde_json::json!({ "refuse": refuse }))
        })
        .collect();
    let payloads = encoded(&events);
    let body = events::batch::encode(&payloads.iter().map(String::as_str).collect::<Vec<_>>());
    let (_connection, channel) = publish_bare(&p.prefix, "event.test.partly", &body).await;

    assert_eq!(
        dead_letter(&channel, &p.prefix).await,
        body,
        "the message is dead-lettered as it was sent"
    );
    assert_eq!(
        stored(&p.db, "PARTLY").await,
        2,
        "the entries it could store"
    );

    // The cause fixed, the dead letter replayed: the third entry is stored, none twice.
    p.db.execute_unprepared("DROP TRIGGER refuse_in_batch ON audit_logs")
        .await
        .unwrap();
    let _replayed = publish_bare(&p.prefix, "event.test.partly", &body).await;
    assert_eq!(settle(&p.db, "PARTLY", 3).await, 3);
}
