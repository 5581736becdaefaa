//! `spawn_app()`: a migrated database of its own, a Redis key prefix of its own, the
//! service on port 0, a company with an admin; and a client for the contract.

use auth_service::bootstrap::{AdminSpec, Outcome, ensure_admin};
use auth_service::{Application, Settings, db};
use auth_types::{CompanyId, UserId};
use reqwest::{Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use secrecy::SecretString;
use serde_json::{Value, json};
use service_runtime::config::Env;
use uuid::Uuid;

pub const SECRET: &str = "test-secret-key-that-is-at-least-32-bytes";
pub const ADMIN_PASSWORD: &str = "Admin-Pass1";
pub const INTERNAL_KEY: &str = "internal-test-key-0123456789";

pub fn pg_base() -> String {
    std::env::var("TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

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

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the service with extra environment (e.g. a shorter grace window).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let name = format!("auth_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(format!("{}/postgres?sslmode=disable", pg_base()))
        .await
        .expect("PostgreSQL must answer at TEST_PG_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the test database");
    admin.close().await.ok();
    let database_url = format!("{}/{name}?sslmode=disable", pg_base());
    let conn = db::connect(&database_url, 5)
        .await
        .expect("connect to the test database");
    db::migrate(&conn).await.expect("migrate");

    let redis_prefix = format!("test:{}:", Uuid::new_v4().simple());
    let mut pairs: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url),
        ("REDIS_URL".into(), redis_url()),
        ("REDIS_KEY_PREFIX".into(), redis_prefix.clone()),
        ("SECRET_KEY".into(), SECRET.into()),
        ("AUTH_HTTP_ADDR".into(), "127.0.0.1:0".into()),
        ("AUTH_GRPC_ADDR".into(), "127.0.0.1:0".into()),
        ("INTERNAL_API_KEY".into(), INTERNAL_KEY.into()),
        ("HTTP_WORKERS".into(), "2".into()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = Settings::from_env(&Env::from_pairs(pairs), None).expect("settings");
    let app = Application::build_with_db(settings, conn.clone())
        .await
        .expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    let grpc_address = format!("http://127.0.0.1:{}", app.grpc_port());
    tokio::spawn(app.run_until_stopped());

    let admin_email = "admin@acme.example".to_owned();
    let (company, admin_id) = seed_company(&conn, "Acme", &admin_email).await;
    TestApp {
        address,
        grpc_address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db: conn,
        redis_prefix,
        company,
        admin_id,
        admin_email,
    }
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

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> Tokens {
        let res = self.login(email, password).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        tokens_of(body(res).await)
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
        let v = body(res).await;
        v["id"].as_str().and_then(|s| s.parse().ok()).expect("id")
    }

    /// A signed-in user of the given role in the admin's company.
    pub async fn user_with_role(&self, role: &str) -> (Uuid, Tokens) {
        let admin = self.admin_tokens().await;
        let email = format!("{role}-{}@acme.example", Uuid::new_v4().simple());
        let id = self
            .create_user(&admin.access, &email, "User-Pass1", role)
            .await;
        (id, self.login_ok(&email, "User-Pass1").await)
    }
}

pub fn tokens_of(v: Value) -> Tokens {
    Tokens {
        access: v["access_token"].as_str().expect("access_token").to_owned(),
        refresh: v["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}
