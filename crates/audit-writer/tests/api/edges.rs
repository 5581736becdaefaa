//! Hostile input at the audit-writer: its queries, and messages that do not fit or can
//! never be stored.

use crate::helpers::*;
use events::{Event, Notification, Topology};
use futures_util::StreamExt;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use std::time::Duration;
use uuid::Uuid;

fn topology(prefix: &str) -> Topology {
    Topology {
        prefix: prefix.to_owned(),
        expire_unused_ms: Some(60_000),
    }
}

async fn company_of(p: &Pipeline, token: &str) -> Uuid {
    p.wait_for(token, "?action=LOGIN", 1).await[0]["company_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn bad_query_text_and_paging_are_422_never_a_claimed_outage() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    for (path, field) in [
        ("/api/v1/audit-logs?action=%00", "action"),
        ("/api/v1/audit-logs?resource_id=a%00b", "resource_id"),
        ("/api/v1/audit-logs?limit=0", "limit"),
        ("/api/v1/notifications?skip=9223372036854775808", "skip"),
        ("/api/v1/notifications?skip=18446744073709551615", "skip"),
        ("/api/v1/notifications?limit=-1", "limit"),
    ] {
        let res = p
            .call(&p.audit, Method::GET, path, &admin.access, None)
            .await;
        let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(detail.contains(field), "{path}: {detail}");
    }
}

#[tokio::test]
async fn fields_longer_than_their_columns_are_cut_to_fit_not_a_failed_batch() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let company = company_of(&p, &admin.access).await;
    let long_kind = format!("LONG_{}", "K".repeat(200));
    let mut event = Event::untyped("test", &long_kind)
        .company(company)
        .resource(&"t".repeat(300), "i".repeat(300));
    event.source = format!("te\u{0}st{}", "s".repeat(100));
    publish_bare(
        &p.prefix,
        "event.test.long",
        &serde_json::to_vec(&event).unwrap(),
    )
    .await;
    let cut: String = long_kind.chars().take(64).collect();
    let stored = p
        .wait_for(&admin.access, &format!("?action={cut}"), 1)
        .await;
    assert_eq!(stored.len(), 1, "the overlong event is stored");
    let e = &stored[0];
    assert_eq!(e["resource_type"].as_str().unwrap().len(), 64);
    assert_eq!(e["resource_id"].as_str().unwrap().len(), 64);
    assert_eq!(
        e["source"].as_str().unwrap(),
        format!("test{}", "s".repeat(28))
    );

    let (user, user_t) = p.user("agent", "Long Title").await;
    let note = Notification::untyped(company, user, "LONG", "T".repeat(1000), "b".repeat(20_000))
        .resource("interview", Uuid::new_v4());
    publish_bare(
        &p.prefix,
        "notification.long",
        &serde_json::to_vec(&note).unwrap(),
    )
    .await;
    let mut notes = Vec::new();
    for _ in 0..100 {
        let res = p
            .call(
                &p.audit,
                Method::GET,
                "/api/v1/notifications",
                &user_t.access,
                None,
            )
            .await;
        notes = body(res).await.as_array().cloned().unwrap();
        if !notes.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["title"].as_str().unwrap().len(), 300);
    assert_eq!(notes[0]["body"].as_str().unwrap().len(), 10_000);
}

/// A message the database keeps refusing, published without an AMQP message id, is
/// counted by its envelope id across redeliveries and dead-lettered; it cannot loop.
#[tokio::test]
async fn a_message_that_can_never_be_stored_is_dead_lettered_even_without_a_message_id() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let company = company_of(&p, &admin.access).await;
    p.db.execute_unprepared(
        "CREATE FUNCTION refuse_unstorable() RETURNS trigger AS $$ BEGIN \
           IF NEW.action = 'UNSTORABLE' THEN RAISE EXCEPTION 'refused for the test'; END IF; \
           RETURN NEW; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER refuse_unstorable BEFORE INSERT ON audit_logs \
           FOR EACH ROW EXECUTE FUNCTION refuse_unstorable();",
    )
    .await
    .unwrap();
    let event = Event::untyped("test", "UNSTORABLE").company(company);
    let payload = serde_json::to_vec(&event).unwrap();
    let (_connection, channel) = publish_bare(&p.prefix, "event.test.unstorable", &payload).await;

    let mut dead = channel
        .basic_consume(
            topology(&p.prefix).dead_letter_queue().into(),
            "test".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let message = tokio::time::timeout(Duration::from_secs(20), dead.next())
        .await
        .expect("the unstorable message is dead-lettered")
        .unwrap()
        .unwrap();
    assert_eq!(message.data, payload);
    // And the events behind it flow on.
    p.user("agent", "After Unstorable").await;
    assert_eq!(
        p.wait_for(&admin.access, "?action=USER_CREATED", 1)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn each_user_has_so_many_audit_queries_a_minute() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let conn = service_runtime::db::connect(&p.database_url, 2)
        .await
        .unwrap();
    let (limited, _writer) = spawn_writer_with(
        &p.database_url,
        conn,
        &p.auth_grpc,
        &test_support::amqp_prefix(),
        &test_support::amqp_url(),
        &[("API_RATE_LIMIT_PER_MINUTE", "2")],
    );
    let url = format!("{limited}/api/v1/audit-logs");
    for remaining in [1, 0] {
        let res = send(&p.client, Method::GET, &url, &admin.access, None).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            test_support::quota_of(&res).map(|q| (q.0, q.1)),
            Some((2, remaining))
        );
    }
    let res = send(&p.client, Method::GET, &url, &admin.access, None).await;
    assert!(res.headers().contains_key("retry-after"));
    let detail = assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(detail.starts_with("Too many requests"), "{detail}");
}
