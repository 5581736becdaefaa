//! `spawn_app()`: a migrated database of its own, a Redis key prefix of its own, the
//! service on port 0, a company with an admin; and a client for the contract.

use auth_types::{CompanyId, UserId};
use reqwest::{Response, StatusCode};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
pub use test_support::{
    ADMIN_PASSWORD, INTERNAL_KEY, SECRET, Tokens, assert_error, body, quota_of, redis_url,
    seed_company,
};
use uuid::Uuid;

pub struct TestApp {
    pub address: String,
    pub grpc_address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub redis_prefix: String,
    pub company: CompanyId,
    pub admin_id: UserId,
    pub admin_email: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the service with extra environment (e.g. a shorter grace window).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let (database_url, conn) = test_support::fresh_database().await;
    let auth = test_support::spawn_auth(&database_url, conn.clone(), extra).await;
    let admin_email = "admin@acme.example".to_owned();
    let (company, admin_id) = seed_company(&conn, "Acme", &admin_email).await;
    TestApp {
        address: auth.address,
        grpc_address: auth.grpc_address,
        client: test_support::client(),
        db: conn,
        redis_prefix: auth.redis_prefix,
        company,
        admin_id,
        admin_email,
    }
}

impl TestApp {
    /// Another replica of a test's service, on the same database.
    pub fn on(auth: &test_support::Auth, client: &reqwest::Client, db: DatabaseConnection) -> Self {
        Self {
            address: auth.address.clone(),
            grpc_address: auth.grpc_address.clone(),
            client: client.clone(),
            db,
            redis_prefix: auth.redis_prefix.clone(),
            company: CompanyId::from(Uuid::nil()),
            admin_id: UserId::from(Uuid::nil()),
            admin_email: "admin@acme.example".to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        test_support::login(&self.client, &self.address, email, password).await
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> Tokens {
        test_support::login_ok(&self.client, &self.address, email, password).await
    }

    pub async fn admin_tokens(&self) -> Tokens {
        self.login_ok(&self.admin_email, ADMIN_PASSWORD).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/refresh"))
            .json(&json!({ "refresh_token": refresh_token }))
            .send()
            .await
            .expect("refresh request")
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let res = self.client.get(self.url("/metrics")).send().await;
        res.expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    pub async fn logout(&self, access: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/logout"))
            .bearer_auth(access)
            .send()
            .await
            .expect("logout request")
    }

    pub async fn get(&self, path: &str, access: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(access)
            .send()
            .await
            .expect("GET")
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        access: &str,
        body: &Value,
    ) -> Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(access)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates a user in the admin's company; gives its id.
    pub async fn create_user(&self, admin: &str, email: &str, password: &str, role: &str) -> Uuid {
        let res = self
            .send_json(
                reqwest::Method::POST,
                "/api/v1/users",
                admin,
                &json!({ "email": email, "full_name": "Test User", "password": password, "role": role }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "create {email}");
        test_support::id_of(&body(res).await)
    }

    /// A signed-in user of the given role in the admin's company.
    pub async fn user_with_role(&self, role: &str) -> (Uuid, Tokens) {
        let admin = self.admin_tokens().await;
        test_support::new_user(&self.client, &self.address, &admin.access, role, role).await
    }
}

pub fn tokens_of(v: Value) -> Tokens {
    test_support::tokens_of(&v)
}

/// A broker address nothing answers on: the events stay in the outbox, where a test can
/// read them with [`outbox`].
pub const NO_BROKER: &str = "amqp://guest:guest@127.0.0.1:1/%2f";

/// The payloads of the outbox entries whose routing key is `key`, oldest first.
pub async fn outbox(app: &TestApp, key: &str) -> Vec<Value> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    app.db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT payload FROM outbox WHERE routing_key = $1 ORDER BY created_at",
            [key.into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(&r.try_get::<String>("", "payload").unwrap()).unwrap())
        .collect()
}
