use crate::helpers::*;
use crate::tokens::claims_of;
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
        if key.contains(":deny:") {
            assert!(ttl <= 900, "{key} outlives its access token: {ttl}");
        }
    }
}

/// `rt:{<family>}:...`: the hash tag of a key, if it has one.
fn family_tag(key: &str) -> Option<&str> {
    key.split_once("rt:{")?
        .1
        .split_once('}')
        .map(|(tag, _)| tag)
}

#[tokio::test]
async fn every_key_of_a_session_shares_its_hash_tag() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    let sid = claims_of(&tokens.access)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.refresh(&tokens.refresh).await;
    let next = tokens_of(body(res).await);
    assert_eq!(app.logout(&next.access).await.status(), StatusCode::OK);
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}rt:*", app.redis_prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    // The family, its rotated token and its denied access token: one slot on a cluster,
    // so the rotation script and the access check may touch them together.
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in &keys {
        assert_eq!(family_tag(key), Some(sid.as_str()), "{key}");
    }
}
