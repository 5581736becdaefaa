//! Account lockout against the real Redis: race-proof, no enumeration, audited, undone by
//! an admin. The broker is unreachable here on purpose, so every event stays in the
//! outbox where the test can read it.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Auth with lockout at its defaults (5 failures, 30 minutes) and no broker.
async fn spawn_locking_app() -> TestApp {
    spawn_app_with(&[
        ("LOCKOUT_THRESHOLD", "5"),
        ("LOCKOUT_MINUTES", "30"),
        ("AMQP_URL", NO_BROKER),
    ])
    .await
}

/// The failed sign-ins with `reason`: repeats within a minute are gathered into one
/// event whose `attempts` counts them.
fn reasons(events: &[Value], reason: &str) -> u64 {
    events
        .iter()
        .filter(|e| e["details"]["reason"] == reason)
        .map(|e| e["details"]["attempts"].as_u64().unwrap_or(1))
        .sum()
}

#[tokio::test]
async fn fifty_concurrent_wrong_passwords_check_at_most_five_and_lock_the_account() {
    let app = spawn_locking_app().await;
    let admin = app.admin_tokens().await;
    let (victim, _) = app.user_with_role("agent").await;
    let victim_email = body(
        app.get(&format!("/api/v1/users/{victim}"), &admin.access)
            .await,
    )
    .await["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let passwords: Vec<String> = (0..50).map(|i| format!("Wrong-pass{i}")).collect();
    let attempts = passwords.iter().map(|p| app.login(&victim_email, p));
    let answers = futures_util::future::join_all(attempts).await;
    for res in answers {
        assert_eq!(
            assert_error(res, StatusCode::UNAUTHORIZED).await,
            "Invalid email or password"
        );
    }
    let failed = outbox(&app, "event.auth.login_failed").await;
    assert_eq!(
        reasons(&failed, "wrong_password"),
        5,
        "exactly five were checked"
    );
    assert_eq!(
        reasons(&failed, "account_locked"),
        45,
        "the rest refused unhashed"
    );
    let locked = outbox(&app, "event.auth.account_locked").await;
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0]["resource_id"], victim.to_string());
    assert_eq!(locked[0]["details"]["ip_address"], "127.0.0.1");
    // Every admin of the company is told.
    let notes = outbox(&app, "notification.account_locked").await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["user_id"], app.admin_id.to_string());

    // The right password does not get in while it is locked, and says nothing new.
    let res = app.login(&victim_email, "User-Pass1").await;
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Invalid email or password"
    );

    // An admin ends the lock at once; it is audited.
    let res = app
        .send_json(
            Method::POST,
            &format!("/api/v1/users/{victim}/unlock"),
            &admin.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(outbox(&app, "event.auth.account_unlocked").await.len(), 1);
    assert_eq!(
        app.login(&victim_email, "User-Pass1").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_success_resets_the_count_and_an_unknown_email_locks_just_the_same() {
    let app = spawn_locking_app().await;
    let email = app.admin_email.clone();
    for round in 0..3 {
        for i in 0..4 {
            let res = app.login(&email, &format!("Wrong-{round}-{i}A")).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        }
        // Four failures, then the right password: in, and the count starts over.
        assert_eq!(
            app.login(&email, ADMIN_PASSWORD).await.status(),
            StatusCode::OK
        );
    }
    assert!(outbox(&app, "event.auth.account_locked").await.is_empty());

    // An address that is no account answers exactly as a real one would, lock included.
    for i in 0..7 {
        let res = app
            .login("nobody@acme.example", &format!("Wrong-{i}A"))
            .await;
        assert_eq!(
            assert_error(res, StatusCode::UNAUTHORIZED).await,
            "Invalid email or password"
        );
    }
    let failed = outbox(&app, "event.auth.login_failed").await;
    assert_eq!(reasons(&failed, "unknown_email"), 5);
    assert_eq!(reasons(&failed, "account_locked"), 2);
}

#[tokio::test]
async fn an_admin_setting_a_password_ends_the_lock() {
    let app = spawn_locking_app().await;
    let admin = app.admin_tokens().await;
    let email = format!("locked-{}@acme.example", uuid::Uuid::new_v4().simple());
    let id = app
        .create_user(&admin.access, &email, "User-Pass1", "agent")
        .await;
    for i in 0..5 {
        app.login(&email, &format!("Wrong-{i}A")).await;
    }
    assert_eq!(
        app.login(&email, "User-Pass1").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &admin.access,
            &json!({"password": "Fresh-Pass2"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.login(&email, "Fresh-Pass2").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unlock_needs_user_management_and_a_user_of_the_company() {
    let app = spawn_locking_app().await;
    let admin = app.admin_tokens().await;
    let (agent, agent_tokens) = app.user_with_role("agent").await;
    let res = app
        .send_json(
            Method::POST,
            &format!("/api/v1/users/{agent}/unlock"),
            &agent_tokens.access,
            &json!({}),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN).await;
    let res = app
        .send_json(
            Method::POST,
            &format!("/api/v1/users/{}/unlock", uuid::Uuid::new_v4()),
            &admin.access,
            &json!({}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND).await;
}

#[test]
fn lockout_settings_are_bounded_and_name_their_variable() {
    for (name, value) in [
        ("LOCKOUT_THRESHOLD", "0"),
        ("LOCKOUT_THRESHOLD", "many"),
        ("LOCKOUT_MINUTES", "-1"),
        ("LOCKOUT_MINUTES", "20000"),
        ("PASSWORD_HASH_THREADS", "0"),
        ("PASSWORD_HASH_THREADS", "65"),
        ("PASSWORD_HASH_QUEUE", "0"),
    ] {
        let env = service_runtime::config::Env::from_pairs([
            ("DATABASE_URL", "postgres://x"),
            ("REDIS_URL", "redis://x"),
            ("SECRET_KEY", SECRET),
            ("INTERNAL_API_KEY", INTERNAL_KEY),
            ("AMQP_URL", "amqp://x"),
            (name, value),
        ]);
        let err = auth_service::Settings::from_env(&env, None).unwrap_err();
        assert!(err.to_string().contains(name), "{name}={value}: {err}");
    }
}

#[tokio::test]
async fn one_address_gets_so_many_attempts_a_minute_across_all_accounts() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE", "3")]).await;
    for i in 0..3 {
        let res = app
            .login(&format!("sprayed-{i}@acme.example"), "Spring-2026")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // A fourth account from the same address: refused before any check, even the admin
    // with the right password.
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn many_concurrent_right_passwords_all_get_in() {
    let app = spawn_locking_app().await;
    let logins = (0..20).map(|_| app.login(&app.admin_email, ADMIN_PASSWORD));
    for res in futures_util::future::join_all(logins).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert!(outbox(&app, "event.auth.account_locked").await.is_empty());
}

async fn login_via(
    app: &TestApp,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn session_ips(app: &TestApp) -> Vec<String> {
    use auth_service::entities::session;
    use sea_orm::EntityTrait;
    let mut ips: Vec<String> = session::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|s| s.ip_address)
        .collect();
    ips.sort();
    ips
}

/// Behind a trusted proxy the client is the hop it forwarded for, and the per-address
/// limits count per client, not per proxy; from anyone else the header means nothing.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ("LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE", "2"),
    ])
    .await;
    let email = app.admin_email.clone();
    for client in ["203.0.113.1", "203.0.113.2"] {
        for _ in 0..2 {
            // The client's own claim on the left is ignored: the proxy appended its peer.
            let res = login_via(&app, &format!("6.6.6.6, {client}"), &email, ADMIN_PASSWORD).await;
            assert_eq!(res.status(), StatusCode::OK, "{client}");
        }
        let res = login_via(&app, client, &email, ADMIN_PASSWORD).await;
        assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    }
    assert_eq!(
        session_ips(&app).await,
        ["203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"]
    );

    let untrusting = spawn_app().await;
    let res = login_via(
        &untrusting,
        "203.0.113.1",
        &untrusting.admin_email,
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(session_ips(&untrusting).await, ["127.0.0.1"]);
}

#[tokio::test]
async fn a_company_creates_so_many_users_an_hour() {
    let app = spawn_app_with(&[("USER_CREATION_RATE_LIMIT_PER_HOUR", "2")]).await;
    let admin = app.admin_tokens().await;
    let create = |email: String, token: String| {
        let app = &app;
        async move {
            app.send_json(
                Method::POST,
                "/api/v1/users",
                &token,
                &json!({"email": email, "full_name": "New Hire", "password": "User-Pass1", "role": "agent"}),
            )
            .await
        }
    };
    for i in 0..2u64 {
        let res = create(format!("hire-{i}@acme.example"), admin.access.clone()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(quota_of(&res).map(|(l, r, _)| (l, r)), Some((2, 1 - i)));
    }
    let res = create("hire-2@acme.example".into(), admin.access.clone()).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(quota_of(&res), Some((2, 0, retry)));
    let detail = assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(detail.starts_with("Too many users created"), "{detail}");
    // Another company has its own budget.
    seed_company(&app.db, "Globex", "admin@globex.example").await;
    let other = app.login_ok("admin@globex.example", ADMIN_PASSWORD).await;
    let res = create("hire@globex.example".into(), other.access).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_flood_of_sign_ins_gets_a_fast_503_not_an_endless_queue() {
    let app = spawn_app_with(&[("PASSWORD_HASH_QUEUE", "1")]).await;
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move {
            app.login(&format!("nobody-{i}@acme.example"), "Wrong-Pass1")
                .await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut busy = 0;
    for res in &answers {
        match res.status() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(res.headers()["retry-after"], "1");
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(busy > 0, "40 concurrent sign-ins fit a queue of 1");
    // Once the flood is over, sign-ins are checked again.
    app.admin_tokens().await;
}

#[tokio::test]
async fn the_api_counts_each_users_requests_and_reports_the_tighter_limit() {
    let app = spawn_app_with(&[
        ("API_RATE_LIMIT_PER_MINUTE", "3"),
        ("USER_CREATION_RATE_LIMIT_PER_HOUR", "10"),
    ])
    .await;
    let admin = app.admin_tokens().await;
    let res = app.get("/api/v1/users/me", &admin.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(quota_of(&res).map(|(l, r, _)| (l, r)), Some((3, 2)));
    // Creating a user stands against two limits; the answer reports the closer one.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            &admin.access,
            &json!({"email": "hire@acme.example", "full_name": "New Hire", "password": "User-Pass1", "role": "agent"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(quota_of(&res).map(|(l, r, _)| (l, r)), Some((3, 1)));
    assert_eq!(
        app.get("/api/v1/users/me", &admin.access).await.status(),
        StatusCode::OK
    );
    let res = app.get("/api/v1/users/me", &admin.access).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(quota_of(&res), Some((3, 0, retry)));
    let detail = assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(detail.starts_with("Too many requests"), "{detail}");
    // Signing in is not an authenticated API call: its own limits apply, not this one.
    let hire = app.login_ok("hire@acme.example", "User-Pass1").await;
    let res = app.get("/api/v1/users/me", &hire.access).await;
    assert_eq!(quota_of(&res).map(|(l, r, _)| (l, r)), Some((3, 2)));
}
