//! Auth's revocation feed: with a cache time of 5 s on both sides, a logout, deactivation
//! or role change still counts on the interview service at once, and a feed cut off
//! (RabbitMQ reached through a proxy the test cuts) never lets a revoked token through.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

/// Well short of the 5 s the caches may keep an answer: only the feed explains a refusal
/// this early.
const SOON: Duration = Duration::from_millis(2500);

struct Feed {
    client: reqwest::Client,
    auth: String,
    interview: String,
    admin: Tokens,
    db: sea_orm::DatabaseConnection,
    _proxy: Option<test_support::Proxy>,
}

/// Auth and interview caching answers 5 s; interview's broker connection through `proxy`.
async fn spawn_feed(proxy: Option<test_support::Proxy>) -> Feed {
    let (database_url, conn) = test_support::fresh_database().await;
    let auth = test_support::spawn_auth(
        &database_url,
        conn.clone(),
        &[("INTROSPECTION_CACHE_MS", "5000")],
    )
    .await;
    let amqp = proxy
        .as_ref()
        .map(|p| test_support::via_proxy(&test_support::amqp_url(), p));
    let mut extra = vec![("INTROSPECTION_CACHE_MS", "5000")];
    if let Some(url) = &amqp {
        extra.push(("AMQP_URL", url.as_str()));
    }
    let interview = test_support::spawn_interview(
        &database_url,
        conn.clone(),
        &auth.grpc_address,
        &auth.amqp_prefix,
        &extra,
    )
    .await;
    seed_company(&conn, "Acme", "admin@acme.example").await;
    let client = test_support::client();
    let admin =
        test_support::login_ok(&client, &auth.address, "admin@acme.example", ADMIN_PASSWORD).await;
    Feed {
        client,
        auth: auth.address,
        interview: interview.address,
        admin,
        db: conn,
        _proxy: proxy,
    }
}

impl Feed {
    async fn list(&self, token: &str) -> StatusCode {
        let url = format!("{}/api/v1/candidates", self.interview);
        send(&self.client, Method::GET, &url, token, None)
            .await
            .status()
    }

    /// Polls until `token` gets `status` from the interview service, failing past [`SOON`].
    async fn until(&self, token: &str, status: StatusCode) {
        let start = Instant::now();
        while self.list(token).await != status {
            assert!(
                start.elapsed() < SOON,
                "still not {status} after {:?}",
                start.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn user(&self, role: &str) -> (uuid::Uuid, Tokens) {
        test_support::new_user(
            &self.client,
            &self.auth,
            &self.admin.access,
            role,
            "Feed User",
        )
        .await
    }

    /// An admin deactivates the user (`DELETE /users/{id}`).
    async fn deactivate(&self, id: uuid::Uuid) {
        let path = format!("/api/v1/users/{id}");
        self.auth(Method::DELETE, &path, &self.admin.access, None)
            .await;
    }

    async fn auth(&self, method: Method, path: &str, token: &str, body: Option<serde_json::Value>) {
        let res = send(
            &self.client,
            method,
            &format!("{}{path}", self.auth),
            token,
            body,
        )
        .await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
}

#[tokio::test]
async fn logout_deactivation_and_a_role_change_count_at_once_despite_a_long_cache() {
    let feed = spawn_feed(None).await;
    // The caches do keep answers: a change made behind auth's back (straight in the
    // database, announced to nobody) is not seen while the answer is cached.
    let (id, u) = feed.user("manager").await;
    assert_eq!(feed.list(&u.access).await, StatusCode::OK);
    let quietly = |active: bool| {
        use sea_orm::ConnectionTrait;
        let db = feed.db.clone();
        async move {
            db.execute_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "UPDATE users SET is_active = $1 WHERE id = $2",
                [active.into(), id.into()],
            ))
            .await
            .unwrap();
        }
    };
    quietly(false).await;
    assert_eq!(
        feed.list(&u.access).await,
        StatusCode::OK,
        "served from the cache"
    );
    quietly(true).await;

    // Signed out: its token is refused while the cache would still hold it.
    let (_, u) = feed.user("manager").await;
    assert_eq!(feed.list(&u.access).await, StatusCode::OK);
    assert_eq!(feed.list(&u.access).await, StatusCode::OK);
    feed.auth(Method::POST, "/api/v1/auth/logout", &u.access, None)
        .await;
    feed.until(&u.access, StatusCode::UNAUTHORIZED).await;

    // Deactivated by an admin.
    let (id, u) = feed.user("manager").await;
    assert_eq!(feed.list(&u.access).await, StatusCode::OK);
    feed.deactivate(id).await;
    feed.until(&u.access, StatusCode::UNAUTHORIZED).await;

    // A page taken away: the same token, narrowed.
    let (id, u) = feed.user("manager").await;
    assert_eq!(feed.list(&u.access).await, StatusCode::OK);
    feed.auth(
        Method::PUT,
        &format!("/api/v1/users/{id}/permissions"),
        &feed.admin.access,
        Some(json!({"candidates": false})),
    )
    .await;
    feed.until(&u.access, StatusCode::FORBIDDEN).await;
    // Auth's own cache heard it too: its view of the user is the new one.
    let res = send(
        &feed.client,
        Method::GET,
        &format!("{}/api/v1/users/me", feed.auth),
        &u.access,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_feed_cut_off_never_lets_a_revoked_token_through_and_is_heard_again_once_back() {
    let proxy = test_support::Proxy::start("127.0.0.1:5672").await;
    let feed = spawn_feed(Some(proxy)).await;
    let proxy = feed._proxy.as_ref().unwrap();
    let (id, u) = feed.user("manager").await;
    assert_eq!(feed.list(&u.access).await, StatusCode::OK);
    assert_eq!(feed.list(&u.access).await, StatusCode::OK);
    // The interview service can no longer hear auth; auth deactivates the user and tells
    // a feed nobody at the interview service is listening to.
    proxy.cut();
    feed.deactivate(id).await;
    // The cached answer is not trusted: refused, as auth now says.
    feed.until(&u.access, StatusCode::UNAUTHORIZED).await;

    // Back: the listener reconnects, and revocations are heard again.
    proxy.restore();
    let (_, v) = feed.user("manager").await;
    assert_eq!(feed.list(&v.access).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(feed.list(&v.access).await, StatusCode::OK);
    feed.auth(Method::POST, "/api/v1/auth/logout", &v.access, None)
        .await;
    feed.until(&v.access, StatusCode::UNAUTHORIZED).await;
}
