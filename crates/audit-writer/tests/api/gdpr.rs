//! GDPR on the audit-writer's side, through the real pipeline: personal data is kept beside
//! the hash chain and merged back for readers; a user's or a candidate's erasure deletes
//! exactly their data (the audit log's and the notifications') while the chain still
//! verifies; the verifier tells erased data from changed data; the export parts show a
//! company its own data only. And the embedded default (SQLite, in-process writer) does
//! the same.

use crate::helpers::*;
use events::{Event, Notification};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

async fn company_of(p: &Pipeline, token: &str) -> Uuid {
    let me = body(
        p.call(&p.auth, Method::GET, "/api/v1/users/me", token, None)
            .await,
    )
    .await;
    me["company_id"].as_str().unwrap().parse().unwrap()
}

/// A user of the admin's company with this email and name; its id.
async fn create_user(p: &Pipeline, admin: &Tokens, email: &str, name: &str, role: &str) -> Uuid {
    let res = p
        .call(
            &p.auth,
            Method::POST,
            "/api/v1/users",
            &admin.access,
            Some(json!({"email": email, "full_name": name, "password": test_support::USER_PASSWORD, "role": role})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "create {email}");
    id_of(&body(res).await)
}

/// Publishes an event as its service's relay would (no publisher check in these tests).
async fn publish(p: &Pipeline, e: &Event) {
    publish_bare(&p.prefix, &e.routing_key(), &serde_json::to_vec(e).unwrap()).await;
}

async fn notify(p: &Pipeline, n: &Notification) {
    publish_bare(&p.prefix, &n.routing_key(), &serde_json::to_vec(n).unwrap()).await;
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap()
}

async fn texts(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("", "t").unwrap())
        .collect()
}

