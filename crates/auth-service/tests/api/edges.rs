//! Hostile input at the auth service's edge: bounded paging, text the database cannot
//! store, JSON only (CSRF), the cookie refresh's origin check, the browser headers, and the
//! last admin under concurrent changes.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn paging_past_any_integer_type_is_a_422_naming_the_parameter() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    for skip in [
        "9223372036854775808",
        "18446744073709551615",
        "99999999999999999999999",
        "-1",
    ] {
        let res = app
            .get(&format!("/api/v1/users?skip={skip}"), &admin.access)
            .await;
        let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(detail.contains("skip"), "{skip}: {detail}");
    }
    let res = app.get("/api/v1/users?limit=0", &admin.access).await;
    assert!(
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY)
            .await
            .contains("limit")
    );
    // The largest offset there is answers, with nothing in it.
    let res = app
        .get(
            "/api/v1/users?skip=9223372036854775807&limit=100000",
            &admin.access,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, json!([]));
}

#[tokio::test]
async fn text_the_database_cannot_store_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            &admin.access,
            &json!({"email": "nul@acme.example", "full_name": "A\u{0}B", "password": "User-Pass1", "role": "agent"}),
        )
        .await;
    let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(detail.contains("full_name"), "{detail}");
    // An unpaired surrogate can only be written as an escape.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"email": "a@b.example", "password": "\ud800"}"#)
        .send()
        .await
        .unwrap();
    let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(detail.contains("password"), "{detail}");
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_refused_with_415() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    for (path, payload) in [
        (
            "/api/v1/auth/login",
            format!(
                r#"{{"email": "{}", "password": "{ADMIN_PASSWORD}"}}"#,
                app.admin_email
            ),
        ),
        (
            "/api/v1/auth/refresh",
            format!(r#"{{"refresh_token": "{}"}}"#, tokens.refresh),
        ),
    ] {
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut req = app.client.post(app.url(path)).body(payload.clone());
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let res = req.send().await.unwrap();
            assert_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        }
    }
    // The refresh token was not spent by any of them.
    assert_eq!(app.refresh(&tokens.refresh).await.status(), StatusCode::OK);
}

