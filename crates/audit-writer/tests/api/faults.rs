//! What happens when pieces fail: nothing lost, nothing doubled.

use crate::helpers::*;
use events::{Event, Publisher, RabbitPublisher, Topology};
use futures_util::StreamExt;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use reqwest::StatusCode;
use std::time::Duration;

fn topology(prefix: &str) -> Topology {
    Topology {
        prefix: prefix.to_owned(),
        expire_unused_ms: Some(60_000),
    }
}

/// The pipeline with the services publishing through a proxy to RabbitMQ, and the admin's
/// first login already in the audit log.
async fn pipeline_behind_a_broker_proxy() -> (test_support::Proxy, Pipeline, Tokens) {
    let proxy = test_support::Proxy::start("127.0.0.1:5672").await;
    let p = spawn_pipeline_via(
        Some(format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port)),
        None,
    )
    .await;
    let admin = p.admin().await;
    p.wait_for(&admin.access, "?action=LOGIN", 1).await;
    (proxy, p, admin)
}

#[tokio::test]
async fn the_broker_unreachable_while_serving_loses_nothing_and_doubles_nothing() {
    let (proxy, p, admin) = pipeline_behind_a_broker_proxy().await;

    proxy.cut();
    for _ in 0..5 {
        let res = p.login("admin@acme.example", ADMIN_PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "requests succeed while the broker is away"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(p.outbox_rows().await >= 5, "the events wait in the outbox");

    proxy.restore();
    let logins = p.wait_for(&admin.access, "?action=LOGIN", 6).await;
    assert_eq!(logins.len(), 6);
    // Exactly once, and the outbox is empty again once everything is confirmed.
    for _ in 0..100 {
        if p.outbox_rows().await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(p.outbox_rows().await, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        p.audit_logs(&admin.access, "?action=LOGIN").await["items"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn the_same_message_delivered_twice_is_stored_once() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let before = p.wait_for(&admin.access, "", 1).await.len();
    let company = p.audit_logs(&admin.access, "").await["items"][0]["company_id"]
        .as_str()
        .unwrap()
        .parse::<uuid::Uuid>()
        .unwrap();
    let publisher = RabbitPublisher::new(&test_support::amqp_url(), topology(&p.prefix));
    let event = Event::untyped("test", "DUPLICATED").company(company);
    let payload = serde_json::to_vec(&event).unwrap();
    for _ in 0..3 {
        publisher
            .publish(&event.routing_key(), event.id, &payload, None)
            .await
            .unwrap();
    }
    let found = p.wait_for(&admin.access, "?action=DUPLICATED", 1).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        p.audit_logs(&admin.access, "?action=DUPLICATED").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(found.len(), 1);
    assert_eq!(
        p.audit_logs(&admin.access, "").await["items"]
            .as_array()
            .unwrap()
            .len(),
        before + 1
    );
}

#[tokio::test]
async fn a_poison_message_goes_to_the_dead_letter_queue_and_the_rest_flow_on() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let t = topology(&p.prefix);
    let (_connection, channel) =
        publish_bare(&p.prefix, "event.test.garbage", b"{not an event").await;
    let (_, user) = p.user("agent", "After Poison").await;
    assert!(!user.access.is_empty());
    let created = p.wait_for(&admin.access, "?action=USER_CREATED", 1).await;
    assert_eq!(created.len(), 1, "later events still flow");

    let mut dead = channel
        .basic_consume(
            t.dead_letter_queue().into(),
            "test".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let message = tokio::time::timeout(Duration::from_secs(10), dead.next())
        .await
        .expect("a dead letter")
        .unwrap()
        .unwrap();
    assert_eq!(message.data, b"{not an event");
    assert_eq!(message.routing_key.as_str(), "event.test.garbage");
}

#[tokio::test]
async fn a_writer_killed_mid_stream_and_restarted_loses_nothing() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    p.wait_for(&admin.access, "?action=LOGIN", 1).await;
    // A second writer on the same queue, which we kill while events flow; the first
    // keeps consuming, and unacked messages go back to the queue.
    let (_, second) = spawn_writer(
        &p.database_url,
        p.db.clone(),
        &p.auth_grpc,
        &p.prefix,
        &test_support::amqp_url(),
    );
    let logins = (0..20).map(|_| p.login("admin@acme.example", ADMIN_PASSWORD));
    let statuses = futures_util::future::join_all(logins).await;
    assert!(statuses.iter().all(|r| r.status() == StatusCode::OK));
    second.abort();
    let (_, _restarted) = spawn_writer(
        &p.database_url,
        p.db.clone(),
        &p.auth_grpc,
        &p.prefix,
        &test_support::amqp_url(),
    );
    let all = p
        .wait_for(&admin.access, "?action=LOGIN&limit=200", 21)
        .await;
    assert_eq!(all.len(), 21, "the admin's first login and the 20 since");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        p.audit_logs(&admin.access, "?action=LOGIN&limit=200").await["items"]
            .as_array()
            .unwrap()
            .len(),
        21
    );
}

#[tokio::test]
async fn the_audit_database_failing_mid_stream_loses_nothing_and_doubles_nothing() {
    // The audit-writer reaches its database through a proxy we cut while events flow.
    let pg = test_support::Proxy::start("127.0.0.1:5432").await;
    let p = spawn_pipeline_via(None, Some(&pg)).await;
    let admin = p.admin().await;
    p.wait_for(&admin.access, "?action=LOGIN", 1).await;

    let logins = (0..10).map(|_| p.login("admin@acme.example", ADMIN_PASSWORD));
    futures_util::future::join_all(logins).await;
    pg.cut();
    for _ in 0..10 {
        assert_eq!(
            p.login("admin@acme.example", ADMIN_PASSWORD).await.status(),
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.restore();
    let logins = p
        .wait_for(&admin.access, "?action=LOGIN&limit=200", 21)
        .await;
    assert_eq!(logins.len(), 21);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let again = p.audit_logs(&admin.access, "?action=LOGIN&limit=200").await;
    assert_eq!(
        again["items"].as_array().unwrap().len(),
        21,
        "nothing doubled"
    );
    // Nothing was dead-lettered for the outage.
    let t = topology(&p.prefix);
    let connection =
        Connection::connect(&test_support::amqp_url(), ConnectionProperties::default())
            .await
            .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let q = channel
        .queue_declare(
            t.dead_letter_queue().into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    assert_eq!(q.message_count(), 0);
}

/// A broker that stops answering without closing anything (a memory alarm, a black-holed
/// link) cannot hang a relay: the publish gives up, is retried, and once the broker is
/// back the event arrives, once.
#[tokio::test]
async fn a_blocked_broker_cannot_hang_a_relay() {
    use sea_orm::ConnectionTrait;
    let (proxy, p, admin) = pipeline_behind_a_broker_proxy().await;

    proxy.stall();
    let res = p.login("admin@acme.example", ADMIN_PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "requests do not wait for the broker"
    );
    let deadline = tokio::time::Instant::now() + events::rabbit::PUBLISH_TIMEOUT * 2;
    let last_error = loop {
        let row =
            p.db.query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT max(last_error) AS e FROM outbox WHERE attempts > 0",
            ))
            .await
            .unwrap()
            .unwrap();
        if let Some(e) = row.try_get::<Option<String>>("", "e").unwrap() {
            break e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay is still waiting for the blocked broker"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(last_error.contains("within"), "{last_error}");

    proxy.restore();
    let logins = p
        .wait_for_within(&admin.access, "?action=LOGIN", 2, 40)
        .await;
    assert_eq!(logins.len(), 2);
}
