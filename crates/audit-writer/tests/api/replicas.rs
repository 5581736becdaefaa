//! Two replicas of every service and of the audit-writer on one database and one broker:
//! every event is published once and stored once, and the sign-in limits and the lockout
//! are shared by the auth replicas (through Redis).

use crate::helpers::*;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn two_replicas_of_everything_store_each_event_once_and_share_the_limits() {
    let (database_url, conn) = test_support::fresh_database().await;
    let prefix = test_support::amqp_prefix();
    let redis_prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let shared = [
        ("AMQP_PREFIX", prefix.as_str()),
        ("REDIS_KEY_PREFIX", redis_prefix.as_str()),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "30"),
    ];
    let auths = [
        test_support::spawn_auth(&database_url, conn.clone(), &shared).await,
        test_support::spawn_auth(&database_url, conn.clone(), &shared).await,
    ];
    let mut interviews = Vec::new();
    for auth in &auths {
        interviews.push(
            test_support::spawn_interview(
                &database_url,
                conn.clone(),
                &auth.grpc_address,
                &prefix,
                &[],
            )
            .await,
        );
    }
    // A spy on the exchange: every message the relays publish, by id.
    let spy_conn = Connection::connect(&test_support::amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let spy = spy_conn.create_channel().await.unwrap();
    let topology = events::Topology {
        prefix: prefix.clone(),
        expire_unused_ms: Some(60_000),
    };
    topology.declare(&spy).await.unwrap();
    let queue = spy
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    spy.queue_bind(
        queue.name().as_str().into(),
        topology.exchange().as_str().into(),
        "event.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let mut deliveries = spy
        .basic_consume(
            queue.name().as_str().into(),
            "spy".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut writers = Vec::new();
    for _ in 0..2 {
        let c = service_runtime::db::connect(&database_url, 2)
            .await
            .unwrap();
        writers.push(spawn_writer(
            &database_url,
            c,
            &auths[0].grpc_address,
            &prefix,
            &test_support::amqp_url(),
        ));
    }
    seed_company(&conn, "Acme", "admin@acme.example").await;
    let client = test_support::client();

    // Sign-ins and candidates, spread over both replicas, at once.
    let signins =
        (0..20).map(|i| {
            let base = auths[i % 2].address.clone();
            let client = client.clone();
            async move {
                test_support::login_ok(&client, &base, "admin@acme.example", ADMIN_PASSWORD).await
            }
        });
    let tokens: Vec<Tokens> = futures_util::future::join_all(signins).await;
    let creates = (0..20).map(|i| {
        let base = interviews[i % 2].address.clone();
        let client = client.clone();
        let token = tokens[i].access.clone();
        async move {
            send(
                &client,
                Method::POST,
                &format!("{base}/api/v1/candidates"),
                &token,
                Some(json!({"full_name": format!("Candidate {i}"), "email": format!("c{i}@example.com")})),
            )
            .await
            .status()
        }
    });
    for status in futures_util::future::join_all(creates).await {
        assert_eq!(status, StatusCode::CREATED);
    }

    // Every event stored once...
    let count = |action: &'static str| {
        let conn = conn.clone();
        async move {
            conn.query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs WHERE action = '{action}'"),
            ))
            .await
            .unwrap()
            .map(|r| (r.try_get::<i64>("", "n").unwrap(), r.try_get::<i64>("", "d").unwrap()))
            .unwrap()
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (logins, _) = count("LOGIN").await;
        let (created, _) = count("CANDIDATE_CREATED").await;
        if logins >= 20 && created >= 20 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{logins} LOGIN, {created} CANDIDATE_CREATED"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count("LOGIN").await, (20, 20));
    assert_eq!(count("CANDIDATE_CREATED").await, (20, 20));
    // ... and published once: the spy saw each id one time.
    let mut seen: HashMap<String, u32> = HashMap::new();
    while let Ok(Some(Ok(d))) =
        tokio::time::timeout(Duration::from_millis(500), deliveries.next()).await
    {
        // A message carries one event or several (`events::batch`).
        for e in events::batch::decode::<events::Event>(&d.data).unwrap() {
            *seen.entry(e.id.to_string()).or_insert(0) += 1;
        }
        d.ack(BasicAckOptions::default()).await.unwrap();
    }
    assert!(seen.len() >= 40, "the spy saw {} events", seen.len());
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    let (left,): (i64,) = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM outbox".to_owned(),
        ))
        .await
        .unwrap()
        .map(|r| (r.try_get("", "n").unwrap(),))
        .unwrap();
    assert_eq!(left, 0, "every outbox entry published and gone");

    // The replicas share the lockout: five wrong passwords over both lock the account on
    // both, the right one is refused afterwards.
    for i in 0..5 {
        let res = test_support::login(
            &client,
            &auths[i % 2].address,
            "admin@acme.example",
            "Wrong-password-1",
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    for auth in &auths {
        let res =
            test_support::login(&client, &auth.address, "admin@acme.example", ADMIN_PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "locked on every replica"
        );
    }
    // ... and the sign-in limit: 30 a minute per address and account, counted together.
    let mut limited = None;
    for i in 0..40 {
        let res = test_support::login(
            &client,
            &auths[i % 2].address,
            "nobody@acme.example",
            "Wrong-password-1",
        )
        .await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(i);
            break;
        }
    }
    assert_eq!(
        limited,
        Some(30),
        "the 31st attempt over both replicas is refused"
    );
}
