//! `API_RATE_LIMIT_PER_MINUTE`: a user's requests a minute on the interview service,
//! counted per user, shared by replicas through Redis (`RATE_LIMIT_REDIS_URL`), reported
//! in `RateLimit-*` headers on allowed answers and on the 429.

use crate::helpers::*;
use reqwest::{Method, Response, StatusCode};
use test_support::quota_of;
use uuid::Uuid;

/// Auth, a company with its admin signed in, and interview replicas with `extra` each.
struct Limited {
    client: reqwest::Client,
    auth: String,
    replicas: Vec<String>,
    admin: Tokens,
}

async fn spawn_limited(replicas: usize, extra: &[(&str, &str)]) -> Limited {
    let (database_url, conn) = test_support::fresh_database().await;
    let auth = test_support::spawn_auth(&database_url, conn.clone(), &[]).await;
    let mut addresses = Vec::new();
    for _ in 0..replicas {
        let interview = test_support::spawn_interview(
            &database_url,
            conn.clone(),
            &auth.grpc_address,
            &auth.amqp_prefix,
            extra,
        )
        .await;
        addresses.push(interview.address);
    }
    seed_company(&conn, "Acme", "admin@acme.example").await;
    let client = test_support::client();
    let admin =
        test_support::login_ok(&client, &auth.address, "admin@acme.example", ADMIN_PASSWORD).await;
    Limited {
        client,
        auth: auth.address,
        replicas: addresses,
        admin,
    }
}

impl Limited {
    async fn list(&self, replica: usize, token: &str) -> Response {
        let url = format!("{}/api/v1/candidates", self.replicas[replica]);
        send(&self.client, Method::GET, &url, token, None).await
    }
}

fn header(res: &Response, name: &str) -> Option<u64> {
    res.headers().get(name)?.to_str().ok()?.parse().ok()
}

#[tokio::test]
async fn each_user_has_a_budget_a_minute_and_is_told_where_they_stand() {
    let app = spawn_limited(1, &[("API_RATE_LIMIT_PER_MINUTE", "3")]).await;
    let (_, other) = test_support::new_user(
        &app.client,
        &app.auth,
        &app.admin.access,
        "manager",
        "Mo Manager",
    )
    .await;
    for remaining in [2, 1, 0] {
        let res = app.list(0, &app.admin.access).await;
        assert_eq!(res.status(), StatusCode::OK);
        let (limit, left, reset) = quota_of(&res).expect("RateLimit-* headers");
        assert_eq!((limit, left), (3, remaining));
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let res = app.list(0, &app.admin.access).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry = header(&res, "retry-after").expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(quota_of(&res), Some((3, 0, retry)));
    let detail = assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(detail.starts_with("Too many requests"), "{detail}");
    // Writes count too, and are refused the same way.
    let res = send(
        &app.client,
        Method::POST,
        &format!("{}/api/v1/candidates", app.replicas[0]),
        &app.admin.access,
        Some(serde_json::json!({"email": "c@x.example", "full_name": "C"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // Another user of the same company has a budget of their own.
    let res = app.list(0, &other.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(quota_of(&res).map(|q| q.1), Some(2));
    // A request without a valid token is refused before it is counted against anyone.
    let res = app.list(0, "not-a-token").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(quota_of(&res), None);
    // Health and metrics are not part of the API.
    let res = app
        .client
        .get(format!("{}/healthz", app.replicas[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(quota_of(&res), None);
}

#[tokio::test]
async fn replicas_share_one_budget_through_redis() {
    let prefix = format!("test:{}:", Uuid::new_v4().simple());
    let redis = test_support::redis_url();
    let app = spawn_limited(
        2,
        &[
            ("API_RATE_LIMIT_PER_MINUTE", "4"),
            ("RATE_LIMIT_REDIS_URL", redis.as_str()),
            ("RATE_LIMIT_KEY_PREFIX", prefix.as_str()),
        ],
    )
    .await;
    let token = app.admin.access.clone();
    for (replica, remaining) in [(0, 3), (1, 2), (0, 1), (1, 0)] {
        let res = app.list(replica, &token).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            quota_of(&res).map(|q| q.1),
            Some(remaining),
            "replica {replica}"
        );
    }
    for replica in [0, 1] {
        assert_eq!(
            app.list(replica, &token).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // The count is in Redis, under the test's prefix, expiring with the window.
    let client = redis::Client::open(redis).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}rl:api:interview:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=60).contains(&ttl), "{ttl}");
}

#[tokio::test]
async fn without_its_counter_the_api_still_answers_uncounted() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let app = spawn_limited(
        1,
        &[
            ("API_RATE_LIMIT_PER_MINUTE", "1"),
            ("RATE_LIMIT_REDIS_URL", url.as_str()),
        ],
    )
    .await;
    for _ in 0..3 {
        let res = app.list(0, &app.admin.access).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(quota_of(&res), None);
    }
}
