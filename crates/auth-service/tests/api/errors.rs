//! Every kind of bad request gets a 4xx `{"detail": ...}`, never a 500.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error(res, StatusCode::NOT_FOUND).await, "Not found");
    let res = app
        .client
        .get(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(
        assert_error(res, StatusCode::METHOD_NOT_ALLOWED).await,
        "Method Not Allowed"
    );
    let res = app
        .client
        .delete(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn an_id_that_is_not_a_uuid_is_404() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    for path in ["/api/v1/users/123", "/api/v1/users/not-a-uuid/permissions"] {
        assert_error(app.get(path, &admin.access).await, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn an_oversized_body_is_413_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let huge = json!({"email": "big@acme.example", "full_name": "x".repeat(100_000), "password": "Strong-Pass1"});
    let res = app
        .send_json(Method::POST, "/api/v1/users", &admin.access, &huge)
        .await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .body(vec![b' '; 200_000])
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    let list = body(app.get("/api/v1/users", &admin.access).await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_400_and_422() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let raw = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin.access)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_error(raw("{not json").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_error(raw("").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_error(
        raw(r#"{"email": "a@acme.example"}"#).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        raw(r#"{"email": 1, "full_name": "A B", "password": "Strong-Pass1"}"#)
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(
        raw(r#"{"email": "bad", "full_name": "A B", "password": "Strong-Pass1"}"#)
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Invalid UTF-8 is malformed, not a crash.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(vec![b'{', 0xff, 0xfe, b'}'])
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn_app_with(&[("CORS_ORIGINS", r#"["http://localhost:3000"]"#)]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    assert!(evil.status().is_client_error());
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
}
