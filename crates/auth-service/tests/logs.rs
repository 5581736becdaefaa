//! No password, token, cookie or key ever reaches the logs — checked at debug level, in
//! the production (JSON) format, over a full sign-in, refresh, user creation and logout —
//! and every line logged inside a request carries its trace and span ids.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use reqwest::StatusCode;
use serde_json::{Value, json};
use service_runtime::telemetry::{LogFormat, install};
use std::io::Write;
use std::sync::{Arc, Mutex};
use test_support::{ADMIN_PASSWORD, INTERNAL_KEY, SECRET, body, tokens_of};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_never_reach_the_logs_and_request_lines_carry_trace_ids() {
    let logs = Captured::default();
    // An exporter to nowhere: spans get real ids; exporting them fails quietly.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let _telemetry = install(
        "debug",
        LogFormat::Json,
        Some(endpoint),
        "auth",
        logs.clone(),
    )
    .unwrap();

    let (database_url, conn) = test_support::fresh_database().await;
    let auth = test_support::spawn_auth(&database_url, conn.clone(), &[]).await;
    let (_, admin_id) = test_support::seed_company(&conn, "Acme", "admin@acme.example").await;
    let client = test_support::client();
    let url = |p: &str| format!("{}{p}", auth.address);

    let res = client
        .post(url("/api/v1/auth/login"))
        .json(&json!({"email": "admin@acme.example", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let first = tokens_of(&body(res).await);
    let res = client
        .post(url("/api/v1/auth/login"))
        .json(&json!({"email": "admin@acme.example", "password": "Wrong-Secret9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client
        .post(url("/api/v1/users"))
        .bearer_auth(&first.access)
        .json(&json!({"email": "new@acme.example", "full_name": "New User", "password": "Fresh-Secret7", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = client
        .post(url("/api/v1/auth/refresh"))
        .header("cookie", format!("refresh_token={}", first.refresh))
        .send()
        .await
        .unwrap();
    let second = tokens_of(&body(res).await);
    let res = client
        .post(url("/api/v1/auth/logout"))
        .bearer_auth(&second.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .get(url("/api/v1/users/me"))
        .bearer_auth("forged.token.value")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.lines().count() > 10, "debug logging was on:\n{text}");
    let cookie_value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("refresh_token=")
        .to_owned();
    for secret in [
        ADMIN_PASSWORD,
        "Wrong-Secret9",
        "Fresh-Secret7",
        SECRET,
        INTERNAL_KEY,
        first.access.as_str(),
        first.refresh.as_str(),
        second.access.as_str(),
        second.refresh.as_str(),
        cookie_value.as_str(),
        "forged.token.value",
    ] {
        assert!(!text.contains(secret), "a secret was logged: {secret}");
    }
    // Production lines are JSON; those inside a request carry its trace and span ids.
    let mut with_ids = 0;
    let mut with_user = 0;
    for line in text.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let in_request = v["spans"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "http.request"));
        if in_request {
            let span = v["spans"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == "http.request")
                .unwrap();
            assert!(
                span["trace_id"].as_str().is_some_and(|t| t.len() == 32),
                "{line}"
            );
            assert!(
                span["span_id"].as_str().is_some_and(|t| t.len() == 16),
                "{line}"
            );
            with_ids += 1;
            // Once the bearer token is checked, the request's lines say whose it was.
            if span["user_id"] == json!(admin_id.to_string()) {
                with_user += 1;
            }
        }
    }
    assert!(with_ids > 0, "no request lines:\n{text}");
    assert!(with_user > 0, "no request line names its user:\n{text}");
}
