use crate::helpers::*;
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test]
async fn refresh_token_valid_rotates_the_pair() {
    let app = spawn_app().await;
    let first = app.admin_tokens().await;
    let res = app.refresh(&first.refresh).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let second = tokens_of(body(res).await);
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    assert!(cookie.starts_with(&format!("refresh_token={};", second.refresh)));
    assert_eq!(
        app.get("/api/v1/users/me", &second.access).await.status(),
        StatusCode::OK
    );
    // The new refresh token works in turn.
    assert_eq!(app.refresh(&second.refresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn refresh_reads_the_cookie_when_the_body_has_no_token() {
    let app = spawn_app().await;
    let first = app.admin_tokens().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", format!("refresh_token={}", first.refresh))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", "refresh_token=garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Invalid refresh token"
    );
}

#[tokio::test]
async fn a_rotated_token_within_the_grace_window_is_only_refused() {
    let app = spawn_app().await;
    let first = app.admin_tokens().await;
    let second = tokens_of(body(app.refresh(&first.refresh).await).await);
    let again = app.refresh(&first.refresh).await;
    assert_eq!(
        assert_error(again, StatusCode::UNAUTHORIZED).await,
        "Invalid refresh token"
    );
    // Nothing was revoked: the current token and its access token still work.
    assert_eq!(
        app.get("/api/v1/users/me", &second.access).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.refresh(&second.refresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn refresh_with_a_rotated_token_after_the_grace_window_revokes_the_whole_family() {
    let app = spawn_app_with(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]).await;
    let first = app.admin_tokens().await;
    let other_session = app.admin_tokens().await;
    let second = tokens_of(body(app.refresh(&first.refresh).await).await);
    tokio::time::sleep(Duration::from_millis(20)).await;

    let replay = app.refresh(&first.refresh).await;
    assert_eq!(
        assert_error(replay, StatusCode::UNAUTHORIZED).await,
        "Invalid refresh token"
    );
    // The thief's copy and the victim's current tokens are all dead now.
    assert_eq!(
        app.refresh(&second.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/users/me", &second.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Another session of the same user is untouched.
    assert_eq!(
        app.get("/api/v1/users/me", &other_session.access)
            .await
            .status(),
        StatusCode::OK
    );

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("auth_refresh_reuse_detected_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_let_exactly_one_through() {
    let app = spawn_app().await;
    let first = app.admin_tokens().await;
    let attempts = (0..12).map(|_| app.refresh(&first.refresh));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test]
async fn refresh_token_expired_is_refused() {
    let app = spawn_app().await;
    let first = app.admin_tokens().await;
    let mut claims = crate::tokens::claims_of(&first.refresh);
    claims["exp"] = serde_json::json!(claims["iat"].as_i64().unwrap() - 10);
    let expired = crate::tokens::sign(&claims, SECRET);
    let res = app.refresh(&expired).await;
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Invalid refresh token"
    );
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token_and_garbage_is_refused() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    for bad in [tokens.access.as_str(), "garbage", ""] {
        let res = app.refresh(bad).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Invalid refresh token"
    );
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn a_deactivated_users_refresh_token_stops_working() {
    let app = spawn_app().await;
    let (id, user) = app.user_with_role("agent").await;
    let admin = app.admin_tokens().await;
    let res = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/users/{id}"),
            &admin.access,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.refresh(&user.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// RFC 9700: the grace covers only the immediate predecessor of the current token. A token
/// two rotations back, seconds later, is theft: the whole family goes. Every reuse is
/// audited, saying whether the family was revoked.
#[tokio::test]
async fn a_token_two_rotations_back_revokes_the_family_even_within_the_grace() {
    let app = spawn_app_with(&[
        ("REFRESH_REUSE_GRACE_SECONDS", "30"),
        ("AMQP_URL", NO_BROKER),
    ])
    .await;
    let t0 = app.admin_tokens().await;
    let t1 = tokens_of(body(app.refresh(&t0.refresh).await).await);
    // The immediate predecessor, within the grace: refused, nothing revoked.
    assert_eq!(
        app.refresh(&t0.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let t2 = tokens_of(body(app.refresh(&t1.refresh).await).await);
    // t0 is two rotations back now: the family is revoked.
    assert_eq!(
        app.refresh(&t0.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&t2.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/users/me", &t2.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let reuses = outbox(&app, "event.auth.token_reuse_detected").await;
    let revoked: Vec<bool> = reuses
        .iter()
        .map(|e| e["details"]["family_revoked"].as_bool().unwrap())
        .collect();
    assert_eq!(revoked, [false, true], "{reuses:?}");
}

#[tokio::test]
async fn refreshes_are_limited_per_session_and_per_address() {
    let app = spawn_app_with(&[
        ("REFRESH_RATE_LIMIT_PER_MINUTE", "3"),
        ("REFRESH_RATE_LIMIT_PER_IP_PER_MINUTE", "4"),
    ])
    .await;
    // One session: three refreshes a minute, the fourth is 429 with Retry-After.
    let mut current = app.admin_tokens().await.refresh;
    for i in 0..3u64 {
        let res = app.refresh(&current).await;
        assert_eq!(res.status(), StatusCode::OK);
        // The tighter limit is the session's: 3, then 2, 1, 0 left.
        assert_eq!(quota_of(&res).map(|(l, r, _)| (l, r)), Some((3, 2 - i)));
        current = tokens_of(body(res).await).refresh;
    }
    let res = app.refresh(&current).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    // The refused token was not rotated: it is still the session's current one.
    // Another session from the same address gets the address's last one, then 429.
    let other = app.admin_tokens().await.refresh;
    let res = app.refresh(&other).await;
    assert_eq!(res.status(), StatusCode::OK);
    let other = tokens_of(body(res).await).refresh;
    let res = app.refresh(&other).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "per-address limit"
    );
}

#[tokio::test]
async fn a_refresh_the_database_fails_to_record_is_taken_back_and_the_retry_succeeds() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    // The session's row refuses updates: the rotation in the token store goes through,
    // recording it in the database does not.
    refuse_session_updates(&app).await;
    let res = app.refresh(&tokens.refresh).await;
    assert!(res.status().is_server_error(), "{}", res.status());
    allow_session_updates(&app).await;
    // The client never got the new pair and retries with its token: a refresh, not theft.
    let res = app.refresh(&tokens.refresh).await;
    assert_eq!(res.status(), StatusCode::OK);
    let next = tokens_of(body(res).await);
    assert_eq!(
        app.get("/api/v1/users/me", &next.access).await.status(),
        StatusCode::OK
    );
}

/// The session rows refuse updates: a rotation in the token store goes through,
/// recording it in the database does not.
async fn refuse_session_updates(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$; \
             CREATE TRIGGER refuse BEFORE UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .await
        .unwrap();
}

async fn allow_session_updates(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("DROP TRIGGER refuse ON sessions")
        .await
        .unwrap();
}

/// No broker (events stay in the outbox) and no limits on signing in or refreshing from
/// one address: one test holds many sessions of one account.
async fn spawn_many_sessions_app() -> TestApp {
    spawn_app_with(&[
        ("AMQP_URL", NO_BROKER),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "0"),
        ("LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE", "0"),
        ("REFRESH_RATE_LIMIT_PER_IP_PER_MINUTE", "0"),
        ("MAX_SESSIONS_PER_USER", "0"),
    ])
    .await
}

/// The sessions' rows: id, whether touched since they were created, and their expiry.
async fn sessions_of(app: &TestApp) -> Vec<(uuid::Uuid, bool, time::OffsetDateTime)> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    app.db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id, last_used_at > created_at AS touched, expires_at FROM sessions",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get("", "id").unwrap(),
                r.try_get("", "touched").unwrap(),
                r.try_get("", "expires_at").unwrap(),
            )
        })
        .collect()
}

/// Signs the admin in `n` times: `n` sessions.
async fn sessions(app: &TestApp, n: usize) -> Vec<Tokens> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        all.push(app.admin_tokens().await);
    }
    all
}

#[tokio::test]
async fn concurrent_refreshes_of_many_sessions_each_touch_their_session_and_are_each_audited() {
    let app = spawn_many_sessions_app().await;
    let signed_in = sessions(&app, 30).await;
    let before = sessions_of(&app).await;
    assert_eq!(before.len(), 30);
    let answers =
        futures_util::future::join_all(signed_in.iter().map(|t| app.refresh(&t.refresh))).await;
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Every session touched, its expiry moved on; one TOKEN_REFRESHED for each of them.
    let after = sessions_of(&app).await;
    for (id, touched, expires) in &after {
        assert!(touched, "session {id} not touched");
        let (_, _, was) = before.iter().find(|(b, _, _)| b == id).unwrap();
        assert!(expires >= was, "session {id}'s expiry went back");
    }
    let audited: std::collections::BTreeSet<String> = outbox(&app, "event.auth.token_refreshed")
        .await
        .iter()
        .map(|e| e["resource_id"].as_str().unwrap().to_owned())
        .collect();
    let ids: std::collections::BTreeSet<String> =
        after.iter().map(|(id, _, _)| id.to_string()).collect();
    assert_eq!(audited, ids);
    assert_eq!(outbox(&app, "event.auth.token_refreshed").await.len(), 30);
}

#[tokio::test]
async fn concurrent_refreshes_the_database_fails_to_record_are_all_taken_back() {
    let app = spawn_many_sessions_app().await;
    let signed_in = sessions(&app, 12).await;
    refuse_session_updates(&app).await;
    let answers =
        futures_util::future::join_all(signed_in.iter().map(|t| app.refresh(&t.refresh))).await;
    for res in answers {
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    assert!(outbox(&app, "event.auth.token_refreshed").await.is_empty());
    allow_session_updates(&app).await;
    // Each client retries with the token it has: every one a refresh, none a reuse.
    let answers =
        futures_util::future::join_all(signed_in.iter().map(|t| app.refresh(&t.refresh))).await;
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(outbox(&app, "event.auth.token_refreshed").await.len(), 12);
}
