//! Least privilege, enforced by PostgreSQL: each service connects as its own role, which
//! owns nothing and may touch only its own tables and its own outbox rows. Proven by
//! connecting as each role; and the pipeline runs end to end with every service on its
//! role.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;

/// The test database's URL, connecting as `role`.
fn as_role(database_url: &str, role: &str) -> String {
    let (scheme, rest) = database_url.split_once("://").unwrap();
    let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{role}@{rest}")
}

async fn connect_as(database_url: &str, role: &str) -> DatabaseConnection {
    service_runtime::db::connect(&as_role(database_url, role), 2)
        .await
        .unwrap()
}

/// Runs `sql`; the error text when PostgreSQL refuses it.
async fn refused(db: &DatabaseConnection, sql: &str) -> Option<String> {
    db.execute_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .err()
        .map(|e| e.to_string())
}

async fn assert_refused(db: &DatabaseConnection, role: &str, sql: &str) {
    let err = refused(db, sql).await;
    let text = err.unwrap_or_else(|| panic!("{role} was allowed: {sql}"));
    assert!(
        text.contains("permission denied")
            || text.contains("must be owner")
            || text.contains("row-level security")
            || text.contains("violates row-level security"),
        "{role}: {sql}: {text}"
    );
}

#[tokio::test]
async fn each_service_role_is_held_to_its_own_tables_by_the_database() {
    let (url, _owner) = test_support::fresh_database().await;
    for role in ["aip_auth", "aip_interview", "aip_scoring", "aip_audit"] {
        let db = connect_as(&url, role).await;
        // No role owns a table: no ALTER, no switching the append-only triggers off, no
        // TRUNCATE, no replication mode that skips triggers.
        for sql in [
            "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update",
            "ALTER TABLE audit_logs ADD COLUMN forged text",
            "TRUNCATE audit_logs",
            "SET session_replication_role = replica",
            "DROP TABLE outbox",
            "UPDATE audit_logs SET action = 'X'",
            "DELETE FROM audit_logs",
            "CREATE TABLE planted (x int)",
        ] {
            assert_refused(&db, role, sql).await;
        }
    }
    // Each reads and writes its own tables only.
    let auth = connect_as(&url, "aip_auth").await;
    assert!(refused(&auth, "SELECT count(*) FROM users").await.is_none());
    for sql in [
        "SELECT count(*) FROM candidates",
        "SELECT count(*) FROM scorecards",
        "SELECT count(*) FROM audit_logs",
        "SELECT count(*) FROM audit_pii",
        "SELECT count(*) FROM notifications",
    ] {
        assert_refused(&auth, "aip_auth", sql).await;
    }
    let interview = connect_as(&url, "aip_interview").await;
    assert!(
        refused(&interview, "SELECT count(*) FROM candidates")
            .await
            .is_none()
    );
    for sql in [
        "SELECT count(*) FROM users",
        "SELECT count(*) FROM sessions",
        "SELECT count(*) FROM rubrics",
    ] {
        assert_refused(&interview, "aip_interview", sql).await;
    }
    let scoring = connect_as(&url, "aip_scoring").await;
    assert!(
        refused(&scoring, "SELECT count(*) FROM scorecards")
            .await
            .is_none()
    );
    assert_refused(&scoring, "aip_scoring", "SELECT count(*) FROM interviews").await;
    let audit = connect_as(&url, "aip_audit").await;
    assert!(
        refused(&audit, "SELECT count(*) FROM audit_logs")
            .await
            .is_none()
    );
    for sql in [
        "SELECT count(*) FROM users",
        "SELECT count(*) FROM outbox",
        // Personal data is erased, never rewritten: its digest is in the chain.
        "UPDATE audit_pii SET data = '{}'",
    ] {
        assert_refused(&audit, "aip_audit", sql).await;
    }
    // Rows leave only by retention, run as the owner: no service role detaches or drops a
    // month, or moves where a chain resumes.
    let now = time::OffsetDateTime::now_utc();
    let month = format!("audit_logs_y{}m{:02}", now.year(), u8::from(now.month()));
    for sql in [
        format!("ALTER TABLE audit_logs DETACH PARTITION {month}"),
        format!("DROP TABLE {month}"),
        format!("TRUNCATE {month}"),
        "INSERT INTO audit_chain_anchors VALUES (gen_random_uuid(), 1, 'x', 'p', now())".to_owned(),
    ] {
        assert_refused(&audit, "aip_audit", &sql).await;
    }
    assert_refused(
        &auth,
        "aip_auth",
        "SELECT audit_ensure_partitions(current_date, 3)",
    )
    .await;
    for sql in [
        "SELECT count(*) FROM audit_pii",
        "DELETE FROM audit_pii",
        "DELETE FROM notifications",
        // The next months' partitions, made ahead through the owner's function.
        "SELECT audit_ensure_partitions(current_date, 4)",
        "SELECT count(*) FROM audit_chain_anchors",
    ] {
        assert!(refused(&audit, sql).await.is_none(), "aip_audit: {sql}");
    }

    // The outbox is shared, its rows are not: interview can neither write auth's events nor
    // see them.
    let row = |source: &str| {
        format!(
            "INSERT INTO outbox (id, source, routing_key, payload, created_at, attempts, next_attempt_at) \
             VALUES (gen_random_uuid(), '{source}', 'event.{source}.login', '{{}}', now(), 0, now())"
        )
    };
    assert_refused(&interview, "aip_interview", &row("auth")).await;
    assert!(refused(&auth, &row("auth")).await.is_none());
    let outbox_rows = "SELECT count(*) AS n FROM outbox";
    assert_eq!(
        one::<i64>(&interview, outbox_rows).await,
        0,
        "auth's outbox row is invisible to interview"
    );

    // A drained slot of the outbox is emptied only through the owner's function, which
    // sees every service's rows: interview cannot wipe auth's waiting entry (slot 0), nor
    // truncate a slot itself; the audit-writer, which writes no outbox, may not call it.
    for sql in ["TRUNCATE outbox_0", "TRUNCATE outbox"] {
        assert_refused(&interview, "aip_interview", sql).await;
    }
    assert_refused(
        &audit,
        "aip_audit",
        "SELECT outbox_truncate_slot(1::smallint)",
    )
    .await;
    assert!(
        !one::<bool>(&interview, "SELECT outbox_truncate_slot(0::smallint) AS n").await,
        "a slot holding an entry is never truncated"
    );
    assert_eq!(
        one::<i64>(&auth, outbox_rows).await,
        1,
        "auth's entry is still there"
    );
}

