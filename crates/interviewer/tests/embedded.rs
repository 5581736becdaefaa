//! The embedded default (SQLite file, in-process token store) through the same HTTP
//! contract as the production suite: fewer cases, the same assertions.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

use interviewer::{DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, Platform};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use service_runtime::config::Env;
use std::path::{Path, PathBuf};

struct Embedded {
    base: String,
    client: Client,
    _dir: Option<DataDir>,
}

/// A data directory of a test's own, removed when the test is done with it.
struct DataDir(PathBuf);

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for DataDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

fn data_dir() -> DataDir {
    DataDir(std::env::temp_dir().join(format!(
        "interviewer-test-{}",
        uuid::Uuid::new_v4().simple()
    )))
}

async fn start_in(dir: &Path, extra: &[(&str, &str)]) -> (Embedded, Platform) {
    let mut pairs = vec![
        ("INTERVIEWER_DATA_DIR".to_owned(), dir.display().to_string()),
        ("AUTH_HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("AUTH_GRPC_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("INTERVIEW_HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("INTERVIEW_GRPC_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("SCORING_HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("AUDIT_HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("HTTP_WORKERS".to_owned(), "2".to_owned()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let platform = Platform::build(&Env::from_pairs(pairs))
        .await
        .expect("platform");
    let base = format!("http://127.0.0.1:{}", platform.auth.port());
    (
        Embedded {
            base,
            client: Client::new(),
            _dir: None,
        },
        platform,
    )
}

async fn start(extra: &[(&str, &str)]) -> Embedded {
    let dir = data_dir();
    let (mut app, platform) = start_in(&dir, extra).await;
    app._dir = Some(dir);
    tokio::spawn(platform.run_until_stopped());
    app
}

impl Embedded {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    async fn login(&self) -> Value {
        let res = self
            .post(
                "/api/v1/auth/login",
                json!({"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }
}

async fn detail(res: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    let v: Value = res.json().await.expect("json error body");
    v["detail"].as_str().expect("detail").to_owned()
}

#[tokio::test]
async fn the_demo_admin_logs_in_refreshes_and_logs_out() {
    let app = start(&[]).await;
    let res = app
        .post(
            "/api/v1/auth/login",
            json!({"email": "ADMIN@demo.example", "password": DEFAULT_ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=604800",
    ] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} missing in {cookie}"
        );
    }
    let tokens: Value = res.json().await.unwrap();
    assert_eq!(tokens["token_type"], "bearer");
    let access = tokens["access_token"].as_str().unwrap();
    let me: Value = app
        .get("/api/v1/users/me", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], DEFAULT_ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");

    let res = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let next: Value = res.json().await.unwrap();
    let again = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(
        detail(again, StatusCode::UNAUTHORIZED).await,
        "Invalid refresh token"
    );

    let next_access = next["access_token"].as_str().unwrap();
    let res = app
        .client
        .post(format!("{}/api/v1/auth/logout", app.base))
        .bearer_auth(next_access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        detail(
            app.get("/api/v1/users/me", next_access).await,
            StatusCode::UNAUTHORIZED
        )
        .await,
        "Invalid token"
    );
    let res = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": next["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_credentials_and_bad_input_get_clear_errors() {
    let app = start(&[]).await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            json!({"email": "nobody@demo.example", "password": "Whatever1"}),
        )
        .await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            json!({"email": DEFAULT_ADMIN_EMAIL, "password": "Whatever1"}),
        )
        .await;
    assert_eq!(
        detail(unknown, StatusCode::UNAUTHORIZED).await,
        "Invalid email or password"
    );
    assert_eq!(
        detail(wrong, StatusCode::UNAUTHORIZED).await,
        "Invalid email or password"
    );
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    detail(res, StatusCode::BAD_REQUEST).await;
    // Not declared as JSON (a cross-site form or text/plain POST): 415.
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("content-type", "text/plain")
        .body(r#"{"email": "a@b.c", "password": "x"}"#)
        .send()
        .await
        .unwrap();
    detail(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let res = app
        .post("/api/v1/auth/login", json!({"email": 1, "password": "x"}))
        .await;
    detail(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app
        .client
        .get(format!("{}/nowhere", app.base))
        .send()
        .await
        .unwrap();
    detail(res, StatusCode::NOT_FOUND).await;
    let res = app.get("/api/v1/users/me", "not.a.token").await;
    detail(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_family_in_process() {
    let app = start(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let first = app.login().await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    let second: Value = res.json().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .get("/api/v1/users/me", second["access_token"].as_str().unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_are_listed_limited_and_ended_in_process() {
    let app = start(&[("MAX_SESSIONS_PER_USER", "2")]).await;
    let token = |v: &Value, k: &str| v[k].as_str().expect("token").to_owned();
    let first = app.login().await;
    let second = app.login().await;
    let third = app.login().await;
    // Past the limit of two, the least recently used (the first) ended.
    let res = app
        .get("/api/v1/users/me", &token(&first, "access_token"))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .get("/api/v1/users/me/sessions", &token(&third, "access_token"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen: Value = res.json().await.expect("json");
    let seen = seen.as_array().expect("a list");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["current"], true);
    assert_eq!(seen[1]["current"], false);
    // The third ends the second: its refresh token stops working.
    let other = seen[1]["id"].as_str().expect("id");
    let res = app
        .client
        .delete(format!("{}/api/v1/users/me/sessions/{other}", app.base))
        .bearer_auth(token(&third, "access_token"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": token(&second, "refresh_token")}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .get("/api/v1/users/me", &token(&third, "access_token"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_refreshes_let_exactly_one_through_in_process() {
    let app = start(&[]).await;
    let first = app.login().await;
    let attempts = (0..8).map(|_| {
        app.post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first["refresh_token"]}),
        )
    });
    let ok = futures_util::future::join_all(attempts)
        .await
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn users_are_managed_and_deactivation_bites_at_once() {
    let app = start(&[]).await;
    let admin = app.login().await;
    let admin_access = admin["access_token"].as_str().unwrap();
    let res = app
        .client
        .post(format!("{}/api/v1/users", app.base))
        .bearer_auth(admin_access)
        .json(&json!({"email": "agent@demo.example", "full_name": "An Agent", "password": "Agent-Pass1", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = app
        .post(
            "/api/v1/auth/login",
            json!({"email": "agent@demo.example", "password": "Agent-Pass1"}),
        )
        .await;
    let agent: Value = agent.json().await.unwrap();
    let agent_access = agent["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/users", agent_access).await.status(),
        StatusCode::FORBIDDEN
    );
    let res = app
        .client
        .delete(format!("{}/api/v1/users/{id}", app.base))
        .bearer_auth(admin_access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/users/me", agent_access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_restart_keeps_the_data_the_key_and_the_demo_admin() {
    let dir = data_dir();
    let (app, platform) = start_in(&dir, &[]).await;
    assert!(platform.demo.created);
    assert!(platform.banner().contains(DEFAULT_ADMIN_EMAIL));
    let server = tokio::spawn(platform.run_until_stopped());
    let tokens = app.login().await;
    server.abort();

    let (app, platform) = start_in(&dir, &[]).await;
    assert!(!platform.demo.created, "the demo admin is created once");
    tokio::spawn(platform.run_until_stopped());
    // Same signing key: the token from before the restart still verifies (its session,
    // held in process, did not survive, so it is refused as revoked, not as forged).
    let res = app
        .get("/api/v1/users/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.login().await;
    let key = std::fs::read_to_string(dir.join("secret_key")).unwrap();
    assert!(key.trim().len() >= 32);
}

#[tokio::test]
async fn health_readiness_and_docs_are_served() {
    let app = start(&[]).await;
    for path in ["/healthz", "/readyz", "/openapi.json", "/metrics"] {
        let res = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_short_secret_key_stops_start_up_with_its_name() {
    let dir = data_dir();
    let err = Platform::build(&Env::from_pairs([
        ("INTERVIEWER_DATA_DIR", dir.display().to_string()),
        ("SECRET_KEY", "short".to_owned()),
    ]))
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("SECRET_KEY"), "{err}");
}

#[tokio::test]
async fn interview_and_scoring_run_alongside_over_real_grpc() {
    let dir = data_dir();
    let (app, platform) = start_in(&dir, &[]).await;
    let interview = format!("http://127.0.0.1:{}", platform.interview.port());
    let scoring = format!("http://127.0.0.1:{}", platform.scoring.port());
    let audit = format!("http://127.0.0.1:{}", platform.audit.port());
    tokio::spawn(platform.run_until_stopped());
    let tokens = app.login().await;
    let access = tokens["access_token"].as_str().unwrap();
    let me: Value = app
        .get("/api/v1/users/me", access)
        .await
        .json()
        .await
        .unwrap();

    let res = app
        .client
        .post(format!("{interview}/api/v1/candidates"))
        .bearer_auth(access)
        .json(&json!({"full_name": "Grace Hopper", "email": "grace@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let candidate: Value = res.json().await.unwrap();
    let schedule = |start: &'static str| {
        app.client
            .post(format!("{interview}/api/v1/interviews"))
            .bearer_auth(access)
            .json(&json!({"candidate_id": candidate["id"], "interviewer_ids": [me["id"]], "title": "Intro",
                          "kind": "phone", "scheduled_at": start, "duration_minutes": 30}))
            .send()
    };
    let res = schedule("2030-05-01T09:00:00Z").await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let clash = schedule("2030-05-01T09:15:00Z").await.unwrap();
    assert!(
        detail(clash, StatusCode::CONFLICT)
            .await
            .contains("Demo Admin")
    );

    let ics = app
        .client
        .get(format!(
            "{interview}/api/v1/interviews/{}/calendar.ics",
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.contains("DTSTART:20300501T090000Z"));

    let res = app
        .client
        .get(format!("{interview}/api/v1/interviews"))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(detail(res, StatusCode::UNAUTHORIZED).await, "Invalid token");

    // Scoring, over gRPC to both: a rubric, a scorecard once started, the report.
    let interview_id = created["id"].as_str().unwrap();
    let res = app
        .client
        .post(format!("{scoring}/api/v1/rubrics"))
        .bearer_auth(access)
        .json(&json!({"name": "Intro", "criteria": [{"key": "fit", "name": "Fit", "weight": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let rubric: Value = res.json().await.unwrap();
    let submit = || {
        app.client
            .post(format!("{scoring}/api/v1/interviews/{interview_id}/scorecards"))
            .bearer_auth(access)
            .json(&json!({"rubric_id": rubric["id"], "ratings": {"fit": 4}, "recommendation": "strong_yes"}))
            .send()
    };
    assert_eq!(submit().await.unwrap().status(), StatusCode::CONFLICT);
    let res = app
        .client
        .post(format!(
            "{interview}/api/v1/interviews/{interview_id}/complete"
        ))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(submit().await.unwrap().status(), StatusCode::CREATED);
    let report: Value = app
        .client
        .get(format!(
            "{scoring}/api/v1/candidates/{}/report",
            candidate["id"].as_str().unwrap()
        ))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["overall_score"], 4.0);
    assert_eq!(report["recommendations"]["strong_yes"], 1);

    // The in-process bus delivered every event to the in-process audit-writer.
    let mut actions: Vec<String> = Vec::new();
    for _ in 0..50 {
        let page: Value = app
            .client
            .get(format!("{audit}/api/v1/audit-logs?limit=200"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        actions = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect();
        if actions.iter().any(|a| a == "SCORECARD_SUBMITTED") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for action in [
        "LOGIN",
        "CANDIDATE_CREATED",
        "INTERVIEW_SCHEDULED",
        "INTERVIEW_COMPLETED",
        "RUBRIC_CREATED",
        "SCORECARD_SUBMITTED",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing: {actions:?}"
        );
    }
    let notes: Value = app
        .client
        .get(format!("{audit}/api/v1/notifications"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"SCORECARD_SUBMITTED") && kinds.contains(&"INTERVIEW_SCHEDULED"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn the_embedded_default_limits_login_attempts_too() {
    let app = start(&[]).await;
    for _ in 0..5 {
        let res = app
            .post(
                "/api/v1/auth/login",
                json!({"email": DEFAULT_ADMIN_EMAIL, "password": "Wrong-Pass1"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app
        .post(
            "/api/v1/auth/login",
            json!({"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}),
        )
        .await;
    assert!(res.headers().contains_key("retry-after"));
    detail(res, StatusCode::TOO_MANY_REQUESTS).await;
}

/// Debian's Chromium, or `CHROMIUM`; `None` (the test says it skipped) only outside CI.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("REQUIRE_BACKENDS").as_deref() != Ok("1"),
        "REQUIRE_BACKENDS=1 but no Chromium at {} (apt-get install chromium, or set CHROMIUM)",
        path.display()
    );
    eprintln!("SKIPPED: no Chromium at {}", path.display());
    None
}

/// Swagger UI on every service renders under the docs' content security policy, and the
/// browser reports no violation of it.
#[tokio::test]
async fn the_docs_render_in_headless_chromium_without_csp_violations() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = data_dir();
    let (_app, platform) = start_in(&dir, &[]).await;
    let ports = [
        platform.auth.port(),
        platform.interview.port(),
        platform.scoring.port(),
        platform.audit.port(),
    ];
    tokio::spawn(platform.run_until_stopped());
    for port in ports {
        let profile = dir.join(format!("chromium-{port}"));
        let out = tokio::process::Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-quic",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("http://127.0.0.1:{port}/docs/"))
            .output()
            .await
            .expect("run chromium");
        let dom = String::from_utf8_lossy(&out.stdout);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(
            dom.contains("opblock") && dom.contains("AI Interviewer Platform"),
            "port {port}: Swagger UI did not render:\n{dom}\n{log}"
        );
        let violations: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("Content Security Policy") || l.contains("Refused to"))
            .collect();
        assert!(violations.is_empty(), "port {port}: {violations:#?}");
    }
    // The password-reset page runs its script under its policy: without a token in the
    // link it says so (the script wrote that), and the browser reports no violation.
    let profile = dir.join("chromium-reset");
    let out = tokio::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://127.0.0.1:{}/reset-password", ports[0]))
        .output()
        .await
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        dom.contains("This link has no reset token"),
        "the reset page's script did not run:\n{dom}\n{log}"
    );
    let violations: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Content Security Policy") || l.contains("Refused to"))
        .collect();
    assert!(violations.is_empty(), "reset page: {violations:#?}");
}

/// Beyond loopback (the image's default command) the documented demo password would let
/// anyone in: the demo admin gets a generated one, kept in the data directory.
#[tokio::test]
async fn beyond_loopback_the_demo_admin_gets_a_generated_password() {
    let dir = data_dir();
    let (app, platform) = start_in(&dir, &[("AUTH_HTTP_ADDR", "0.0.0.0:0")]).await;
    let banner = platform.banner();
    tokio::spawn(platform.run_until_stopped());
    let path = dir.join(interviewer::DEMO_PASSWORD_FILE);
    let generated = std::fs::read_to_string(&path).expect("the generated password is kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(banner.contains(generated.trim()), "printed once: {banner}");
    let documented = app
        .post(
            "/api/v1/auth/login",
            json!({"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(documented.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .post(
            "/api/v1/auth/login",
            json!({"email": DEFAULT_ADMIN_EMAIL, "password": generated.trim()}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    drop(dir);
}

/// The newest `.eml` under the data directory's `mail/`, waited for.
async fn newest_mail(dir: &Path) -> String {
    let mail = dir.join("mail");
    for _ in 0..200 {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&mail)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        if let Some(last) = found.last() {
            return std::fs::read_to_string(last).expect("read the .eml");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail written under {}", mail.display());
}

/// Without SMTP_URL the reset mail is an `.eml` file in the data directory; its link
/// leads to the reset page this service serves, and its token sets the password.
#[tokio::test]
async fn a_password_is_reset_from_the_eml_the_embedded_default_writes() {
    let dir = data_dir();
    let (app, platform) = start_in(&dir, &[]).await;
    tokio::spawn(platform.run_until_stopped());
    let res = app
        .post(
            "/api/v1/auth/password-reset",
            json!({"email": DEFAULT_ADMIN_EMAIL}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let raw = newest_mail(&dir).await;
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("an RFC 5322 message");
    assert_eq!(message.subject(), Some("Reset your password"));
    let text = message.body_text(0).expect("a text body").into_owned();
    let at = text.find("/reset-password?token=").expect("the link");
    let token: String = text[at + "/reset-password?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    // The page the link opens is served, under its own content security policy.
    let page = app
        .client
        .get(format!("{}/reset-password?token={token}", app.base))
        .send()
        .await
        .expect("the reset page");
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("/reset-password.js")
    );

    let res = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": "Quiet-Harbour-31"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .post(
            "/api/v1/auth/login",
            json!({"email": DEFAULT_ADMIN_EMAIL, "password": "Quiet-Harbour-31"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    drop(dir);
}

/// TOTP on the embedded default: enrol, confirm with a code from an independent
/// implementation, then a sign-in takes the second factor.
#[tokio::test]
async fn totp_mfa_works_in_process() {
    let app = start(&[]).await;
    let signed_in = app.login().await;
    let access = signed_in["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let res = app
        .client
        .post(format!("{}/api/v1/users/me/mfa/totp", app.base))
        .bearer_auth(&access)
        .send()
        .await
        .expect("enrol");
    assert_eq!(res.status(), StatusCode::OK);
    let enrolment: Value = res.json().await.expect("json");
    let secret = data_encoding::BASE32_NOPAD
        .decode(enrolment["secret"].as_str().expect("secret").as_bytes())
        .expect("base32");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let code = totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, &secret, now);
    let res = app
        .client
        .post(format!("{}/api/v1/users/me/mfa/totp/confirm", app.base))
        .bearer_auth(&access)
        .json(&json!({"code": code}))
        .send()
        .await
        .expect("confirm");
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Value = res.json().await.expect("json");
    let recovery = codes["recovery_codes"][0]
        .as_str()
        .expect("a code")
        .to_owned();

    let res = app
        .post(
            "/api/v1/auth/login",
            json!({"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}),
        )
        .await;
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["mfa_required"], true, "{answer}");
    let mfa_token = answer["mfa_token"].as_str().expect("mfa_token");
    let res = app
        .post(
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": mfa_token, "code": code}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a code is accepted once"
    );
    let res = app
        .post(
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": mfa_token, "code": recovery}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app
        .get(
            "/api/v1/users/me",
            res.json::<Value>().await.expect("json")["access_token"]
                .as_str()
                .expect("token"),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["mfa_enabled"], true);
}

/// The embedded default chains its audit log too (the key generated into the data
/// directory), and the verifier accepts it.
#[tokio::test]
async fn the_embedded_audit_log_is_a_verified_chain() {
    let dir = data_dir();
    let (app, platform) = start_in(&dir, &[]).await;
    let audit = format!("http://127.0.0.1:{}", platform.audit.port());
    tokio::spawn(platform.run_until_stopped());
    let key = std::fs::read_to_string(dir.join("audit_chain_key")).expect("the chain key is kept");
    assert!(key.trim().len() >= 32);
    let signed_in = app.login().await;
    app.login().await;
    let access = signed_in["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let res = app
        .client
        .get(format!("{audit}/api/v1/audit-logs/verify"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("verify");
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.expect("json");
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["checked"].as_u64().expect("checked") >= 2,
        "{report}"
    );
    drop(dir);
}

#[tokio::test]
async fn a_candidate_is_exported_and_erased_in_process() {
    let dir = data_dir();
    let (app, platform) = start_in(&dir, &[]).await;
    let interview = format!("http://127.0.0.1:{}", platform.interview.port());
    let scoring = format!("http://127.0.0.1:{}", platform.scoring.port());
    let audit = format!("http://127.0.0.1:{}", platform.audit.port());
    tokio::spawn(platform.run_until_stopped());
    let tokens = app.login().await;
    let access = tokens["access_token"].as_str().expect("token").to_owned();
    let me: Value = app
        .get("/api/v1/users/me", &access)
        .await
        .json()
        .await
        .expect("me");
    let post =
        |url: String, body: Value| app.client.post(url).bearer_auth(&access).json(&body).send();
    let get = |url: String| app.client.get(url).bearer_auth(&access).send();
    let res = post(
        format!("{interview}/api/v1/candidates"),
        json!({"full_name": "Ada Lovelace", "email": "ada@example.org"}),
    )
    .await
    .expect("candidate");
    assert_eq!(res.status(), StatusCode::CREATED);
    let ada = res.json::<Value>().await.expect("json")["id"].clone();
    let ada = ada.as_str().expect("id").to_owned();
    let res = post(
        format!("{interview}/api/v1/interviews"),
        json!({"candidate_id": ada, "interviewer_ids": [me["id"]], "title": "Intro with Ada Lovelace",
               "kind": "phone", "scheduled_at": "2030-05-01T09:00:00Z", "duration_minutes": 30}),
    )
    .await
    .expect("interview");
    assert_eq!(res.status(), StatusCode::CREATED);
    let iv = res.json::<Value>().await.expect("json")["id"].clone();
    let iv = iv.as_str().expect("id").to_owned();
    let res = post(
        format!("{interview}/api/v1/interviews/{iv}/start"),
        json!({}),
    )
    .await
    .expect("start");
    assert_eq!(res.status(), StatusCode::OK);
    let res = post(
        format!("{scoring}/api/v1/rubrics"),
        json!({"name": "Intro", "criteria": [{"key": "fit", "name": "Fit", "weight": 1}]}),
    )
    .await
    .expect("rubric");
    let rubric = res.json::<Value>().await.expect("json")["id"].clone();
    let res = post(
        format!("{scoring}/api/v1/interviews/{iv}/scorecards"),
        json!({"rubric_id": rubric, "ratings": {"fit": 4}, "recommendation": "strong_yes",
               "notes": "Ada Lovelace explained the engine well"}),
    )
    .await
    .expect("scorecard");
    assert_eq!(res.status(), StatusCode::CREATED);
    let card = res.json::<Value>().await.expect("json")["id"].clone();
    let card = card.as_str().expect("id").to_owned();

    // One document from every service of the process.
    let res = get(format!("{interview}/api/v1/candidates/{ada}/export"))
        .await
        .expect("export");
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.expect("json");
    assert_eq!(doc["interview"]["candidate"]["full_name"], "Ada Lovelace");
    assert_eq!(doc["scoring"]["scorecards"][0]["id"], json!(card));
    assert!(doc["audit"]["audit_entries"].is_array(), "{doc}");
    let res = app
        .get(
            &format!("/api/v1/users/{}/export", me["id"].as_str().expect("id")),
            &access,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mine: Value = res.json().await.expect("json");
    assert_eq!(mine["scoring"]["scorecards_written"][0]["id"], json!(card));

    // Erased in every service of the process: the scoring service hears it in process.
    let res = post(
        format!("{interview}/api/v1/candidates/{ada}/erase"),
        json!({}),
    )
    .await
    .expect("erase");
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mut notes = Value::Null;
    for _ in 0..100 {
        let res = get(format!("{scoring}/api/v1/scorecards/{card}"))
            .await
            .expect("scorecard");
        notes = res.json::<Value>().await.expect("json")["notes"].clone();
        if notes == json!("[erased] explained the engine well") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(notes, json!("[erased] explained the engine well"));
    let res = get(format!("{interview}/api/v1/candidates/{ada}/export"))
        .await
        .expect("export");
    let text = res.text().await.expect("text");
    assert!(
        !text.contains("Ada Lovelace") && !text.contains("ada@example.org"),
        "{text}"
    );
    let report: Value = get(format!("{audit}/api/v1/audit-logs/verify"))
        .await
        .expect("verify")
        .json()
        .await
        .expect("json");
    assert_eq!(report["ok"], true, "{report}");
    drop(dir);
}