/// Waits (up to 15 s) until `sql` counts at least `n`.
async fn until(db: &DatabaseConnection, sql: &str, n: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while scalar(db, sql).await < n {
        assert!(tokio::time::Instant::now() < deadline, "never {n}: {sql}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

fn run_verify_command(p: &Pipeline, company: Uuid) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_audit-writer"))
        .args(["verify", "--company", &company.to_string()])
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

/// The personal data rows of the company's audit rows about a user.
fn pii_about_user(company: Uuid, user: Uuid) -> String {
    format!(
        "SELECT count(*) AS n FROM audit_pii p JOIN audit_logs l ON l.id = p.log_id \
         WHERE l.company_id = '{company}' \
         AND (l.user_id = '{user}' OR (l.resource_type = 'user' AND l.resource_id = '{user}'))"
    )
}

/// As the PostgreSQL superuser, past the append-only trigger.
async fn tamper_log(db: &DatabaseConnection, sql: &str) {
    for stmt in [
        "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update",
        sql,
        "ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_no_update",
    ] {
        db.execute_unprepared(stmt).await.unwrap();
    }
}

#[tokio::test]
async fn personal_data_is_kept_beside_the_chain_and_merged_back_for_readers() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    create_user(&p, &admin, "grace.h@example.org", "Grace Hopper", "agent").await;
    let items = p.wait_for(&admin.access, "?action=USER_CREATED", 1).await;
    let created = &items[0];
    assert_eq!(
        created["details"]["email"], "grace.h@example.org",
        "{created}"
    );
    assert_eq!(created["details"]["role"], "agent");
    assert_eq!(created["pii_erased"], false);
    let id = created["id"].as_str().unwrap();

    // In the chained row: the rest and the digest; the email only in the side table.
    let row =
        p.db.query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT l.details, l.pii_digest, l.chain_version, p.data FROM audit_logs l \
                 JOIN audit_pii p ON p.log_id = l.id WHERE l.id = '{id}'"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let details: String = row.try_get("", "details").unwrap();
    let digest: String = row.try_get("", "pii_digest").unwrap();
    let version: i16 = row.try_get("", "chain_version").unwrap();
    let data: String = row.try_get("", "data").unwrap();
    assert!(!details.contains("grace"), "{details}");
    assert!(details.contains("agent"), "{details}");
    assert_eq!(digest.len(), 64);
    assert_eq!(version, 2);
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap(),
        json!({"email": "grace.h@example.org"})
    );
    let logins = p.wait_for(&admin.access, "?action=LOGIN", 1).await;
    assert_eq!(
        logins[0]["details"]["ip_address"], "127.0.0.1",
        "{}",
        logins[0]
    );
    assert!(
        scalar(
            &p.db,
            "SELECT count(*) AS n FROM audit_logs WHERE details LIKE '%127.0.0.1%' \
             OR details LIKE '%@example.org%'"
        )
        .await
            == 0,
        "no personal data in the chained rows"
    );
    assert_eq!(verify(&p, &admin.access).await["ok"], true);
}

#[tokio::test]
async fn erasing_a_user_removes_only_their_personal_data_and_the_chain_still_verifies() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let company = company_of(&p, &admin.access).await;
    // Before the accounts exist: failed sign-ins of no company, with their emails.
    for email in ["Ada.Lovelace@Example.org", "bob.byte@example.org"] {
        let res = p.login(email, "Wrong-Pass-1").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let ada = create_user(
        &p,
        &admin,
        "ada.lovelace@example.org",
        "Ada Lovelace",
        "agent",
    )
    .await;
    let bob = create_user(&p, &admin, "bob.byte@example.org", "Bob Byte", "agent").await;
    for email in ["ada.lovelace@example.org", "bob.byte@example.org"] {
        p.login(email, test_support::USER_PASSWORD).await;
    }
    notify(
        &p,
        &Notification::untyped(
            company,
            ada,
            "TEST_NOTE",
            "For Ada Lovelace".into(),
            "Hello".into(),
        ),
    )
    .await;
    notify(
        &p,
        &Notification::untyped(
            company,
            bob,
            "TEST_NOTE",
            "Interview with Ada Lovelace".into(),
            "Ada Lovelace (ada.lovelace@example.org) and Bob Byte".into(),
        ),
    )
    .await;
    until(&p.db, "SELECT count(*) AS n FROM notifications", 2).await;
    until(
        &p.db,
        "SELECT count(*) AS n FROM audit_logs WHERE company_id IS NULL",
        2,
    )
    .await;
    p.wait_for(&admin.access, "?action=USER_CREATED", 2).await;
    for user in [ada, bob] {
        p.wait_for(&admin.access, &format!("?action=LOGIN&user_id={user}"), 1)
            .await;
    }
    let about_ada = scalar(&p.db, &pii_about_user(company, ada)).await;
    let about_bob = scalar(&p.db, &pii_about_user(company, bob)).await;
    assert!(about_ada >= 2, "USER_CREATED and LOGIN: {about_ada}");

    let erased = Event::untyped("auth", "USER_ERASED")
        .company(company)
        .actor(Uuid::nil())
        .resource("user", ada)
        .details(json!({
            "erase_terms": ["Ada Lovelace", "ada.lovelace@example.org", "By", ""],
            "sessions_ended": 1,
        }));
    publish(&p, &erased).await;
    let items = p.wait_for(&admin.access, "?action=USER_ERASED", 1).await;
    assert_eq!(
        items[0]["details"],
        json!({"sessions_ended": 1}),
        "its terms are gone too"
    );
    assert_eq!(items[0]["pii_erased"], true);

    // Ada's personal data is gone from the log; Bob's is all there.
    assert_eq!(scalar(&p.db, &pii_about_user(company, ada)).await, 0);
    assert_eq!(
        scalar(&p.db, &pii_about_user(company, bob)).await,
        about_bob
    );
    let created = p.audit_logs(&admin.access, "?action=USER_CREATED").await["items"]
        .as_array()
        .cloned()
        .unwrap();
    for entry in &created {
        let about = entry["resource_id"].as_str().unwrap();
        if about == ada.to_string() {
            assert_eq!(entry["details"], json!({"role": "agent"}), "{entry}");
            assert_eq!(entry["pii_erased"], true);
        } else {
            assert_eq!(entry["details"]["email"], "bob.byte@example.org", "{entry}");
            assert_eq!(entry["pii_erased"], false);
        }
    }
    // Of the failed sign-ins of no company, Ada's (another case) went, Bob's stayed.
    let left = texts(
        &p.db,
        "SELECT data AS t FROM audit_pii WHERE company_id IS NULL",
    )
    .await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains("bob.byte@example.org"), "{left:?}");

    // Ada's notifications went; Bob's no longer names her (a short term is ignored).
    let notes = texts(
        &p.db,
        &format!(
            "SELECT title || ' | ' || body AS t FROM notifications WHERE company_id = '{company}'"
        ),
    )
    .await;
    assert_eq!(
        notes,
        vec!["Interview with [erased] | [erased] ([erased]) and Bob Byte".to_owned()]
    );

    // The chain holds, the erased rows counted: HTTP and the command.
    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["pii_erased"], about_ada + 1, "{report}");
    let (ok, out) = run_verify_command(&p, company);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("\"pii_erased\":{}", about_ada + 1)),
        "{out}"
    );
}

