//! The audit log's hash chain through the real pipeline: rows are linked as they are
//! stored, the verifier (HTTP and the `verify` command) accepts an intact chain, names a
//! row edited behind the writer's back, names the gap a deleted row leaves, and two
//! writers appending at once never fork a chain.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::Value;
use uuid::Uuid;

async fn company_of(p: &Pipeline, admin: &Tokens) -> String {
    let me = body(
        p.call(
            &p.auth,
            Method::GET,
            "/api/v1/users/me",
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    me["company_id"].as_str().unwrap().to_owned()
}

async fn verify(p: &Pipeline, token: &str) -> Value {
    let res = p
        .call(
            &p.audit,
            Method::GET,
            "/api/v1/audit-logs/verify",
            token,
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    body(res).await
}

/// As the PostgreSQL superuser, past the append-only trigger.
async fn tamper(p: &Pipeline, sql: &str) {
    // One trigger refuses both UPDATE and DELETE.
    let trigger = "audit_logs_no_update";
    for stmt in [
        format!("ALTER TABLE audit_logs DISABLE TRIGGER {trigger}"),
        sql.to_owned(),
        format!("ALTER TABLE audit_logs ENABLE TRIGGER {trigger}"),
    ] {
        p.db.execute_raw(Statement::from_string(DbBackend::Postgres, stmt))
            .await
            .unwrap();
    }
}

/// The company's chained rows (id, seq), in chain order.
async fn chain_of(p: &Pipeline, company: &str) -> Vec<(Uuid, i64)> {
    p.db.query_all_raw(Statement::from_string(
        DbBackend::Postgres,
        format!(
            "SELECT id, chain_seq FROM audit_logs WHERE company_id = '{company}' \
             AND chain_seq IS NOT NULL ORDER BY chain_seq"
        ),
    ))
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get("", "id").unwrap(),
            r.try_get("", "chain_seq").unwrap(),
        )
    })
    .collect()
}

/// Signs in `n` times and waits until the audit log has the `n` LOGIN entries.
async fn logins(p: &Pipeline, admin: &Tokens, n: usize) {
    for _ in 0..n {
        p.admin().await;
    }
    // The admin's own first sign-in is one more.
    let items = p.wait_for(&admin.access, "?action=LOGIN", n + 1).await;
    assert!(items.len() > n, "{} LOGIN entries", items.len());
}

fn run_verify_command(p: &Pipeline, company: &str) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_audit-writer"))
        .args(["verify", "--company", company])
        .env("DATABASE_URL", &p.database_url)
        .env("AUDIT_CHAIN_KEY", test_support::CHAIN_KEY)
        .env("LOG_LEVEL", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn the_chain_verifies_and_names_an_edited_row() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let company = company_of(&p, &admin).await;
    logins(&p, &admin, 5).await;

    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["checked"].as_u64().unwrap() >= 6, "{report}");
    assert!(report["first_broken"].is_null());
    assert_eq!(report["head_hash"].as_str().unwrap().len(), 64);
    let (ok, out) = run_verify_command(&p, &company);
    assert!(ok, "{out}");
    assert!(out.contains("\"ok\":true"), "{out}");

    // Not an admin: 403.
    let (_, agent) = p.user("agent", "Agent").await;
    let res = p
        .call(
            &p.audit,
            Method::GET,
            "/api/v1/audit-logs/verify",
            &agent.access,
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Edit the third row behind the writer's back: the verifier names it.
    let rows = chain_of(&p, &company).await;
    let (edited, seq) = rows[2];
    assert_eq!(seq, 3);
    tamper(
        &p,
        &format!("UPDATE audit_logs SET details = '{{\"ip_address\":\"10.6.6.6\"}}' WHERE id = '{edited}'"),
    )
    .await;
    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_broken"]["id"], edited.to_string(), "{report}");
    assert_eq!(report["first_broken"]["reason"], "hash_mismatch");
    assert_eq!(report["checked"], 2);
    let (ok, out) = run_verify_command(&p, &company);
    assert!(!ok, "the command exits 1 on a broken chain: {out}");
    assert!(out.contains(&edited.to_string()), "{out}");
}

#[tokio::test]
async fn a_deleted_row_is_named_as_a_gap_and_a_cut_end_is_found() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let company = company_of(&p, &admin).await;
    logins(&p, &admin, 4).await;
    let rows = chain_of(&p, &company).await;
    assert!(rows.len() >= 5);

    // The last row cut off: the head is ahead of what is left.
    let (last, _) = *rows.last().unwrap();
    tamper(&p, &format!("DELETE FROM audit_logs WHERE id = '{last}'")).await;
    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(
        report["first_broken"]["reason"], "missing_rows_at_end",
        "{report}"
    );

    // A row from the middle: the one after it is named, the gap's position given.
    let (gone, seq) = rows[1];
    tamper(&p, &format!("DELETE FROM audit_logs WHERE id = '{gone}'")).await;
    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["first_broken"]["id"],
        rows[2].0.to_string(),
        "{report}"
    );
    assert_eq!(report["first_broken"]["seq"], seq);
    assert_eq!(report["first_broken"]["reason"], "missing_rows");
}

#[tokio::test]
async fn two_writers_appending_at_once_never_fork_a_chain() {
    let p = spawn_pipeline().await;
    // A second writer on the same queue: deliveries are shared between the two.
    let conn = service_runtime::db::connect(&p.database_url, 2)
        .await
        .unwrap();
    let (_second, _task) = spawn_writer(
        &p.database_url,
        conn,
        &p.auth_grpc,
        &p.prefix,
        &test_support::amqp_url(),
    );
    let admin = p.admin().await;
    let company = company_of(&p, &admin).await;
    let signins: Vec<_> = (0..40).map(|_| p.admin()).collect();
    futures_util::future::join_all(signins).await;
    p.wait_for(&admin.access, "?action=LOGIN&limit=200", 41)
        .await;

    let rows = chain_of(&p, &company).await;
    let seqs: Vec<i64> = rows.iter().map(|(_, s)| *s).collect();
    let expected: Vec<i64> = (1..=i64::try_from(rows.len()).unwrap()).collect();
    assert_eq!(seqs, expected, "one chain, no gap, no fork");
    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["checked"], rows.len());
}
