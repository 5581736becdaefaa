//! Each publisher its own RabbitMQ user, allowed to write to the events exchange and
//! nothing else; every message carries the publisher's `user_id`, which RabbitMQ
//! validates; and the audit-writer dead-letters an event whose `source` its publisher may
//! not speak for. The users are made on the local broker with `rabbitmqctl`.

use crate::helpers::*;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::time::Duration;
use test_support::rabbit::RabbitUser;
use uuid::Uuid;

/// A RabbitMQ user that configures and reads nothing and writes the events exchange only.
fn publisher(role: &str, exchange: &str) -> RabbitUser {
    let write = format!("^{}$", test_support::rabbit::literal(exchange));
    RabbitUser::create(role, "^$", &write, "^$")
}

/// Publishes `event` to `exchange` as `user`, its `user_id` set to `claimed`: whether the
/// broker confirmed it.
async fn publish_as(
    user: &RabbitUser,
    claimed: &str,
    exchange: &str,
    event: &events::Event,
) -> bool {
    let payload = serde_json::to_vec(event).unwrap();
    test_support::rabbit::publish_as(user, claimed, exchange, &event.routing_key(), &payload).await
}

async fn stored(db: &sea_orm::DatabaseConnection, id: Uuid) -> bool {
    db.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT id FROM audit_logs WHERE id = '{id}'"),
    ))
    .await
    .unwrap()
    .is_some()
}

async fn dead_letters(topology: &events::Topology) -> u32 {
    let connection =
        Connection::connect(&test_support::amqp_url(), ConnectionProperties::default())
            .await
            .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let q = channel
        .queue_declare(
            topology.dead_letter_queue().as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    q.message_count()
}

#[tokio::test]
async fn an_event_its_publisher_may_not_send_is_dead_lettered() {
    let (database_url, conn) = test_support::fresh_database().await;
    let auth = test_support::spawn_auth(&database_url, conn.clone(), &[]).await;
    let topology = events::Topology {
        prefix: auth.amqp_prefix.clone(),
        expire_unused_ms: Some(60_000),
    };
    let exchange = topology.exchange();
    let auth_user = publisher("auth", &exchange);
    let interview_user = publisher("interview", &exchange);
    let publishers = serde_json::json!({
        auth_user.name.clone(): ["auth"],
        interview_user.name.clone(): ["interview"],
    })
    .to_string();
    let (_audit, _writer) = spawn_writer_with(
        &database_url,
        conn.clone(),
        &auth.grpc_address,
        &auth.amqp_prefix,
        &test_support::amqp_url(),
        &[("AUDIT_PUBLISHERS", publishers.as_str())],
    );
    // The writer declares the topology when it connects.
    let login = || events::Event::untyped("auth", "LOGIN").company(Uuid::now_v7());
    let first = login();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !publish_as(&auth_user, &auth_user.name, &exchange, &first).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the topology never appeared"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // auth's user speaks for auth: stored.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !stored(&conn, first.id).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "auth's own event not stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The interview service's user sends a LOGIN as if it were auth: the broker takes it
    // (it may write the exchange), the writer dead-letters it.
    let before = dead_letters(&topology).await;
    let forged = login();
    assert!(publish_as(&interview_user, &interview_user.name, &exchange, &forged).await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while dead_letters(&topology).await <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the forged event was not dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!stored(&conn, forged.id).await);

    // Claiming to be auth's user is refused by RabbitMQ itself (user_id is validated).
    let impostor = login();
    assert!(!publish_as(&interview_user, &auth_user.name, &exchange, &impostor).await);
    // And the user writes nowhere but the events exchange.
    let elsewhere = format!("{}revocations", auth.amqp_prefix);
    assert!(!publish_as(&interview_user, &interview_user.name, &elsewhere, &login()).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!stored(&conn, impostor.id).await);
}
