//! The sessions a user can see and end, against the real PostgreSQL and Redis. The
//! broker is unreachable on purpose: `SESSION_ENDED` stays in the outbox to be read.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

async fn spawn_sessions_app() -> TestApp {
    spawn_app_with(&[
        ("AMQP_URL", NO_BROKER),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "0"),
        ("LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE", "0"),
    ])
    .await
}

/// The admin signed in from a browser saying `user_agent`.
async fn sign_in_with(app: &TestApp, user_agent: &str) -> Tokens {
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("User-Agent", user_agent)
        .json(&json!({"email": app.admin_email, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    tokens_of(body(res).await)
}

async fn sessions_seen_by(app: &TestApp, access: &str) -> Vec<Value> {
    let res = app.get("/api/v1/users/me/sessions", access).await;
    assert_eq!(res.status(), StatusCode::OK);
    body(res).await.as_array().unwrap().clone()
}

/// The session of `tokens` has ended: neither its access nor its refresh token works.
async fn assert_ended(app: &TestApp, tokens: &Tokens) {
    let me = app.get("/api/v1/users/me", &tokens.access).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let refreshed = app.refresh(&tokens.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
}

async fn assert_works(app: &TestApp, access: &str) {
    let me = app.get("/api/v1/users/me", access).await;
    assert_eq!(me.status(), StatusCode::OK);
}

async fn end(app: &TestApp, path: &str, access: &str) -> reqwest::Response {
    app.client
        .request(Method::DELETE, app.url(path))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_sees_their_live_sessions_newest_first_with_device_and_current() {
    let app = spawn_sessions_app().await;
    let firefox = sign_in_with(&app, FIREFOX).await;
    let chrome = sign_in_with(&app, CHROME).await;
    // A session that was signed out is not live.
    let gone = app.admin_tokens().await;
    assert!(app.logout(&gone.access).await.status().is_success());

    let seen = sessions_seen_by(&app, &firefox.access).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0]["device"], "Chrome on Windows");
    assert_eq!(seen[0]["current"], false);
    assert_eq!(seen[0]["user_agent"], CHROME);
    assert_eq!(seen[1]["device"], "Firefox on Linux");
    assert_eq!(seen[1]["current"], true);
    assert_eq!(seen[1]["ip"], "127.0.0.1");
    for s in &seen {
        for field in ["id", "created_at", "last_used_at"] {
            assert!(s[field].is_string(), "{field} in {s}");
        }
    }
    // Seen from the other session, the other one is current.
    let seen = sessions_seen_by(&app, &chrome.access).await;
    assert_eq!(seen[0]["current"], true);
    assert_eq!(seen[1]["current"], false);
}

#[tokio::test]
async fn ending_a_session_stops_its_tokens_at_once_and_is_audited() {
    let app = spawn_sessions_app().await;
    let kept = sign_in_with(&app, FIREFOX).await;
    let lost = sign_in_with(&app, CHROME).await;
    // Its access token is in use (and cached) before it ends.
    assert_works(&app, &lost.access).await;
    let seen = sessions_seen_by(&app, &kept.access).await;
    let id = seen[0]["id"].as_str().unwrap().to_owned();

    let res = end(
        &app,
        &format!("/api/v1/users/me/sessions/{id}"),
        &kept.access,
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_ended(&app, &lost).await;
    assert_works(&app, &kept.access).await;
    assert_eq!(sessions_seen_by(&app, &kept.access).await.len(), 1);

    let ended = outbox(&app, "event.auth.session_ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["resource_type"], "session");
    assert_eq!(ended[0]["resource_id"], id);
    assert_eq!(ended[0]["details"]["reason"], "user");

    // Ended already, unknown, or not a session id: nothing to end.
    for path in [
        format!("/api/v1/users/me/sessions/{id}"),
        format!("/api/v1/users/me/sessions/{}", uuid::Uuid::now_v7()),
    ] {
        assert_error(end(&app, &path, &kept.access).await, StatusCode::NOT_FOUND).await;
    }
    assert!(
        end(&app, "/api/v1/users/me/sessions/not-a-uuid", &kept.access)
            .await
            .status()
            .is_client_error()
    );
}

#[tokio::test]
async fn ending_all_other_sessions_keeps_only_the_current_one() {
    let app = spawn_sessions_app().await;
    let current = sign_in_with(&app, FIREFOX).await;
    let others = [
        sign_in_with(&app, CHROME).await,
        app.admin_tokens().await,
        app.admin_tokens().await,
    ];
    let res = end(&app, "/api/v1/users/me/sessions", &current.access).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for t in &others {
        assert_ended(&app, t).await;
    }
    let seen = sessions_seen_by(&app, &current.access).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["current"], true);
    assert_eq!(outbox(&app, "event.auth.session_ended").await.len(), 3);
    // The current session lives on: it refreshes.
    assert_eq!(app.refresh(&current.refresh).await.status(), StatusCode::OK);
    // Nothing else to end: still 204, nothing more audited.
    let res = end(&app, "/api/v1/users/me/sessions", &current.access).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(outbox(&app, "event.auth.session_ended").await.len(), 3);
}

#[tokio::test]
async fn another_users_session_cannot_be_seen_or_ended() {
    let app = spawn_sessions_app().await;
    let admin = sign_in_with(&app, FIREFOX).await;
    let (_, agent) = app.user_with_role("agent").await;
    let theirs = sessions_seen_by(&app, &agent.access).await;
    assert_eq!(theirs.len(), 1);
    let id = theirs[0]["id"].as_str().unwrap().to_owned();
    // The admin's list holds only the admin's own sessions.
    let mine = sessions_seen_by(&app, &admin.access).await;
    assert!(mine.iter().all(|s| s["id"] != id.as_str()));
    assert_error(
        end(
            &app,
            &format!("/api/v1/users/me/sessions/{id}"),
            &admin.access,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_works(&app, &agent.access).await;
}

#[tokio::test]
async fn an_admin_sees_and_ends_a_users_sessions_within_the_company() {
    let app = spawn_sessions_app().await;
    let admin = sign_in_with(&app, FIREFOX).await;
    let agent_id = app
        .create_user(
            &admin.access,
            "agent@sessions.example",
            "Agent-Passw0rd!",
            "agent",
        )
        .await;
    let first = app
        .login_ok("agent@sessions.example", "Agent-Passw0rd!")
        .await;
    let second = app
        .login_ok("agent@sessions.example", "Agent-Passw0rd!")
        .await;
    let path = format!("/api/v1/users/{agent_id}/sessions");
    let res = app.get(&path, &admin.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen = body(res).await;
    assert_eq!(seen.as_array().unwrap().len(), 2);
    assert!(
        seen.as_array()
            .unwrap()
            .iter()
            .all(|s| s["current"] == false)
    );
    // The agent has no user management: neither their own list nor the ending is theirs.
    assert_error(app.get(&path, &first.access).await, StatusCode::FORBIDDEN).await;
    assert_error(end(&app, &path, &first.access).await, StatusCode::FORBIDDEN).await;
    let nobody = format!("/api/v1/users/{}/sessions", uuid::Uuid::now_v7());
    assert_error(app.get(&nobody, &admin.access).await, StatusCode::NOT_FOUND).await;
    assert_error(
        end(&app, &nobody, &admin.access).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    assert_eq!(
        end(&app, &path, &admin.access).await.status(),
        StatusCode::NO_CONTENT
    );
    for t in [&first, &second] {
        assert_ended(&app, t).await;
    }
    let ended = outbox(&app, "event.auth.session_ended").await;
    assert_eq!(ended.len(), 2);
    for e in &ended {
        assert_eq!(e["details"]["reason"], "admin");
        assert_eq!(e["details"]["user_id"], agent_id.to_string());
    }
    // The admin's own session is untouched; the agent can sign in again.
    assert_works(&app, &admin.access).await;
    app.login_ok("agent@sessions.example", "Agent-Passw0rd!")
        .await;
}

#[tokio::test]
async fn a_sign_in_past_max_sessions_per_user_ends_the_least_recently_used() {
    let app = spawn_app_with(&[
        ("AMQP_URL", NO_BROKER),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "0"),
        ("LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE", "0"),
        ("MAX_SESSIONS_PER_USER", "3"),
    ])
    .await;
    let one = app.admin_tokens().await;
    let two = app.admin_tokens().await;
    let three = app.admin_tokens().await;
    // The first session is used again: now the second is the least recently used.
    let res = app.refresh(&one.refresh).await;
    assert_eq!(res.status(), StatusCode::OK);
    let one = tokens_of(body(res).await);
    let four = app.admin_tokens().await;

    assert_ended(&app, &two).await;
    for t in [&one, &three, &four] {
        assert_works(&app, &t.access).await;
    }
    assert_eq!(sessions_seen_by(&app, &four.access).await.len(), 3);
    let ended = outbox(&app, "event.auth.session_ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["details"]["reason"], "limit");
}