#[tokio::test]
async fn erasing_a_candidate_removes_their_data_and_rewrites_the_notifications() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let company = company_of(&p, &admin.access).await;
    let grace =
        test_support::new_candidate(&p.client, &p.interview, &admin.access, "Grace Hopper").await;
    let alan =
        test_support::new_candidate(&p.client, &p.interview, &admin.access, "Alan Turing").await;
    let (grace_interview, alan_interview) = (Uuid::now_v7(), Uuid::now_v7());
    let admin_id: Uuid = p.wait_for(&admin.access, "?action=LOGIN", 1).await[0]["user_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for (candidate, interview, name, email) in [
        (grace, grace_interview, "Grace Hopper", "grace@example.org"),
        (alan, alan_interview, "Alan Turing", "alan@example.org"),
    ] {
        publish(
            &p,
            &Event::untyped("interview", "CANDIDATE_UPDATED")
                .company(company)
                .actor(admin_id)
                .resource("candidate", candidate)
                .details(json!({"full_name": name, "email": email, "phone": "+1 555 0100"})),
        )
        .await;
        publish(
            &p,
            &Event::untyped("interview", "INTERVIEW_SCHEDULED")
                .company(company)
                .actor(admin_id)
                .resource("interview", interview)
                .details(json!({"candidate_id": candidate, "full_name": name})),
        )
        .await;
        notify(
            &p,
            &Notification::untyped(
                company,
                admin_id,
                "INTERVIEW_SCHEDULED",
                format!("Interview scheduled: {name}"),
                format!("With {name} ({email}) at 10:00"),
            )
            .resource("interview", interview)
            .concerning(interview, candidate),
        )
        .await;
    }
    p.wait_for(&admin.access, "?action=INTERVIEW_SCHEDULED", 2)
        .await;
    p.wait_for(&admin.access, "?action=CANDIDATE_UPDATED", 2)
        .await;
    until(&p.db, "SELECT count(*) AS n FROM notifications", 2).await;

    publish(
        &p,
        &Event::untyped("interview", "CANDIDATE_ERASED")
            .company(company)
            .actor(admin_id)
            .resource("candidate", grace)
            .details(json!({
                "erase_terms": ["Grace Hopper", "grace@example.org", "+1 555 0100"],
                "interviews": 1,
            })),
    )
    .await;
    p.wait_for(&admin.access, "?action=CANDIDATE_ERASED", 1)
        .await;

    // Grace's rows (the erasure's own included) hold no personal data; Alan's do.
    let left = texts(
        &p.db,
        "SELECT p.data AS t FROM audit_pii p JOIN audit_logs l ON l.id = p.log_id \
         WHERE l.source = 'interview'",
    )
    .await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|d| d.contains("Alan Turing")), "{left:?}");
    let scheduled = p
        .audit_logs(
            &admin.access,
            &format!("?action=INTERVIEW_SCHEDULED&resource_id={grace_interview}"),
        )
        .await;
    assert_eq!(
        scheduled["items"][0]["details"],
        json!({"candidate_id": grace}),
        "{scheduled}"
    );
    assert_eq!(scheduled["items"][0]["pii_erased"], true);

    let mut notes = texts(
        &p.db,
        "SELECT title || ' | ' || body AS t FROM notifications",
    )
    .await;
    notes.sort();
    assert_eq!(
        notes,
        vec![
            "Interview scheduled: Alan Turing | With Alan Turing (alan@example.org) at 10:00"
                .to_owned(),
            "Interview scheduled: [erased] | With [erased] ([erased]) at 10:00".to_owned(),
        ]
    );

    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["pii_erased"], 3, "{report}");
}