#[tokio::test]
async fn the_pipeline_runs_with_every_service_on_its_own_role() {
    let (url, owner) = test_support::fresh_database().await;
    seed_company(&owner, "Acme", "admin@acme.example").await;
    let auth_url = as_role(&url, "aip_auth");
    let auth = test_support::spawn_auth(&auth_url, connect_as(&url, "aip_auth").await, &[]).await;
    let interview_url = as_role(&url, "aip_interview");
    let interview = test_support::spawn_interview(
        &interview_url,
        connect_as(&url, "aip_interview").await,
        &auth.grpc_address,
        &auth.amqp_prefix,
        &[],
    )
    .await;
    let audit_url = as_role(&url, "aip_audit");
    let (audit, _writer) = spawn_writer(
        &audit_url,
        connect_as(&url, "aip_audit").await,
        &auth.grpc_address,
        &auth.amqp_prefix,
        &test_support::amqp_url(),
    );
    let client = test_support::client();
    let admin =
        test_support::login_ok(&client, &auth.address, "admin@acme.example", ADMIN_PASSWORD).await;
    let res = send(
        &client,
        Method::POST,
        &format!("{}/api/v1/candidates", interview.address),
        &admin.access,
        Some(json!({"full_name": "Grace Hopper", "email": "grace@example.com"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Both services' events reach the log through the writer on its role, chained.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let res = send(
            &client,
            Method::GET,
            &format!("{audit}/api/v1/audit-logs"),
            &admin.access,
            None,
        )
        .await;
        let items = body(res).await["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let actions: Vec<String> = items
            .iter()
            .filter_map(|i| i["action"].as_str().map(str::to_owned))
            .collect();
        if actions.iter().any(|a| a == "LOGIN") && actions.iter().any(|a| a == "CANDIDATE_CREATED")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "events missing: {actions:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let res = send(
        &client,
        Method::GET,
        &format!("{audit}/api/v1/audit-logs/verify"),
        &admin.access,
        None,
    )
    .await;
    assert_eq!(body(res).await["ok"], true);
}
