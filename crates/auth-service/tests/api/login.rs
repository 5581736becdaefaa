use crate::helpers::*;
use auth_service::entities::user;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::json;

#[tokio::test]
async fn login_successful_returns_a_bearer_pair() {
    let app = spawn_app().await;
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let v = body(res).await;
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 900);
    for field in ["access_token", "refresh_token"] {
        assert_eq!(
            v[field].as_str().unwrap().split('.').count(),
            3,
            "{field} is a JWT"
        );
    }
    let me = app
        .get("/api/v1/users/me", v["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_sets_the_refresh_cookie_with_every_attribute() {
    let app = spawn_app().await;
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let v = body(res).await;
    let refresh = v["refresh_token"].as_str().unwrap();
    assert!(
        cookie.starts_with(&format!("refresh_token={refresh};")),
        "{cookie}"
    );
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
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let unknown = app.login("nobody@acme.example", ADMIN_PASSWORD).await;
    let wrong = app.login(&app.admin_email, "Wrong-Pass1").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(unknown.headers().get("set-cookie").is_none());
    let (a, b) = (body(unknown).await, body(wrong).await);
    assert_eq!(a, json!({ "detail": "Invalid email or password" }));
    assert_eq!(a, b);
}

#[tokio::test]
async fn an_inactive_user_gets_the_same_401_even_with_the_right_password() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let id = app
        .create_user(&admin.access, "gone@acme.example", "User-Pass1", "agent")
        .await;
    let res = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/users/{id}"),
            &admin.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.login("gone@acme.example", "User-Pass1").await;
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Invalid email or password"
    );
}

#[tokio::test]
async fn emails_compare_case_insensitively() {
    let app = spawn_app().await;
    let res = app.login("  ADMIN@Acme.Example ", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_bcrypt_hash_is_accepted_and_rehashed_to_argon2id() {
    let app = spawn_app().await;
    let legacy = bcrypt::hash("Legacy-Pass1", 4).unwrap();
    user::ActiveModel {
        id: Set(app.admin_id),
        password_hash: Set(legacy),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .unwrap();

    app.login_ok(&app.admin_email, "Legacy-Pass1").await;
    let stored = user::Entity::find_by_id(uuid::Uuid::from(app.admin_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    app.login_ok(&app.admin_email, "Legacy-Pass1").await;
    let res = app.login(&app.admin_email, "Legacy-Pass2").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_input_errors_are_400_or_422() {
    let app = spawn_app().await;
    let post = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_error(
        post(r#"{"email": "not-an-email", "password": "x"}"#)
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(
        post(r#"{"email": "a@acme.example", "password": ""}"#)
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(
        post(r#"{"email": "a@acme.example"}"#).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        post(r#"{"email": "a@acme.example", "password": 12345678}"#)
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(post("").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_error(post("{\"email\":").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_error(post("[]").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn a_session_row_records_the_client() {
    use auth_service::entities::session;
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "integration-test/1.0")
        .json(&json!({ "email": app.admin_email, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rows = session::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user_agent.as_deref(), Some("integration-test/1.0"));
    assert_eq!(rows[0].ip_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(rows[0].user_id, app.admin_id);
    assert!(rows[0].revoked_at.is_none());
}

#[tokio::test]
async fn too_many_login_attempts_at_one_account_from_one_address_get_429_with_retry_after() {
    let app = spawn_app_with(&[
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "3"),
        ("LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE", "30"),
    ])
    .await;
    // Each answer says where the caller stands against the tighter of the two limits.
    let res = app.login(&app.admin_email, "Wrong-Pass1").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (limit, remaining, reset) = quota_of(&res).expect("RateLimit headers on a 401");
    assert_eq!((limit, remaining), (3, 2));
    assert!((1..=60).contains(&reset), "{reset}");
    assert_eq!(
        app.login(&app.admin_email, "Wrong-Pass2").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(quota_of(&res).map(|(l, r, _)| (l, r)), Some((3, 0)));
    // The fourth attempt in the minute is refused before any password is checked, even a right one.
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(quota_of(&res), Some((3, 0, retry)));
    let detail = assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(detail.starts_with("Too many login attempts"), "{detail}");
    // Another account from the same address (clients behind one proxy) is not held up.
    assert_eq!(
        app.login("nobody@acme.example", "Wrong-Pass1")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Other endpoints are not limited.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!(
            "{}rl:login:127.0.0.1:{}",
            app.redis_prefix, app.admin_email
        ))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=60).contains(&ttl), "the window expires: {ttl}");
}

#[tokio::test]
async fn repeated_failures_within_a_minute_are_gathered_into_one_event_with_a_count() {
    let app = spawn_app_with(&[("AMQP_URL", NO_BROKER), ("LOCKOUT_MINUTES", "0")]).await;
    // All five attempts must fall in one wall-clock minute.
    let second = time::OffsetDateTime::now_utc().second();
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(61 - second))).await;
    }
    for _ in 0..5 {
        assert_eq!(
            app.login(&app.admin_email, "Wrong-Pass1").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let failed = outbox(&app, "event.auth.login_failed").await;
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert_eq!(failed[0]["details"]["attempts"], 1);
    assert_eq!(failed[0]["details"]["reason"], "wrong_password");
    assert_eq!(failed[1]["details"]["attempts"], 4);
    assert_eq!(failed[1]["details"]["repeats_within_minute"], true);
    assert_eq!(failed[1]["details"]["email"], app.admin_email.as_str());
}

/// Gathering upserts race (fifty wrong passwords at once): one that counted fewer repeats
/// but lands last must not lower the count. On PostgreSQL and on the embedded SQLite.
#[tokio::test]
async fn a_gathering_upsert_that_lands_late_keeps_the_larger_count() {
    use sea_orm::{ConnectionTrait, Statement};
    let (_, pg) = test_support::fresh_database().await;
    let sqlite = service_runtime::db::connect("sqlite::memory:", 1)
        .await
        .unwrap();
    migration::migrate(&sqlite).await.unwrap();
    for db in [pg, sqlite] {
        let due = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
        let id = uuid::Uuid::new_v4();
        let event = |attempts: i64| {
            let mut e = events::Event::untyped("auth-service", "LOGIN_FAILED")
                .details(json!({ "attempts": attempts }));
            e.id = id;
            e
        };
        for attempts in [1, 4, 3, 2, 5, 4] {
            events::outbox::gather(&db, &event(attempts), attempts, due)
                .await
                .unwrap();
        }
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT payload, gathered FROM outbox",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let payload: serde_json::Value =
            serde_json::from_str(&rows[0].try_get::<String>("", "payload").unwrap()).unwrap();
        assert_eq!(payload["details"]["attempts"], 5, "{backend:?}");
        assert_eq!(rows[0].try_get::<i64>("", "gathered").unwrap(), 5);
    }
}