fn cookie_of(res: &reqwest::Response) -> String {
    let set = res.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_cookie_refresh_from_a_foreign_origin_is_forbidden() {
    let app = spawn_app_with(&[("CORS_ORIGINS", "https://app.acme.example")]).await;
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    let mut cookie = cookie_of(&res);
    let refresh = |origin: Option<&'static str>, cookie: String| {
        let mut req = app
            .client
            .post(app.url("/api/v1/auth/refresh"))
            .header("cookie", cookie);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    for foreign in [
        "https://evil.example",
        "null",
        "https://app.acme.example.evil.example",
    ] {
        let res = refresh(Some(foreign), cookie.clone()).await.unwrap();
        assert_error(res, StatusCode::FORBIDDEN).await;
    }
    // The allowed origin, and a request naming none (not a cross-origin browser call).
    for origin in [Some("https://app.acme.example"), None] {
        let res = refresh(origin, cookie.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{origin:?}");
        cookie = cookie_of(&res);
    }
    // A token in the body is not ambient authority: no origin check applies.
    let tokens = app.admin_tokens().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("origin", "https://evil.example")
        .json(&json!({"refresh_token": tokens.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn api_answers_carry_the_browser_hardening_headers() {
    let app = spawn_app_with(&[("HSTS_MAX_AGE_SECONDS", "31536000")]).await;
    let tokens = app.admin_tokens().await;
    let res = app.get("/api/v1/users/me", &tokens.access).await;
    let h = res.headers();
    assert_eq!(
        h["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["permissions-policy"]
            .to_str()
            .unwrap()
            .contains("camera=()")
    );
    assert_eq!(
        h["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    // Errors carry them too.
    let res = app.get("/api/v1/users/me", "garbage").await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    // The docs get a policy Swagger UI can run under.
    let res = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");

    let plain = spawn_app().await;
    let res = plain
        .client
        .get(plain.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
}

#[test]
fn cors_origins_that_are_not_origins_stop_start_up_naming_the_variable() {
    for bad in [
        "*",
        "https://app.example/",
        "https://app.example/path",
        "app.example",
        "https://*.example",
    ] {
        let env = service_runtime::config::Env::from_pairs([
            ("CORS_ORIGINS", bad),
            ("AUTH_HTTP_ADDR", "127.0.0.1:0"),
        ]);
        let err = service_runtime::server::HttpSettings::from_env(
            &env,
            "AUTH_HTTP_ADDR",
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("CORS_ORIGINS"), "{bad}: {err}");
    }
}

/// A change that takes admin rights away from the user with the given id.
type Change = fn(Uuid) -> (Method, String, serde_json::Value);

/// Two admins each demote (or deactivate, or take user management from) the other at the
/// same moment: one change wins, and the company keeps an admin who can manage users.
#[tokio::test]
async fn concurrent_changes_never_leave_a_company_without_an_admin() {
    let app = spawn_app().await;
    let changes: [(&str, Change); 3] = [
        ("demote", |id| {
            (
                Method::PATCH,
                format!("/api/v1/users/{id}"),
                json!({"role": "manager"}),
            )
        }),
        ("deactivate", |id| {
            (
                Method::PATCH,
                format!("/api/v1/users/{id}"),
                json!({"is_active": false}),
            )
        }),
        ("override", |id| {
            (
                Method::PUT,
                format!("/api/v1/users/{id}/permissions"),
                json!({"user_management": false}),
            )
        }),
    ];
    for (name, change) in changes {
        for _ in 0..3 {
            let root = app.admin_tokens().await;
            let mut admins = Vec::new();
            for _ in 0..2 {
                let email = format!("admin-{}@acme.example", Uuid::new_v4().simple());
                let id = app
                    .create_user(&root.access, &email, "User-Pass1", "admin")
                    .await;
                admins.push((id, app.login_ok(&email, "User-Pass1").await));
            }
            // The seeded admin steps down first, so only the two remain.
            let (m, path, b) = change(app.admin_id.into());
            let res = app.send_json(m, &path, &admins[0].1.access, &b).await;
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "{name}: the first admin steps down"
            );

            let (m0, p0, b0) = change(admins[1].0);
            let (m1, p1, b1) = change(admins[0].0);
            let (r0, r1) = tokio::join!(
                app.send_json(m0, &p0, &admins[0].1.access, &b0),
                app.send_json(m1, &p1, &admins[1].1.access, &b1),
            );
            let statuses = [r0.status(), r1.status()];
            assert!(
                statuses.contains(&StatusCode::CONFLICT)
                    || statuses.contains(&StatusCode::FORBIDDEN)
                    || statuses.contains(&StatusCode::UNAUTHORIZED),
                "{name}: both changes succeeded: {statuses:?}"
            );
            assert!(statuses.contains(&StatusCode::OK), "{name}: {statuses:?}");
            let managing = managing_admins(&app).await;
            assert_eq!(managing, 1, "{name}: {statuses:?}");

            // Reset: the seeded admin back, the survivor may then step down next round.
            let survivor = if statuses[0] == StatusCode::OK {
                &admins[0]
            } else {
                &admins[1]
            };
            restore_root(&app, &survivor.1.access).await;
            let (m, path, b) = change(survivor.0);
            app.send_json(m, &path, &root_tokens(&app).await, &b).await;
        }
    }
}

async fn root_tokens(app: &TestApp) -> String {
    app.admin_tokens().await.access
}

/// The seeded admin made an active admin with user management again.
async fn restore_root(app: &TestApp, by: &str) {
    let id = app.admin_id;
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            by,
            &json!({"role": "admin", "is_active": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/users/{id}/permissions"),
            by,
            &json!({"user_management": null}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Active admins of the company whose user management no override takes away.
async fn managing_admins(app: &TestApp) -> i64 {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM users u WHERE u.company_id = $1 AND u.role = 'admin' \
             AND u.is_active AND NOT EXISTS (SELECT 1 FROM user_page_access o \
             WHERE o.user_id = u.id AND o.page_name = 'user_management' AND NOT o.has_access)",
            [Uuid::from(app.company).into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}
