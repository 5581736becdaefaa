//! The harness every service's suite shares: a fresh, migrated PostgreSQL database per
//! test, a Redis key prefix per test, the auth service running on random ports, seeded
//! companies, and the assertions on the error contract.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: fail loudly"
)]

pub mod rabbit;
pub mod smtp;

use auth_service::bootstrap::{AdminSpec, Outcome, ensure_admin};
use auth_types::{CompanyId, UserId};
use reqwest::{Method, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use secrecy::SecretString;
use serde_json::{Value, json};
use service_runtime::config::Env;
use service_runtime::db;
use uuid::Uuid;

/// What a gRPC health check answers.
pub use tonic_health::pb::health_check_response::ServingStatus;

pub const SECRET: &str = "test-secret-key-that-is-at-least-32-bytes";
pub const INTERNAL_KEY: &str = "internal-test-key-0123456789";
/// The audit chain key of every test's audit-writer.
pub const CHAIN_KEY: &str = "test-audit-chain-key-0123456789abcdef";
pub const ADMIN_PASSWORD: &str = "Admin-Pass1";
/// The password of every user the helpers create.
pub const USER_PASSWORD: &str = "User-Pass1";

/// `TEST_PG_URL`: the server, without a database name.
pub fn pg_base() -> String {
    std::env::var("TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// `TEST_AMQP_URL`: RabbitMQ.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A fresh exchange and queue prefix; the broker drops the queues a minute after use.
pub fn amqp_env(prefix: &str) -> Vec<(String, String)> {
    vec![
        ("AMQP_URL".into(), amqp_url()),
        ("AMQP_PREFIX".into(), prefix.into()),
        ("AMQP_EXPIRE_UNUSED_MS".into(), "60000".into()),
    ]
}

pub fn amqp_prefix() -> String {
    format!("test.{}.", Uuid::new_v4().simple())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `TEST_LOG=1`: the services' logs in the test output (at `RUST_LOG`, default `info`),
/// for a failing test; quiet otherwise. Every suite starts with a database, so every
/// suite gets the switch.
pub fn test_log() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some_and(|v| !v.is_empty() && v != "0") {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            // A suite that installs its own subscriber (the log tests) keeps it.
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init()
                .ok();
        }
    });
}

/// A new database with every migration applied: its URL and a connection.
pub async fn fresh_database() -> (String, DatabaseConnection) {
    test_log();
    let name = format!("auth_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(format!("{}/postgres?sslmode=disable", pg_base()))
        .await
        .expect("PostgreSQL must answer at TEST_PG_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the test database");
    admin.close().await.ok();
    let url = format!("{}/{name}?sslmode=disable", pg_base());
    let conn = db::connect(&url, 5)
        .await
        .expect("connect to the test database");
    migration::migrate(&conn).await.expect("migrate");
    (url, conn)
}

/// The auth service, running.
pub struct Auth {
    pub address: String,
    /// The RabbitMQ names of this test: the other services publish under the same.
    pub amqp_prefix: String,
    pub grpc_address: String,
    pub redis_prefix: String,
}

/// Starts auth on random ports against `database_url`, Redis under a new key prefix.
pub async fn spawn_auth(
    database_url: &str,
    conn: DatabaseConnection,
    extra: &[(&str, &str)],
) -> Auth {
    let redis_prefix = format!("test:{}:", Uuid::new_v4().simple());
    let mut pairs: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url.into()),
        ("REDIS_URL".into(), redis_url()),
        ("REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
        ("SECRET_KEY".into(), SECRET.into()),
        ("AUTH_HTTP_ADDR".into(), "127.0.0.1:0".into()),
        ("AUTH_GRPC_ADDR".into(), "127.0.0.1:0".into()),
        ("INTERNAL_API_KEY".into(), INTERNAL_KEY.into()),
        ("HTTP_WORKERS".into(), "2".into()),
        // Suites sign in many times from one address; the limit has its own test.
        ("LOGIN_RATE_LIMIT_PER_MINUTE".into(), "0".into()),
        ("LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE".into(), "0".into()),
        ("REFRESH_RATE_LIMIT_PER_MINUTE".into(), "0".into()),
        ("REFRESH_RATE_LIMIT_PER_IP_PER_MINUTE".into(), "0".into()),
        ("USER_CREATION_RATE_LIMIT_PER_HOUR".into(), "0".into()),
        ("API_RATE_LIMIT_PER_MINUTE".into(), "0".into()),
        // ... and hold more sessions of one account than MAX_SESSIONS_PER_USER allows
        // (its own test sets it).
        ("MAX_SESSIONS_PER_USER".into(), "0".into()),
        // Without SMTP_URL mail is written as files: somewhere of this test's own.
        (
            "MAIL_DIR".into(),
            std::env::temp_dir()
                .join(format!("aip-mail-{}", Uuid::new_v4().simple()))
                .display()
                .to_string(),
        ),
    ];
    let amqp_prefix = amqp_prefix();
    pairs.extend(amqp_env(&amqp_prefix));
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings =
        auth_service::Settings::from_env(&Env::from_pairs(pairs), None).expect("auth settings");
    let app = auth_service::Application::build_with_db(settings, conn, None)
        .await
        .expect("build auth");
    let auth = Auth {
        amqp_prefix,
        address: format!("http://127.0.0.1:{}", app.port()),
        grpc_address: format!("http://127.0.0.1:{}", app.grpc_port()),
        redis_prefix,
    };
    tokio::spawn(app.run_until_stopped());
    auth
}

/// A company with its admin (password [`ADMIN_PASSWORD`]).
pub async fn seed_company(
    db: &DatabaseConnection,
    company: &str,
    email: &str,
) -> (CompanyId, UserId) {
    let outcome = ensure_admin(
        db,
        AdminSpec {
            company: company.into(),
            email: email.into(),
            full_name: "Ada Admin".into(),
            password: SecretString::from(ADMIN_PASSWORD.to_owned()),
        },
    )
    .await
    .expect("seed");
    match outcome {
        Outcome::Created { company, user } | Outcome::AlreadyExists { company, user } => {
            (company, user)
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn body(res: Response) -> Value {
    let text = res.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Asserts the status and the `{"detail": ...}` shape; gives the detail.
pub async fn assert_error(res: Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status, "unexpected status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let v = body(res).await;
    v["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail in {v}"))
        .to_owned()
}

/// The `RateLimit-Limit`, `-Remaining` and `-Reset` of an answer, when it has all three.
pub fn quota_of(res: &Response) -> Option<(u64, u64, u64)> {
    let get = |name: &str| res.headers().get(name)?.to_str().ok()?.parse().ok();
    Some((
        get("ratelimit-limit")?,
        get("ratelimit-remaining")?,
        get("ratelimit-reset")?,
    ))
}

/// The `id` of a created resource.
pub fn id_of(v: &Value) -> Uuid {
    v["id"].as_str().and_then(|s| s.parse().ok()).expect("id")
}

/// `method url` with `token` as the bearer and `body` as JSON.
pub async fn send(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("request")
}

/// `POST /api/v1/auth/login` on the auth service at `auth`.
pub async fn login(client: &reqwest::Client, auth: &str, email: &str, password: &str) -> Response {
    client
        .post(format!("{auth}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login request")
}

/// A login that must succeed.
pub async fn login_ok(client: &reqwest::Client, auth: &str, email: &str, password: &str) -> Tokens {
    let res = login(client, auth, email, password).await;
    assert_eq!(res.status(), StatusCode::OK, "login of {email}");
    tokens_of(&body(res).await)
}

/// A new user of the admin's company with `role` (password [`USER_PASSWORD`]), signed in:
/// its id and tokens.
pub async fn new_user(
    client: &reqwest::Client,
    auth: &str,
    admin_access: &str,
    role: &str,
    name: &str,
) -> (Uuid, Tokens) {
    let email = format!(
        "{}-{}@acme.example",
        name.to_lowercase().replace(' ', "."),
        Uuid::new_v4().simple()
    );
    let res = send(
        client,
        Method::POST,
        &format!("{auth}/api/v1/users"),
        admin_access,
        Some(json!({"email": email, "full_name": name, "password": USER_PASSWORD, "role": role})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED, "create {email}");
    let id = id_of(&body(res).await);
    (id, login_ok(client, auth, &email, USER_PASSWORD).await)
}

/// A candidate created on the interview service at `interview`; its id.
pub async fn new_candidate(
    client: &reqwest::Client,
    interview: &str,
    token: &str,
    name: &str,
) -> Uuid {
    let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
    let res = send(
        client,
        Method::POST,
        &format!("{interview}/api/v1/candidates"),
        token,
        Some(json!({"full_name": name, "email": email, "position": "Engineer"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED, "candidate {name}");
    id_of(&body(res).await)
}

/// The interview service, running.
pub struct Interview {
    pub address: String,
    pub grpc_address: String,
}

/// Starts the interview service on random ports against `database_url`, asking auth at
/// `auth_grpc` and publishing under `amqp_prefix` to the test broker; `extra` variables
/// go last, so they win (`AMQP_URL`, `INTROSPECTION_CACHE_MS`, ...).
pub async fn spawn_interview(
    database_url: &str,
    conn: DatabaseConnection,
    auth_grpc: &str,
    amqp_prefix: &str,
    extra: &[(&str, &str)],
) -> Interview {
    let mut pairs: Vec<(String, String)> = [
        ("DATABASE_URL", database_url),
        ("AUTH_GRPC_URL", auth_grpc),
        ("INTERNAL_API_KEY", INTERNAL_KEY),
        ("INTERVIEW_HTTP_ADDR", "127.0.0.1:0"),
        ("INTERVIEW_GRPC_ADDR", "127.0.0.1:0"),
        ("HTTP_WORKERS", "2"),
        // Suites call many times a minute as one user; the limit has its own test.
        ("API_RATE_LIMIT_PER_MINUTE", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    pairs.extend(amqp_env(amqp_prefix));
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = interview_service::Settings::from_env(&Env::from_pairs(pairs), None)
        .expect("interview settings");
    let app = interview_service::Application::build_with_db(settings, conn, None)
        .await
        .expect("build interview");
    let interview = Interview {
        address: format!("http://127.0.0.1:{}", app.port()),
        grpc_address: format!("http://127.0.0.1:{}", app.grpc_port()),
    };
    tokio::spawn(app.run_until_stopped());
    interview
}

/// A signed-in pair of tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

pub fn tokens_of(v: &Value) -> Tokens {
    Tokens {
        access: v["access_token"].as_str().expect("access_token").to_owned(),
        refresh: v["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}

/// A TCP proxy the test controls, to cut a service off from a server, black-hole the
/// connection (bytes stop flowing, nothing is closed), and reconnect it.
pub struct Proxy {
    pub port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    stalled: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Proxy {
    /// Forwards 127.0.0.1:<port> to `target`.
    pub async fn start(target: &str) -> Proxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let open = std::sync::Arc::new(AtomicBool::new(true));
        let (tx, _) = tokio::sync::watch::channel(0u64);
        let generation = std::sync::Arc::new(tx);
        let (stall_tx, _) = tokio::sync::watch::channel(false);
        let stalled = std::sync::Arc::new(stall_tx);
        let (target, flag, gen_tx, stall) = (
            target.to_owned(),
            open.clone(),
            generation.clone(),
            stalled.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut = gen_tx.subscribe();
                let mut stall = stall.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    loop {
                        if *stall.borrow_and_update() {
                            // Hold both ends open, move nothing, until restored or cut.
                            tokio::select! {
                                _ = stall.changed() => continue,
                                _ = cut.changed() => return,
                            }
                        }
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
                            _ = cut.changed() => return,
                            _ = stall.changed() => {}
                        }
                    }
                });
            }
        });
        Proxy {
            port,
            open,
            generation,
            stalled,
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Keeps every connection open but lets no byte through, like a blocked broker.
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    pub fn restore(&self) {
        self.stalled.send_replace(false);
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `database_url` reached through `proxy` instead (same database, user and options).
pub fn via_proxy(database_url: &str, proxy: &Proxy) -> String {
    let (scheme, rest) = database_url.split_once("://").expect("a URL");
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let userinfo = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!(
        "{scheme}://{}127.0.0.1:{}{tail}",
        userinfo.unwrap_or_default(),
        proxy.port
    )
}

/// The services a gRPC server lists through reflection, sorted.
pub async fn grpc_services(address: &str) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let channel = tonic::transport::Channel::from_shared(address.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(futures_util::stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let reply = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("expected a service list");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

/// What `grpc.health.v1.Health/Check` answers for `service` ("" for the whole server).
pub async fn grpc_health(
    address: &str,
    service: &str,
) -> tonic_health::pb::health_check_response::ServingStatus {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let channel = tonic::transport::Channel::from_shared(address.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    ServingStatus::try_from(status).unwrap()
}

/// Polls `grpc_health` until it answers `want`, for at most `seconds`.
pub async fn wait_for_grpc_health(
    address: &str,
    service: &str,
    want: tonic_health::pb::health_check_response::ServingStatus,
    seconds: u64,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let now = grpc_health(address, service).await;
        if now == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gRPC health of {service:?} stayed {now:?}, wanted {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Takes messages from the queue `<prefix><queue>` (which the services' topology declares)
/// until one whose routing key is `routing_key` arrives, for at most `seconds`; its JSON
/// (the first entry of a message that carries several).
/// The others taken on the way are acknowledged and dropped.
pub async fn take_message(prefix: &str, queue: &str, routing_key: &str, seconds: u64) -> Value {
    use lapin::options::{BasicAckOptions, BasicGetOptions};
    let connection =
        lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
            .await
            .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let name = format!("{prefix}{queue}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        match channel
            .basic_get(name.as_str().into(), BasicGetOptions::default())
            .await
        {
            Ok(Some(message)) => {
                message.ack(BasicAckOptions::default()).await.unwrap();
                if message.routing_key.as_str() == routing_key {
                    // A message of several entries (`events::batch`): its first.
                    let value: Value = serde_json::from_slice(&message.data).unwrap();
                    return value.get(0).cloned().unwrap_or(value);
                }
            }
            Ok(None) | Err(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no '{routing_key}' message on {name} within {seconds} s"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
