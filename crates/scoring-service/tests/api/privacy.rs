//! A person's data across every service (issue 14): the export gathers the parts of auth,
//! interview, scoring and the audit-writer into one document; an erasure reaches every
//! service through the outbox and RabbitMQ, also one that was down when it was made; the
//! audit chain still verifies afterwards. Real PostgreSQL, Redis, RabbitMQ and gRPC.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use service_runtime::config::Env;
use std::time::Duration;
use uuid::Uuid;

/// A free port on the loopback interface.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Each service's own RabbitMQ URL (its user), and `AUDIT_PUBLISHERS`; default: the
/// test broker's guest for all, unchecked.
#[derive(Default, Clone)]
struct Rabbit {
    auth: Option<String>,
    interview: Option<String>,
    scoring: Option<String>,
    audit: Option<String>,
    publishers: Option<String>,
    /// `AMQP_PREFIX` of every service (the users' permissions name it).
    prefix: Option<String>,
}

impl Rabbit {
    /// `AMQP_URL` (and `AUDIT_PUBLISHERS`) for a service of URL `url`, to go last.
    fn env(&self, url: &Option<String>) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(prefix) = &self.prefix {
            pairs.push(("AMQP_PREFIX".to_owned(), prefix.clone()));
        }
        if let Some(url) = url {
            pairs.push(("AMQP_URL".to_owned(), url.clone()));
        }
        if let Some(p) = &self.publishers {
            pairs.push(("AUDIT_PUBLISHERS".to_owned(), p.clone()));
        }
        pairs
    }
}

