use crate::helpers::*;
use auth_service::entities::session;
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::json;

#[tokio::test]
async fn logout_clears_the_cookie_and_answers_the_message() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    let res = app.logout(&tokens.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("refresh_token=;"), "{cookie}");
    assert!(cookie.split("; ").any(|a| a == "Max-Age=0"), "{cookie}");
    // Cleared with the attributes it was set with.
    for attribute in ["Path=/", "HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} in {cookie}"
        );
    }
    assert_eq!(
        body(res).await,
        json!({ "message": "Logged out successfully" })
    );
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_the_session_family() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    let other = app.admin_tokens().await;
    assert_eq!(app.logout(&tokens.access).await.status(), StatusCode::OK);

    let me = app.get("/api/v1/users/me", &tokens.access).await;
    assert_eq!(
        assert_error(me, StatusCode::UNAUTHORIZED).await,
        "Invalid token"
    );
    assert_eq!(
        app.refresh(&tokens.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.logout(&tokens.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The user's other session lives on.
    assert_eq!(
        app.get("/api/v1/users/me", &other.access).await.status(),
        StatusCode::OK
    );

    let rows = session::Entity::find().all(&app.db).await.unwrap();
    let revoked: Vec<_> = rows
        .iter()
        .filter_map(|r| r.revoked_reason.as_deref())
        .collect();
    assert_eq!(revoked, ["logout"]);
}

#[tokio::test]
async fn logout_without_a_token_is_401() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Not authenticated"
    );
}

#[tokio::test]
async fn revocation_entries_expire_with_their_tokens() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    assert_eq!(app.logout(&tokens.access).await.status(), StatusCode::OK);
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", app.redis_prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.len() >= 2, "{keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 604_800, "{key} has TTL {ttl}");
        if key.contains(":at:deny:") {
            assert!(ttl <= 900, "{key} outlives its access token: {ttl}");
        }
    }
}
