//! `spawn_platform()`: auth and interview on random ports against one fresh database,
//! a company with its admin, and a client for both contracts.

use reqwest::{Method, Response, StatusCode};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use service_runtime::config::Env;
pub use test_support::{
    ADMIN_PASSWORD, INTERNAL_KEY, Tokens, assert_error, body, seed_company, tokens_of,
};
use uuid::Uuid;

pub struct Platform {
    pub auth: String,
    pub interview: String,
    pub interview_grpc: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub admin_id: Uuid,
    pub admin_email: String,
}

pub async fn spawn_platform() -> Platform {
    spawn_platform_with(None).await
}

/// With `auth_grpc_url`, the interview service asks that address instead of the real auth
/// (a closed port simulates auth being down).
pub async fn spawn_platform_with(auth_grpc_url: Option<&str>) -> Platform {
    let (database_url, conn) = test_support::fresh_database().await;
    let auth = test_support::spawn_auth(&database_url, conn.clone(), &[]).await;
    let pairs = [
        ("DATABASE_URL", database_url.as_str()),
        ("AUTH_GRPC_URL", auth_grpc_url.unwrap_or(&auth.grpc_address)),
        ("INTERNAL_API_KEY", INTERNAL_KEY),
        ("INTERVIEW_HTTP_ADDR", "127.0.0.1:0"),
        ("INTERVIEW_GRPC_ADDR", "127.0.0.1:0"),
        ("HTTP_WORKERS", "2"),
    ];
    let mut all: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    all.extend(test_support::amqp_env(&auth.amqp_prefix));
    let settings =
        interview_service::Settings::from_env(&Env::from_pairs(all), None).expect("settings");
    let app = interview_service::Application::build_with_db(settings, conn.clone(), None)
        .await
        .expect("build interview");
    let interview = format!("http://127.0.0.1:{}", app.port());
    let interview_grpc = format!("http://127.0.0.1:{}", app.grpc_port());
    tokio::spawn(app.run_until_stopped());
    let admin_email = "admin@acme.example".to_owned();
    let (_, admin_id) = seed_company(&conn, "Acme", &admin_email).await;
    Platform {
        auth: auth.address,
        interview,
        interview_grpc,
        client: test_support::client(),
        db: conn,
        admin_id: admin_id.into(),
        admin_email,
    }
}

pub fn id_of(v: &Value) -> Uuid {
    v["id"].as_str().and_then(|s| s.parse().ok()).expect("id")
}

impl Platform {
    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let res = self
            .client
            .post(format!("{}/api/v1/auth/login", self.auth))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login {email}");
        tokens_of(&body(res).await)
    }

    pub async fn admin(&self) -> Tokens {
        self.login(&self.admin_email, ADMIN_PASSWORD).await
    }

    /// A request to the interview service.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.interview))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// A request to the auth service.
    pub async fn auth_call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.auth))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// A user of the admin's company with `role`, signed in; its id and tokens.
    pub async fn user(&self, role: &str, name: &str) -> (Uuid, Tokens) {
        let admin = self.admin().await;
        let email = format!(
            "{}-{}@acme.example",
            name.to_lowercase().replace(' ', "."),
            Uuid::new_v4().simple()
        );
        let res = self
            .auth_call(
                Method::POST,
                "/api/v1/users",
                &admin.access,
                Some(json!({"email": email, "full_name": name, "password": "User-Pass1", "role": role})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = id_of(&body(res).await);
        (id, self.login(&email, "User-Pass1").await)
    }

    pub async fn candidate(&self, token: &str, name: &str) -> Uuid {
        let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
        let res = self
            .call(
                Method::POST,
                "/api/v1/candidates",
                token,
                Some(json!({"full_name": name, "email": email, "position": "Engineer"})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "candidate {name}");
        id_of(&body(res).await)
    }

    pub async fn schedule(
        &self,
        token: &str,
        candidate: Uuid,
        interviewers: &[Uuid],
        start: &str,
        minutes: u32,
    ) -> Response {
        self.call(
            Method::POST,
            "/api/v1/interviews",
            token,
            Some(json!({
                "candidate_id": candidate, "interviewer_ids": interviewers, "title": "Technical interview",
                "kind": "video", "scheduled_at": start, "duration_minutes": minutes,
                "meeting_url": "https://meet.example.org/abc"
            })),
        )
        .await
    }

    pub async fn scheduled(
        &self,
        token: &str,
        candidate: Uuid,
        interviewers: &[Uuid],
        start: &str,
        minutes: u32,
    ) -> Uuid {
        let res = self
            .schedule(token, candidate, interviewers, start, minutes)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        id_of(&body(res).await)
    }
}
