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
        id: Set(app.admin_id.into()),
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
    assert_eq!(rows[0].user_id, uuid::Uuid::from(app.admin_id));
    assert!(rows[0].revoked_at.is_none());
}

#[tokio::test]
async fn too_many_login_attempts_at_one_account_from_one_address_get_429_with_retry_after() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT_PER_MINUTE", "3")]).await;
    assert_eq!(
        app.login(&app.admin_email, "Wrong-Pass1").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&app.admin_email, "Wrong-Pass2").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&app.admin_email, ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
    // The fourth attempt in the minute is refused before any password is checked, even a right one.
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
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
