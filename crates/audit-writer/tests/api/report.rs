//! The security report through the real pipeline: sign-ins, a failed one, a password
//! change and a role change reach the daily aggregate with the events, and the report
//! reads them back as JSON and CSV.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn report(p: &Pipeline, token: &str, query: &str) -> reqwest::Response {
    p.call(
        &p.audit,
        Method::GET,
        &format!("/api/v1/audit-logs/report{query}"),
        token,
        None,
    )
    .await
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn the_security_report_counts_each_day_from_the_aggregate() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    p.admin().await;
    let res = p.login("admin@acme.example", "Not-the-password-1").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (agent_id, _agent) = p.user("agent", "Agent").await;
    let (_, viewer) = p.user("viewer", "Viewer").await;
    let res = p
        .call(
            &p.auth,
            Method::PATCH,
            &format!("/api/v1/users/{agent_id}"),
            &admin.access,
            Some(json!({"role": "manager"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = p
        .call(
            &p.auth,
            Method::POST,
            "/api/v1/users/me/password",
            &admin.access,
            Some(json!({"current_password": ADMIN_PASSWORD, "new_password": "Fresh-Harbour-77"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The events are in the log: then in the aggregate too (same transaction).
    let admin = p.login("admin@acme.example", "Fresh-Harbour-77").await;
    let admin = tokens_of(&body(admin).await);
    p.wait_for(&admin.access, "?action=PASSWORD_CHANGED", 1)
        .await;
    p.wait_for(&admin.access, "?action=LOGIN", 7).await;
    p.wait_for(&admin.access, "?action=LOGIN_FAILED", 1).await;
    p.wait_for(&admin.access, "?action=USER_UPDATED", 1).await;

    let day = today();
    let res = report(&p, &admin.access, &format!("?from={day}&to={day}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let r: Value = body(res).await;
    assert_eq!(r["days"].as_array().unwrap().len(), 1, "{r}");
    let counts = &r["days"][0]["counts"];
    // The admin four times (once to create each user), the agent, the viewer, the admin
    // with the new password.
    assert_eq!(counts["logins_succeeded"], 7, "{r}");
    assert_eq!(counts["logins_failed"], 1, "{r}");
    assert_eq!(counts["password_changes"], 1, "{r}");
    assert_eq!(counts["role_changes"], 1, "{r}");
    assert_eq!(counts["mfa_failures"], 0, "{r}");
    assert_eq!(r["totals"], *counts);

    // A week: every day is there, the quiet ones with zeros.
    let res = report(&p, &admin.access, &format!("?to={day}")).await;
    let r: Value = body(res).await;
    assert_eq!(r["days"].as_array().unwrap().len(), 30);
    assert_eq!(r["totals"]["logins_succeeded"], 7);

    let res = report(
        &p,
        &admin.access,
        &format!("?from={day}&to={day}&format=csv"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("day,logins_succeeded,logins_failed,lockouts"),
        "{csv}"
    );
    assert!(lines[1].starts_with(&format!("{day},7,1,0,1,")), "{csv}");

    // Not an admin: 403; bad ranges: 422.
    assert_eq!(
        report(&p, &viewer.access, "").await.status(),
        StatusCode::FORBIDDEN
    );
    for query in [
        "?from=2026-13-01",
        "?from=2026-12-07&to=2026-12-01",
        "?from=2020-01-01&to=2026-01-01",
        "?format=xml",
    ] {
        assert_eq!(
            report(&p, &admin.access, query).await.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
    }
}

/// Rows stored before the aggregate existed are counted into it by the migration that
/// creates it, on PostgreSQL and on SQLite (the embedded default), gathered failures by
/// their attempts.
#[tokio::test]
async fn the_migration_fills_the_aggregate_from_the_rows_already_stored() {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, Statement};
    let (_, pg) = test_support::fresh_database().await;
    let sqlite = service_runtime::db::connect("sqlite::memory:", 1)
        .await
        .unwrap();
    migration::migrate(&sqlite).await.unwrap();
    let company = uuid::Uuid::now_v7();
    for db in [&pg, &sqlite] {
        // Back to before the aggregate, rows in, and forward again.
        crate::helpers::migrate_back_before(db, "m20261207_000010_audit_daily").await;
        let backend = db.get_database_backend();
        for (action, details) in [
            ("LOGIN", "{}"),
            ("LOGIN", "{}"),
            ("LOGIN_FAILED", r#"{"attempts": 4}"#),
            ("USER_UPDATED", r#"{"role": "manager"}"#),
            ("USER_UPDATED", r#"{"full_name": "X"}"#),
            ("CANDIDATE_CREATED", "{}"),
        ] {
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO audit_logs (id, company_id, action, details, source, occurred_at, created_at) \
                 VALUES ($1, $2, $3, $4, 'auth', $5, $5)",
                [
                    uuid::Uuid::now_v7().into(),
                    company.into(),
                    action.into(),
                    details.into(),
                    time::macros::datetime!(2026-11-30 23:59:59 UTC).into(),
                ],
            ))
            .await
            .unwrap();
        }
        migration::Migrator::up(db, None).await.unwrap();
        let from = time::macros::date!(2026 - 11 - 30);
        let r = audit_writer::report::read(db, company, from, from)
            .await
            .unwrap();
        let counts = &r.days[0].counts;
        assert_eq!(counts["logins_succeeded"], 2, "{backend:?}: {counts:?}");
        assert_eq!(counts["logins_failed"], 4, "{backend:?}: {counts:?}");
        assert_eq!(counts["role_changes"], 1, "{backend:?}: {counts:?}");
        assert_eq!(r.totals.values().sum::<i64>(), 7, "{backend:?}");
    }
}