#[tokio::test]
async fn the_verifier_names_changed_personal_data_and_counts_erased_data() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    create_user(
        &p,
        &admin,
        "kat.j@example.org",
        "Katherine Johnson",
        "agent",
    )
    .await;
    let items = p.wait_for(&admin.access, "?action=USER_CREATED", 1).await;
    let id = items[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(verify(&p, &admin.access).await["ok"], true);

    // The side table has no trigger: whoever may write it could change the data.
    p.db.execute_unprepared(&format!(
        "UPDATE audit_pii SET data = '{{\"email\":\"someone.else@example.org\"}}' WHERE log_id = '{id}'"
    ))
    .await
    .unwrap();
    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_broken"]["id"], id.as_str(), "{report}");
    assert_eq!(report["first_broken"]["reason"], "pii_mismatch");

    // Deleted, it is an erasure: the chain holds.
    p.db.execute_unprepared(&format!("DELETE FROM audit_pii WHERE log_id = '{id}'"))
        .await
        .unwrap();
    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["pii_erased"], 1, "{report}");
    assert!(report["first_broken"].is_null());

    // The PII-free details are still chained.
    tamper_log(
        &p.db,
        &format!("UPDATE audit_logs SET details = '{{\"role\":\"admin\"}}' WHERE id = '{id}'"),
    )
    .await;
    let report = verify(&p, &admin.access).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_broken"]["id"], id.as_str(), "{report}");
    assert_eq!(report["first_broken"]["reason"], "hash_mismatch");
}

async fn export(p: &Pipeline, token: &str, path: &str) -> reqwest::Response {
    p.call(&p.audit, Method::GET, path, token, None).await
}

