//! Each publisher its own RabbitMQ user, allowed to write to the events exchange and
//! nothing else; every message carries the publisher's `user_id`, which RabbitMQ
//! validates; and the audit-writer dead-letters an event whose `source` its publisher may
//! not speak for. The users are made on the local broker with `rabbitmqctl`.

use crate::helpers::*;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use std::time::Duration;
use uuid::Uuid;

/// A RabbitMQ user who may write to `exchange` only; deleted when dropped.
struct RabbitUser {
    name: String,
    password: String,
}

fn rabbitmqctl(args: &[&str]) {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl RabbitUser {
    fn create(role: &str, exchange: &str) -> Self {
        let name = format!("aipt-{role}-{}", Uuid::new_v4().simple());
        let password = Uuid::new_v4().simple().to_string();
        rabbitmqctl(&["add_user", &name, &password]);
        // Configure and read nothing; write the events exchange only.
        let write = format!("^{}$", exchange.replace('.', "\\."));
        rabbitmqctl(&["set_permissions", "-p", "/", &name, "^$", &write, "^$"]);
        Self { name, password }
    }

    fn url(&self) -> String {
        test_support::amqp_url().replacen(
            "guest:guest",
            &format!("{}:{}", self.name, self.password),
            1,
        )
    }
}

impl Drop for RabbitUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["delete_user", &self.name])
            .output();
    }
}

/// Publishes `event` to `exchange` as `user`, its `user_id` set to `claimed`: whether the
/// broker confirmed it.
async fn publish_as(
    user: &RabbitUser,
    claimed: &str,
    exchange: &str,
    event: &events::Event,
) -> bool {
    let connection = Connection::connect(&user.url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let payload = serde_json::to_vec(event).unwrap();
    let sent = channel
        .basic_publish(
            exchange.into(),
            event.routing_key().as_str().into(),
            // Mandatory: a message no queue takes yet (the topology half declared) comes
            // back rather than vanishing.
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            &payload,
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_user_id(claimed.into()),
        )
        .await;
    let confirmed = match sent {
        Ok(confirm) => matches!(
            tokio::time::timeout(Duration::from_secs(5), confirm).await,
            Ok(Ok(lapin::Confirmation::Ack(None)))
        ),
        Err(_) => false,
    };
    let _ = connection.close(0, "done".into()).await;
    confirmed
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
    let auth_user = RabbitUser::create("auth", &exchange);
    let interview_user = RabbitUser::create("interview", &exchange);
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