struct All {
    p: Platform,
    rabbit: Rabbit,
    audit: String,
    database_url: String,
    auth_grpc: String,
    scoring_port: u16,
    scoring: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl All {
    fn scoring_env(&self, interview_grpc: &str) -> Env {
        let mut pairs: Vec<(String, String)> = [
            ("DATABASE_URL", self.database_url.as_str()),
            ("AUTH_GRPC_URL", self.auth_grpc.as_str()),
            ("INTERVIEW_GRPC_URL", interview_grpc),
            ("INTERNAL_API_KEY", INTERNAL_KEY),
            ("HTTP_WORKERS", "2"),
            ("API_RATE_LIMIT_PER_MINUTE", "0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        pairs.push((
            "SCORING_HTTP_ADDR".into(),
            format!("127.0.0.1:{}", self.scoring_port),
        ));
        pairs.extend(test_support::amqp_env(&self.p.amqp_prefix));
        pairs.extend(self.rabbit.env(&self.rabbit.scoring));
        Env::from_pairs(pairs)
    }

    /// Starts the scoring service on its port (again, after [`All::stop_scoring`]).
    async fn start_scoring(&mut self, interview_grpc: &str) {
        let settings =
            scoring_service::Settings::from_env(&self.scoring_env(interview_grpc), None).unwrap();
        let conn = service_runtime::db::connect(&self.database_url, 4)
            .await
            .unwrap();
        let app = scoring_service::Application::build_with_db(settings, conn, None).unwrap();
        self.scoring = Some(tokio::spawn(app.run_until_stopped()));
    }

    fn stop_scoring(&mut self) {
        if let Some(task) = self.scoring.take() {
            task.abort();
        }
    }
}

/// Auth, interview, scoring and the audit-writer on one database and broker, each
/// knowing where the others' HTTP answers (the ports are chosen first).
async fn spawn_all() -> (All, String) {
    spawn_all_with(Rabbit::default()).await
}

async fn spawn_all_with(rabbit: Rabbit) -> (All, String) {
    let (database_url, conn): (String, DatabaseConnection) = test_support::fresh_database().await;
    let (interview_port, scoring_port, audit_port) = (free_port(), free_port(), free_port());
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    let (interview_url, scoring_url, audit_url) =
        (url(interview_port), url(scoring_port), url(audit_port));
    let mut auth_env = vec![
        ("INTERVIEW_HTTP_URL".to_owned(), interview_url.clone()),
        ("SCORING_HTTP_URL".to_owned(), scoring_url.clone()),
        ("AUDIT_HTTP_URL".to_owned(), audit_url.clone()),
    ];
    auth_env.extend(rabbit.env(&rabbit.auth));
    let auth_pairs: Vec<(&str, &str)> = auth_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let auth = test_support::spawn_auth(&database_url, conn.clone(), &auth_pairs).await;
    let all_prefix = rabbit
        .prefix
        .clone()
        .unwrap_or_else(|| auth.amqp_prefix.clone());
    let mut interview_env = vec![
        (
            "INTERVIEW_HTTP_ADDR".to_owned(),
            format!("127.0.0.1:{interview_port}"),
        ),
        ("SCORING_HTTP_URL".to_owned(), scoring_url.clone()),
        ("AUDIT_HTTP_URL".to_owned(), audit_url.clone()),
    ];
    interview_env.extend(rabbit.env(&rabbit.interview));
    let interview_pairs: Vec<(&str, &str)> = interview_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let interview = test_support::spawn_interview(
        &database_url,
        conn.clone(),
        &auth.grpc_address,
        &all_prefix,
        &interview_pairs,
    )
    .await;
    let mut audit_env: Vec<(String, String)> = [
        ("DATABASE_URL", database_url.as_str()),
        ("AUTH_GRPC_URL", auth.grpc_address.as_str()),
        ("INTERNAL_API_KEY", INTERNAL_KEY),
        ("HTTP_WORKERS", "2"),
        ("AUDIT_BATCH_WAIT_MS", "20"),
        ("AUDIT_CHAIN_KEY", test_support::CHAIN_KEY),
        ("API_RATE_LIMIT_PER_MINUTE", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    audit_env.push(("AUDIT_HTTP_ADDR".into(), format!("127.0.0.1:{audit_port}")));
    audit_env.extend(test_support::amqp_env(&all_prefix));
    audit_env.extend(rabbit.env(&rabbit.audit));
    let audit_settings =
        audit_writer::Settings::from_env(&Env::from_pairs(audit_env), None).unwrap();
    let audit_app = audit_writer::Application::build_with_db(audit_settings, conn.clone()).unwrap();
    tokio::spawn(audit_app.run_until_stopped());
    let admin_email = "admin@acme.example".to_owned();
    seed_company(&conn, "Acme", &admin_email).await;
    let prefix = all_prefix.clone();
    let mut all = All {
        rabbit,
        p: Platform {
            auth: auth.address,
            interview: interview.address,
            scoring: scoring_url,
            client: test_support::client(),
            db: conn,
            admin_email,
            amqp_prefix: prefix,
        },
        audit: audit_url,
        database_url,
        auth_grpc: auth.grpc_address,
        scoring_port,
        scoring: None,
    };
    all.start_scoring(&interview.grpc_address).await;
    wait_ready(&all.p.scoring).await;
    (all, interview.grpc_address)
}

async fn wait_ready(base: &str) {
    let client = test_support::client();
    for _ in 0..100 {
        if let Ok(res) = client.get(format!("{base}/healthz")).send().await
            && res.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not come up");
}

async fn get(p: &Platform, url: String, token: &str) -> reqwest::Response {
    send(&p.client, Method::GET, &url, token, None).await
}

/// Waits until the audit log of the admin's company has an entry of `action` about
/// `resource_id`.
async fn wait_for_audit(all: &All, token: &str, action: &str, resource_id: Uuid) {
    let mut last = Value::Null;
    for _ in 0..200 {
        let res = get(
            &all.p,
            format!(
                "{}/api/v1/audit-logs?action={action}&resource_id={resource_id}",
                all.audit
            ),
            token,
        )
        .await;
        let status = res.status();
        last = body(res).await;
        if status == StatusCode::OK && last["items"].as_array().is_some_and(|a| !a.is_empty()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {action} about {resource_id} in the audit log: {last}");
}

/// Waits until the scorecard revision `card`'s notes satisfy `done`: its last notes.
async fn notes_once(all: &All, token: &str, card: Uuid, done: impl Fn(&Value) -> bool) -> Value {
    let mut notes = Value::Null;
    for _ in 0..200 {
        let res = all
            .p
            .scoring(
                Method::GET,
                &format!("/api/v1/scorecards/{card}"),
                token,
                None,
            )
            .await;
        notes = body(res).await["notes"].clone();
        if done(&notes) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    notes
}

async fn chain_ok(all: &All, token: &str) -> Value {
    let res = get(
        &all.p,
        format!("{}/api/v1/audit-logs/verify", all.audit),
        token,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v = body(res).await;
    assert_eq!(v["ok"], json!(true), "{v}");
    v
}

/// A scorecard by `token` on a started interview of `candidate` with `notes`.
async fn scorecard(
    all: &All,
    admin: &str,
    evaluator: (Uuid, &str),
    candidate: Uuid,
    title: &str,
    start: &str,
    notes: &str,
) -> (Uuid, Uuid) {
    let p = &all.p;
    let res = p
        .interviews(
            Method::POST,
            "/api/v1/interviews",
            admin,
            Some(
                json!({"candidate_id": candidate, "interviewer_ids": [evaluator.0], "title": title,
                        "kind": "onsite", "scheduled_at": start, "duration_minutes": 60,
                        "location": format!("Room 1 ({title})")}),
            ),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let interview = id_of(&body(res).await);
    let res = p
        .interviews(
            Method::POST,
            &format!("/api/v1/interviews/{interview}/start"),
            admin,
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let rubric = p.rubric(admin, &[("coding", 1.0)]).await;
    let res = p
        .scoring(
            Method::POST,
            &format!("/api/v1/interviews/{interview}/scorecards"),
            evaluator.1,
            Some(json!({"rubric_id": rubric, "ratings": {"coding": 3}, "recommendation": "yes", "notes": notes})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    (interview, id_of(&body(res).await))
}

#[tokio::test]
async fn a_candidate_is_exported_from_every_service_and_erased_in_each_even_one_that_was_down() {
    let (mut all, interview_grpc) = spawn_all().await;
    let admin = all.p.admin().await;
    let (alice, alice_t) = all.p.user("agent", "Alice Agent").await;
    let res = all
        .p
        .interviews(
            Method::POST,
            "/api/v1/candidates",
            &admin.access,
            Some(json!({"full_name": "Ada Lovelace", "email": "ada@example.org",
                        "phone": "+44 20 7946 0000", "notes": "Met at the analytical engine meetup"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let ada = id_of(&body(res).await);
    let grace = all.p.candidate(&admin.access, "Grace Hopper").await;
    let (ada_interview, ada_card) = scorecard(
        &all,
        &admin.access,
        (alice, &alice_t.access),
        ada,
        "Onsite with Ada Lovelace",
        "2030-01-01T09:00:00Z",
        "Ada Lovelace was strong; reach her at ada@example.org. Better than ADA LOVELACE's peers.",
    )
    .await;
    let (_, grace_card) = scorecard(
        &all,
        &admin.access,
        (alice, &alice_t.access),
        grace,
        "Onsite with Grace Hopper",
        "2030-01-02T09:00:00Z",
        "Grace Hopper was strong, like Ada Lovelace.",
    )
    .await;
    wait_for_audit(&all, &admin.access, "INTERVIEW_IN_PROGRESS", ada_interview).await;

    // The export: one document, every service's part.
    let url = format!("{}/api/v1/candidates/{ada}/export", all.p.interview);
    let res = get(&all.p, url.clone(), &admin.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc = body(res).await;
    assert_eq!(doc["subject"], json!({"type": "candidate", "id": ada}));
    assert_eq!(doc["interview"]["candidate"]["full_name"], "Ada Lovelace");
    assert_eq!(doc["interview"]["candidate"]["phone"], "+44 20 7946 0000");
    assert_eq!(doc["interview"]["interviews"].as_array().unwrap().len(), 1);
    let cards = doc["scoring"]["scorecards"].as_array().unwrap();
    assert_eq!(cards.len(), 1, "{doc}");
    assert_eq!(cards[0]["id"], json!(ada_card));
    let entries = doc["audit"]["audit_entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"CANDIDATE_CREATED"), "{actions:?}");
    assert!(actions.contains(&"INTERVIEW_SCHEDULED"), "{actions:?}");
    assert!(doc["audit"]["notifications"].is_array(), "{doc}");
    assert!(
        !doc.to_string().contains("Grace Hopper was strong"),
        "another candidate's data"
    );

    // Without the candidates page: 403; another company's candidate: 404.
    assert_error(
        get(&all.p, url.clone(), &alice_t.access).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    seed_company(&all.p.db, "Globex", "admin@globex.example").await;
    let globex = all.p.login("admin@globex.example", ADMIN_PASSWORD).await;
    assert_error(
        get(&all.p, url.clone(), &globex.access).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Only admins erase.
    let erase = format!("{}/api/v1/candidates/{ada}/erase", all.p.interview);
    let (_, manager) = all.p.user("manager", "Mona Manager").await;
    assert_error(
        send(&all.p.client, Method::POST, &erase, &manager.access, None).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // The scoring service is down when the erasure is made.
    all.stop_scoring();
    let res = send(&all.p.client, Method::POST, &erase, &admin.access, None).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let erased = body(res).await;
    assert_eq!(erased["id"], json!(ada));
    // Erased here at once.
    let res = all
        .p
        .interviews(
            Method::GET,
            &format!("/api/v1/candidates/{ada}"),
            &admin.access,
            None,
        )
        .await;
    let c = body(res).await;
    assert_eq!(c["full_name"], "Erased candidate");
    assert_eq!(c["email"], format!("erased-{ada}@erased.invalid"));
    assert_eq!(c["phone"], Value::Null);
    assert_eq!(c["notes"], Value::Null);
    let res = all
        .p
        .interviews(
            Method::GET,
            &format!("/api/v1/interviews/{ada_interview}"),
            &admin.access,
            None,
        )
        .await;
    let i = body(res).await;
    assert_eq!(i["title"], "Onsite with [erased]");
    assert_eq!(i["location"], "Room 1 (Onsite with [erased])");
    // Again: the same answer, nothing recorded twice.
    let again = body(send(&all.p.client, Method::POST, &erase, &admin.access, None).await).await;
    assert_eq!(again["erased_at"], erased["erased_at"]);

    // Back up: the erasure waiting in its queue is carried out.
    all.start_scoring(&interview_grpc).await;
    wait_ready(&all.p.scoring).await;
    let notes = notes_once(&all, &admin.access, ada_card, |n| {
        n.as_str().is_some_and(|n| !n.contains("Ada"))
    })
    .await;
    assert_eq!(
        notes,
        json!("[erased] was strong; reach her at [erased]. Better than [erased]'s peers.")
    );
    // Notes about someone else that name her lose her name only.
    let res = all
        .p
        .scoring(
            Method::GET,
            &format!("/api/v1/scorecards/{grace_card}"),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(
        body(res).await["notes"],
        json!("Grace Hopper was strong, like [erased].")
    );

    // The audit log recorded the erasure, holds none of her data, and its chain verifies.
    wait_for_audit(&all, &admin.access, "CANDIDATE_ERASED", ada).await;
    let res = get(&all.p, url, &admin.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = body(res).await.to_string();
    for pii in [
        "Ada Lovelace",
        "ada@example.org",
        "7946",
        "analytical engine",
    ] {
        assert!(
            !text.to_lowercase().contains(&pii.to_lowercase()),
            "{pii} left in {text}"
        );
    }
    chain_ok(&all, &admin.access).await;
}

#[tokio::test]
async fn a_user_is_exported_from_every_service_and_erased_everywhere() {
    let (all, _) = spawn_all().await;
    let admin = all.p.admin().await;
    let (bob, bob_t) = all.p.user("agent", "Bob Builder").await;
    let bob_email = body(
        get(
            &all.p,
            format!("{}/api/v1/users/me", all.p.auth),
            &bob_t.access,
        )
        .await,
    )
    .await["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = all.p.candidate(&admin.access, "Carl Candidate").await;
    let (interview, card) = scorecard(
        &all,
        &admin.access,
        (bob, &bob_t.access),
        c,
        "Loop",
        "2030-01-01T09:00:00Z",
        "Solid.",
    )
    .await;
    wait_for_audit(&all, &admin.access, "LOGIN", bob).await;

    let url = format!("{}/api/v1/users/{bob}/export", all.p.auth);
    let res = get(&all.p, url.clone(), &admin.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let doc = body(res).await;
    assert_eq!(doc["subject"], json!({"type": "user", "id": bob}));
    assert_eq!(doc["auth"]["profile"]["email"], json!(bob_email));
    assert_eq!(doc["auth"]["profile"]["full_name"], "Bob Builder");
    assert!(
        !doc["auth"]["sessions"].as_array().unwrap().is_empty(),
        "{doc}"
    );
    assert_eq!(doc["auth"]["permissions"]["candidates"], json!(false));
    let interviews = doc["interview"]["interviews"].as_array().unwrap();
    assert_eq!(interviews.len(), 1);
    assert_eq!(interviews[0]["id"], json!(interview));
    let written = doc["scoring"]["scorecards_written"].as_array().unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0]["id"], json!(card));
    let entries = doc["audit"]["audit_entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "LOGIN" && e["user_id"] == json!(bob)),
        "{entries:?}"
    );
    assert!(
        !doc.to_string().contains("admin@acme.example"),
        "someone else's data: {doc}"
    );

    // Only user management sees it; a user of another company is not found.
    assert_error(
        get(&all.p, url.clone(), &bob_t.access).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    seed_company(&all.p.db, "Globex", "admin@globex.example").await;
    let globex = all.p.login("admin@globex.example", ADMIN_PASSWORD).await;
    assert_error(
        get(&all.p, url.clone(), &globex.access).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Erasure: admins only, never oneself.
    let erase = format!("{}/api/v1/users/{bob}/erase", all.p.auth);
    assert_error(
        send(&all.p.client, Method::POST, &erase, &bob_t.access, None).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let admin_id = body(
        get(
            &all.p,
            format!("{}/api/v1/users/me", all.p.auth),
            &admin.access,
        )
        .await,
    )
    .await["id"]
        .clone();
    assert_error(
        send(
            &all.p.client,
            Method::POST,
            &format!(
                "{}/api/v1/users/{}/erase",
                all.p.auth,
                admin_id.as_str().unwrap()
            ),
            &admin.access,
            None,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let res = send(&all.p.client, Method::POST, &erase, &admin.access, None).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    // Their tokens stop working and their password with them.
    let res = get(
        &all.p,
        format!("{}/api/v1/users/me", all.p.auth),
        &bob_t.access,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = test_support::login(
        &all.p.client,
        &all.p.auth,
        &bob_email,
        test_support::USER_PASSWORD,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let user = body(
        get(
            &all.p,
            format!("{}/api/v1/users/{bob}", all.p.auth),
            &admin.access,
        )
        .await,
    )
    .await;
    assert_eq!(user["full_name"], "Erased user");
    assert_eq!(user["email"], format!("erased-{bob}@erased.invalid"));
    assert_eq!(user["is_active"], json!(false));

    wait_for_audit(&all, &admin.access, "USER_ERASED", bob).await;
    let res = get(&all.p, url, &admin.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc = body(res).await;
    assert!(doc["auth"]["erased_at"].is_string(), "{doc}");
    let text = doc.to_string();
    assert!(!text.contains(&bob_email), "{text}");
    assert!(!text.contains("Bob Builder"), "{text}");
    // What they did stays, without who they were.
    assert_eq!(
        doc["scoring"]["scorecards_written"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let sessions = doc["auth"]["sessions"].as_array().unwrap();
    assert!(
        sessions
            .iter()
            .all(|s| s["ip_address"].is_null() && s["revoked_at"].is_string())
    );
    chain_ok(&all, &admin.access).await;
}

#[tokio::test]
async fn an_export_with_a_service_down_is_refused_rather_than_partial() {
    let (mut all, _) = spawn_all().await;
    let admin = all.p.admin().await;
    let (bob, _) = all.p.user("agent", "Bob Builder").await;
    all.stop_scoring();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let res = get(
        &all.p,
        format!("{}/api/v1/users/{bob}/export", all.p.auth),
        &admin.access,
    )
    .await;
    let detail = assert_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(detail.contains("scoring"), "{detail}");
}

/// The README's least-privileged RabbitMQ users ("RabbitMQ users"): each publisher may
/// write the events exchange (auth also its revocation feed) and listen to the feed, the
/// scoring service also its erasure queue, and the audit-writer alone declares the
/// topology. Events flow, an erasure reaches the scoring service, and an erasure forged by
/// another service's user is dead-lettered by both consumers.
#[tokio::test]
async fn least_privileged_rabbitmq_users_carry_an_erasure_and_refuse_a_forged_one() {
    use test_support::rabbit::{RabbitUser, literal};
    let prefix = test_support::amqp_prefix();
    let p = literal(&prefix);
    let feed_read = format!("^({p}revocations|amq\\.gen-.*)$");
    let publisher = |role: &str, write: &str| {
        RabbitUser::create(
            role,
            "^amq\\.gen-.*$",
            &format!("^({p}events{write}|amq\\.gen-.*)$"),
            &feed_read,
        )
    };
    let auth = publisher("auth", &format!("|{p}revocations"));
    let interview = publisher("interview", "");
    let scoring = RabbitUser::create(
        "scoring",
        &format!("^({p}scoring\\.erasure|amq\\.gen-.*)$"),
        &format!("^({p}events|{p}scoring\\.erasure|{p}dead-letter|amq\\.gen-.*)$"),
        &format!("^({p}events|{p}revocations|{p}scoring\\.erasure|amq\\.gen-.*)$"),
    );
    let audit = RabbitUser::create(
        "audit",
        &format!("^({p}.*|amq\\.gen-.*)$"),
        &format!("^({p}(audit|notifications|dead-letter)|amq\\.gen-.*)$"),
        &format!("^({p}.*|amq\\.gen-.*)$"),
    );
    let publishers = json!({
        auth.name.clone(): ["auth"],
        interview.name.clone(): ["interview"],
        scoring.name.clone(): ["scoring"],
    })
    .to_string();
    let (all, _) = spawn_all_with(Rabbit {
        auth: Some(auth.url()),
        interview: Some(interview.url()),
        scoring: Some(scoring.url()),
        audit: Some(audit.url()),
        publishers: Some(publishers),
        prefix: Some(prefix.clone()),
    })
    .await;
    let admin = all.p.admin().await;
    let (alice, alice_t) = all.p.user("agent", "Alice Agent").await;
    let ada = all.p.candidate(&admin.access, "Ada Lovelace").await;
    let grace = all.p.candidate(&admin.access, "Grace Hopper").await;
    let (ada_interview, ada_card) = scorecard(
        &all,
        &admin.access,
        (alice, &alice_t.access),
        ada,
        "Onsite",
        "2030-01-01T09:00:00Z",
        "Ada Lovelace was strong",
    )
    .await;
    let (_, grace_card) = scorecard(
        &all,
        &admin.access,
        (alice, &alice_t.access),
        grace,
        "Onsite",
        "2030-01-02T09:00:00Z",
        "Grace Hopper was strong",
    )
    .await;
    wait_for_audit(&all, &admin.access, "INTERVIEW_IN_PROGRESS", ada_interview).await;
    wait_for_audit(&all, &admin.access, "SCORECARD_SUBMITTED", ada_card).await;

    // The auth service's user claims to be the interview service erasing Grace.
    let company = body(
        get(
            &all.p,
            format!("{}/api/v1/users/me", all.p.auth),
            &admin.access,
        )
        .await,
    )
    .await["company_id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .unwrap();
    let forged = events::Event::untyped("interview", "CANDIDATE_ERASED")
        .company(company)
        .resource("candidate", grace)
        .details(json!({"erase_terms": ["Grace Hopper"]}));
    assert!(
        test_support::rabbit::publish_as(
            &auth,
            &auth.name,
            &format!("{prefix}events"),
            &forged.routing_key(),
            &serde_json::to_vec(&forged).unwrap(),
        )
        .await
    );
    // The genuine erasure of Ada comes after it on the same queue.
    let res = send(
        &all.p.client,
        Method::POST,
        &format!("{}/api/v1/candidates/{ada}/erase", all.p.interview),
        &admin.access,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let notes = notes_once(&all, &admin.access, ada_card, |n| {
        *n == json!("[erased] was strong")
    })
    .await;
    assert_eq!(notes, json!("[erased] was strong"));
    let res = all
        .p
        .scoring(
            Method::GET,
            &format!("/api/v1/scorecards/{grace_card}"),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(
        body(res).await["notes"],
        json!("Grace Hopper was strong"),
        "a forged erasure was carried out"
    );
    wait_for_audit(&all, &admin.access, "CANDIDATE_ERASED", ada).await;
    let res = get(
        &all.p,
        format!("{}/api/v1/audit-logs?action=CANDIDATE_ERASED", all.audit),
        &admin.access,
    )
    .await;
    let items = body(res).await["items"].as_array().unwrap().clone();
    assert_eq!(
        items.len(),
        1,
        "the forged erasure is not in the audit log: {items:?}"
    );
    chain_ok(&all, &admin.access).await;
}