#[tokio::test]
async fn export_parts_show_a_company_its_own_data_to_those_with_the_page() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let acme = company_of(&p, &admin.access).await;
    let (globex, _) = seed_company(&p.db, "Globex", "admin@globex.example").await;
    let globex: Uuid = globex.into();
    let globex_admin =
        test_support::login_ok(&p.client, &p.auth, "admin@globex.example", ADMIN_PASSWORD).await;
    let ada = create_user(&p, &admin, "ada.x@example.org", "Ada Lovelace", "agent").await;
    let grace =
        test_support::new_candidate(&p.client, &p.interview, &admin.access, "Grace Hopper").await;
    let interview = Uuid::now_v7();
    publish(
        &p,
        &Event::untyped("interview", "INTERVIEW_SCHEDULED")
            .company(acme)
            .resource("interview", interview)
            .details(json!({"candidate_id": grace, "interviewer_ids": [ada]})),
    )
    .await;
    notify(
        &p,
        &Notification::untyped(
            acme,
            ada,
            "INTERVIEW_SCHEDULED",
            "Interview scheduled".into(),
            "With Grace Hopper".into(),
        )
        .resource("interview", interview)
        .concerning(interview, grace),
    )
    .await;
    // Another company's rows about the same ids.
    publish(
        &p,
        &Event::untyped("auth", "USER_UPDATED")
            .company(globex)
            .resource("user", ada)
            .details(json!({"full_name": "Globex Secret"})),
    )
    .await;
    publish(
        &p,
        &Event::untyped("interview", "CANDIDATE_UPDATED")
            .company(globex)
            .resource("candidate", grace)
            .details(json!({"email": "globex.secret@example.org"})),
    )
    .await;
    notify(
        &p,
        &Notification::untyped(globex, ada, "TEST_NOTE", "Globex Secret".into(), "x".into())
            .resource("interview", interview)
            .concerning(interview, grace),
    )
    .await;
    p.wait_for(&admin.access, "?action=INTERVIEW_SCHEDULED", 1)
        .await;
    p.wait_for(&admin.access, "?action=CANDIDATE_CREATED", 1)
        .await;
    p.wait_for(&globex_admin.access, "?action=CANDIDATE_UPDATED", 1)
        .await;
    p.wait_for(&globex_admin.access, "?action=USER_UPDATED", 1)
        .await;
    until(&p.db, "SELECT count(*) AS n FROM notifications", 2).await;

    // The user's part, for Acme: Ada's notification and the entries about her.
    let res = export(&p, &admin.access, &format!("/api/v1/export/users/{ada}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let part = body(res).await;
    assert!(!part.to_string().contains("Globex"), "{part}");
    let notes = part["notifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{part}");
    assert_eq!(notes[0]["user_id"], ada.to_string());
    assert_eq!(notes[0]["title"], "Interview scheduled");
    assert_eq!(notes[0]["candidate_id"], grace.to_string());
    assert!(notes[0]["read_at"].is_null());
    let entries = part["audit_entries"].as_array().unwrap();
    let created = entries
        .iter()
        .find(|e| e["action"] == "USER_CREATED")
        .unwrap_or_else(|| panic!("{part}"));
    assert_eq!(
        created["details"]["email"], "ada.x@example.org",
        "merged back"
    );
    assert!(entries.iter().all(|e| e["company_id"] == acme.to_string()));
    let times: Vec<&str> = entries
        .iter()
        .map(|e| e["created_at"].as_str().unwrap())
        .collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, newest_first);

    // For Globex: only Globex's.
    let res = export(
        &p,
        &globex_admin.access,
        &format!("/api/v1/export/users/{ada}"),
    )
    .await;
    let part = body(res).await;
    assert_eq!(part["notifications"].as_array().unwrap().len(), 1, "{part}");
    assert_eq!(part["notifications"][0]["title"], "Globex Secret");
    let entries = part["audit_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{part}");
    assert_eq!(entries[0]["details"], json!({"full_name": "Globex Secret"}));

    // The candidate's part: by the candidate, by the interviews given.
    let path = format!(
        "/api/v1/export/candidates/{grace}?interviews={interview},{}",
        Uuid::now_v7()
    );
    let res = export(&p, &admin.access, &path).await;
    assert_eq!(res.status(), StatusCode::OK);
    let part = body(res).await;
    assert!(!part.to_string().contains("globex"), "{part}");
    assert_eq!(part["notifications"].as_array().unwrap().len(), 1, "{part}");
    let mut actions: Vec<&str> = part["audit_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["CANDIDATE_CREATED", "INTERVIEW_SCHEDULED"],
        "{part}"
    );
    let res = export(
        &p,
        &globex_admin.access,
        &format!("/api/v1/export/candidates/{grace}"),
    )
    .await;
    let part = body(res).await;
    assert_eq!(part["audit_entries"].as_array().unwrap().len(), 1, "{part}");
    assert_eq!(
        part["audit_entries"][0]["details"]["email"],
        "globex.secret@example.org"
    );
    assert_eq!(part["notifications"][0]["title"], "Globex Secret", "{part}");

    // The pages: a manager sees candidates, not user management; an agent neither.
    let (_, manager) = p.user("manager", "Mia Manager").await;
    let (_, agent) = p.user("agent", "Andy Agent").await;
    let user_path = format!("/api/v1/export/users/{ada}");
    let candidate_path = format!("/api/v1/export/candidates/{grace}");
    assert_eq!(
        export(&p, &manager.access, &candidate_path).await.status(),
        StatusCode::OK
    );
    for (token, path) in [
        (&manager.access, &user_path),
        (&agent.access, &user_path),
        (&agent.access, &candidate_path),
    ] {
        let detail = assert_error(export(&p, token, path).await, StatusCode::FORBIDDEN).await;
        assert!(detail.starts_with("Access denied"), "{path}: {detail}");
    }

    // Bad ids: 422 naming the field.
    let too_many = vec![Uuid::nil().to_string(); 501].join(",");
    for (path, field) in [
        ("/api/v1/export/users/not-a-uuid".to_owned(), "id"),
        ("/api/v1/export/candidates/123".to_owned(), "id"),
        (format!("{candidate_path}?interviews=nope"), "interviews"),
        (
            format!("{candidate_path}?interviews={grace},x"),
            "interviews",
        ),
        (
            format!("{candidate_path}?interviews={too_many}"),
            "interviews",
        ),
    ] {
        let detail = assert_error(
            export(&p, &admin.access, &path).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(detail.contains(field), "{path}: {detail}");
    }
    let most = vec![Uuid::now_v7().to_string(); 500].join(",");
    let res = export(
        &p,
        &admin.access,
        &format!("{candidate_path}?interviews={most}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// The embedded default: SQLite, the writer in process. Rows written before the split
/// (version 1) and after it (version 2) verify in one chain; an erasure there leaves the
/// chain whole.
#[tokio::test]
async fn on_sqlite_the_in_process_writer_splits_verifies_and_erases() {
    use audit_writer::chain::{ChainKey, ChainedRow, GENESIS, V1};
    use events::Sink;
    use migration::MigratorTrait;
    let db = service_runtime::db::connect("sqlite::memory:", 1)
        .await
        .unwrap();
    migration::migrate(&db).await.unwrap();
    let key = ChainKey::new(secrecy::SecretString::from(
        test_support::CHAIN_KEY.to_owned(),
    ));
    let company = Uuid::now_v7();
    let (ada, bob) = (Uuid::now_v7(), Uuid::now_v7());

    // A row of an earlier release: personal data in its details, linked as version 1.
    migrate_back_before(&db, "m20261207_000011_audit_pii").await;
    let old = Uuid::now_v7();
    let at = audit_writer::chain::to_micros(time::OffsetDateTime::now_utc());
    let details = r#"{"email":"ada@example.org"}"#;
    let link = key.link(
        GENESIS,
        &ChainedRow {
            version: V1,
            seq: 1,
            id: old,
            company_id: Some(company),
            user_id: None,
            action: "USER_CREATED",
            resource_type: Some("user"),
            resource_id: Some(&ada.to_string()),
            details,
            pii_digest: None,
            source: "auth",
            trace_parent: None,
            occurred_at: at,
            created_at: at,
        },
    );
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "INSERT INTO audit_logs (id, company_id, action, resource_type, resource_id, details, \
         source, occurred_at, created_at, chain_key, chain_seq, prev_hash, hash) \
         VALUES (?, ?, 'USER_CREATED', 'user', ?, ?, 'auth', ?, ?, ?, 1, '', ?)",
        [
            old.into(),
            company.into(),
            ada.to_string().into(),
            details.into(),
            at.into(),
            at.into(),
            company.into(),
            link.clone().into(),
        ],
    ))
    .await
    .unwrap();
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES (?, 1, ?)",
        [company.into(), link.into()],
    ))
    .await
    .unwrap();
    migration::Migrator::up(&db, None).await.unwrap();

    let writer = audit_writer::writer::InProcessWriter {
        db: db.clone(),
        chain: key.clone(),
    };
    let deliver = |e: Event| {
        let writer = &writer;
        async move {
            writer
                .deliver(&e.routing_key(), &serde_json::to_vec(&e).unwrap())
                .await
                .unwrap();
        }
    };
    deliver(
        Event::untyped("auth", "LOGIN_FAILED")
            .details(json!({"email": "ADA@example.org", "reason": "unknown_email"})),
    )
    .await;
    for (user, email) in [(ada, "ada@example.org"), (bob, "bob@example.org")] {
        deliver(
            Event::untyped("auth", "USER_UPDATED")
                .company(company)
                .resource("user", user)
                .details(json!({"email": email, "full_name": null})),
        )
        .await;
    }
    for (user, title) in [(ada, "Hello Ada Lovelace"), (bob, "Meeting Ada Lovelace")] {
        let n = Notification::untyped(company, user, "TEST_NOTE", title.into(), "body".into());
        writer
            .deliver(&n.routing_key(), &serde_json::to_vec(&n).unwrap())
            .await
            .unwrap();
    }
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql.to_owned()))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) AS n FROM audit_pii").await, 3);
    assert_eq!(
        count("SELECT count(*) AS n FROM audit_logs WHERE details LIKE '%example.org%'").await,
        1,
        "only the row of the earlier release"
    );
    let report = audit_writer::verify::verify(&db, &key, Some(company))
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 3);

    deliver(
        Event::untyped("auth", "USER_ERASED")
            .company(company)
            .resource("user", ada)
            .details(json!({"erase_terms": ["Ada Lovelace", "ada@example.org"]})),
    )
    .await;
    assert_eq!(
        count("SELECT count(*) AS n FROM audit_pii").await,
        1,
        "Bob's"
    );
    let titles: Vec<String> = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT title FROM notifications".to_owned(),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("", "title").unwrap())
        .collect();
    assert_eq!(titles, vec!["Meeting [erased]".to_owned()]);
    let report = audit_writer::verify::verify(&db, &key, Some(company))
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 4);
    assert_eq!(report.pii_erased, 2, "Ada's update and the erasure's terms");
    let platform = audit_writer::verify::verify(&db, &key, None).await.unwrap();
    assert!(platform.ok, "{platform:?}");
    assert_eq!(platform.pii_erased, 1, "the failed sign-in with her email");

    let entries = audit_writer::store::audit::about(
        &db,
        company,
        audit_writer::store::audit::about_user(bob),
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].details,
        json!({"email": "bob@example.org", "full_name": null})
    );
}
