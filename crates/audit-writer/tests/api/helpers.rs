//! Auth, interview and the audit-writer on random ports, one database, one RabbitMQ prefix.

use reqwest::{Method, Response, StatusCode};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use service_runtime::config::Env;
use std::time::Duration;
pub use test_support::{
    ADMIN_PASSWORD, INTERNAL_KEY, Tokens, assert_error, body, id_of, seed_company, send, tokens_of,
};
use uuid::Uuid;

pub struct Pipeline {
    pub auth: String,
    pub interview: String,
    pub audit: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub database_url: String,
    pub prefix: String,
    pub auth_grpc: String,
}

/// The pairs, this test's RabbitMQ names, and the broker at `amqp_url` (later pairs win).
pub fn env(pairs: &[(&str, &str)], prefix: &str, amqp_url: &str) -> Env {
    let mut all: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    all.extend(test_support::amqp_env(prefix));
    all.push(("AMQP_URL".to_owned(), amqp_url.to_owned()));
    Env::from_pairs(all)
}

/// Starts an audit-writer consuming `prefix` from `amqp_url`.
pub fn spawn_writer(
    database_url: &str,
    conn: DatabaseConnection,
    auth_grpc: &str,
    prefix: &str,
    amqp_url: &str,
) -> (String, tokio::task::JoinHandle<anyhow::Result<()>>) {
    spawn_writer_with(database_url, conn, auth_grpc, prefix, amqp_url, &[])
}

/// ... reading `extra` from its environment as well.
pub fn spawn_writer_with(
    database_url: &str,
    conn: DatabaseConnection,
    auth_grpc: &str,
    prefix: &str,
    amqp_url: &str,
    extra: &[(&str, &str)],
) -> (String, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let e = env(
        &[
            &[
                ("DATABASE_URL", database_url),
                ("AUTH_GRPC_URL", auth_grpc),
                ("INTERNAL_API_KEY", INTERNAL_KEY),
                ("AUDIT_HTTP_ADDR", "127.0.0.1:0"),
                ("HTTP_WORKERS", "2"),
                ("AUDIT_BATCH_WAIT_MS", "20"),
                ("AUDIT_CHAIN_KEY", test_support::CHAIN_KEY),
                ("API_RATE_LIMIT_PER_MINUTE", "0"),
            ][..],
            extra,
        ]
        .concat(),
        prefix,
        amqp_url,
    );
    let settings = audit_writer::Settings::from_env(&e, None).unwrap();
    let app = audit_writer::Application::build_with_db(settings, conn).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    (address, tokio::spawn(app.run_until_stopped()))
}

/// The services publish to `amqp_url`, and the audit-writer reaches its database at
/// `audit_db` (proxies, in the fault tests).
pub async fn spawn_pipeline_via(
    amqp_url: Option<String>,
    audit_db: Option<&test_support::Proxy>,
) -> Pipeline {
    let (database_url, conn) = test_support::fresh_database().await;
    let amqp = amqp_url.unwrap_or_else(test_support::amqp_url);
    let auth =
        test_support::spawn_auth(&database_url, conn.clone(), &[("AMQP_URL", amqp.as_str())]).await;
    let prefix = auth.amqp_prefix.clone();
    let interview = test_support::spawn_interview(
        &database_url,
        conn.clone(),
        &auth.grpc_address,
        &prefix,
        &[("AMQP_URL", amqp.as_str())],
    )
    .await;
    let writer_url = match audit_db {
        Some(proxy) => database_url.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port)),
        None => database_url.clone(),
    };
    let writer_conn = service_runtime::db::connect(&writer_url, 2).await.unwrap();
    let (audit, _writer) = spawn_writer(
        &writer_url,
        writer_conn,
        &auth.grpc_address,
        &prefix,
        &test_support::amqp_url(),
    );
    seed_company(&conn, "Acme", "admin@acme.example").await;
    Pipeline {
        auth: auth.address,
        interview: interview.address,
        audit,
        client: test_support::client(),
        db: conn,
        database_url,
        prefix,
        auth_grpc: auth.grpc_address,
    }
}

pub async fn spawn_pipeline() -> Pipeline {
    spawn_pipeline_via(None, None).await
}

impl Pipeline {
    pub async fn call(
        &self,
        base: &str,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        send(&self.client, method, &format!("{base}{path}"), token, body).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        test_support::login(&self.client, &self.auth, email, password).await
    }

    pub async fn admin(&self) -> Tokens {
        test_support::login_ok(
            &self.client,
            &self.auth,
            "admin@acme.example",
            ADMIN_PASSWORD,
        )
        .await
    }

    pub async fn user(&self, role: &str, name: &str) -> (Uuid, Tokens) {
        let admin = self.admin().await;
        test_support::new_user(&self.client, &self.auth, &admin.access, role, name).await
    }

    /// The audit search, as `token`.
    pub async fn audit_logs(&self, token: &str, query: &str) -> Value {
        let res = self
            .call(
                &self.audit,
                Method::GET,
                &format!("/api/v1/audit-logs{query}"),
                token,
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        body(res).await
    }

    /// Waits (up to 15 s) until the audit log holds `n` entries matching `query`.
    pub async fn wait_for(&self, token: &str, query: &str, n: usize) -> Vec<Value> {
        self.wait_for_within(token, query, n, 15).await
    }

    /// Waits up to `seconds` until the audit log holds `n` entries matching `query`.
    pub async fn wait_for_within(
        &self,
        token: &str,
        query: &str,
        n: usize,
        seconds: u64,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let items = self.audit_logs(token, query).await["items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if items.len() >= n || tokio::time::Instant::now() > deadline {
                return items;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn outbox_rows(&self) -> i64 {
        use sea_orm::ConnectionTrait;
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM outbox",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }
}

/// Publishes `payload` on `routing_key` as a bare publisher would: no AMQP message id.
/// The connection is returned with the channel: dropping it closes both.
/// A connection to the broker and a channel on which `prefix`'s topology is declared.
pub async fn declared(prefix: &str) -> (lapin::Connection, lapin::Channel) {
    let t = events::Topology {
        prefix: prefix.to_owned(),
        expire_unused_ms: Some(60_000),
    };
    let connection = lapin::Connection::connect(
        &test_support::amqp_url(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .unwrap();
    let channel = connection.create_channel().await.unwrap();
    t.declare(&channel).await.unwrap();
    (connection, channel)
}

pub async fn publish_bare(
    prefix: &str,
    routing_key: &str,
    payload: &[u8],
) -> (lapin::Connection, lapin::Channel) {
    let (connection, channel) = declared(prefix).await;
    let t = events::Topology::new(prefix);
    channel
        .basic_publish(
            t.exchange().into(),
            routing_key.into(),
            lapin::options::BasicPublishOptions::default(),
            payload,
            lapin::BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    (connection, channel)
}

/// Rolls `db` back to just before the migration `name`: it and every one after it.
pub async fn migrate_back_before(db: &DatabaseConnection, name: &str) {
    use migration::MigratorTrait;
    let all = migration::Migrator::migrations();
    let at = all
        .iter()
        .position(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no migration {name}"));
    let steps = u32::try_from(all.len() - at).unwrap();
    migration::Migrator::down(db, Some(steps)).await.unwrap();
}

/// The column `n` of the one row `sql` gives (PostgreSQL).
pub async fn one<T: sea_orm::TryGetable>(db: &DatabaseConnection, sql: &str) -> T {
    use sea_orm::ConnectionTrait;
    db.query_one_raw(sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        sql.to_owned(),
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get("", "n")
    .unwrap()
}
