//! Health, readiness, metrics, the OpenAPI document, and the operators' bootstrap.

use crate::helpers::*;
use auth_service::bootstrap::Outcome;
use auth_service::bootstrap::{AdminSpec, ensure_admin};
use reqwest::StatusCode;
use secrecy::SecretString;

#[tokio::test]
async fn health_and_readiness_answer_when_the_backends_do() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn readiness_names_the_dependency_that_does_not_answer() {
    let app = spawn_app_with(&[("REDIS_URL", "redis://127.0.0.1:1")]).await;
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    let detail = assert_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(detail.contains("redis"), "{detail}");
    assert!(!detail.contains("database"), "{detail}");
    // Requests that need the store fail closed with 503, never 500.
    let res = app.login(&app.admin_email, ADMIN_PASSWORD).await;
    let detail = assert_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(detail.contains("token store"), "{detail}");
}

#[tokio::test]
async fn metrics_count_requests_and_the_auth_events() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    app.login(&app.admin_email, "Wrong-Pass1").await;
    app.refresh(&tokens.refresh).await;
    app.logout(&tokens.access).await;
    let text = app.metrics().await;
    for series in [
        r#"auth_logins_total{outcome="success"}"#,
        r#"auth_logins_total{outcome="failure"}"#,
        r#"auth_refreshes_total{outcome="success"}"#,
        "auth_logouts_total",
        r#"http_requests_total{service="auth",method="POST",route="/api/v1/auth/login",status="200"}"#,
        r#"http_request_duration_seconds_bucket{service="auth",method="POST",route="/api/v1/auth/login""#,
    ] {
        assert!(text.contains(series), "{series} missing");
    }
}

#[tokio::test]
async fn the_openapi_document_and_swagger_ui_are_served_offline() {
    let app = spawn_app().await;
    let doc = body(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/users/{id}/permissions",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/docs/");
    let res = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn create_admin_is_idempotent() {
    let app = spawn_app().await;
    let spec = || AdminSpec {
        company: "Initech".into(),
        email: "Founder@Initech.example".into(),
        full_name: "Founder".into(),
        password: SecretString::from("Founder-Pass1".to_owned()),
    };
    let first = ensure_admin(&app.db, spec()).await.unwrap();
    let again = ensure_admin(&app.db, spec()).await.unwrap();
    let (
        Outcome::Created { company, user },
        Outcome::AlreadyExists {
            company: c2,
            user: u2,
        },
    ) = (first, again)
    else {
        panic!("expected created then already-exists: {first:?} {again:?}");
    };
    assert_eq!((company, user), (c2, u2));
    app.login_ok("founder@initech.example", "Founder-Pass1")
        .await;
    let weak = AdminSpec {
        password: SecretString::from("weak".to_owned()),
        email: "x@initech.example".into(),
        ..spec()
    };
    assert!(ensure_admin(&app.db, weak).await.is_err());
}
