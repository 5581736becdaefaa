//! `spawn_platform()`: auth and interview on random ports against one fresh database,
//! a company with its admin, and a client for both contracts.

use reqwest::{Method, Response, StatusCode};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
pub use test_support::{
    ADMIN_PASSWORD, INTERNAL_KEY, Tokens, assert_error, body, id_of, seed_company, send,
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
    let interview = test_support::spawn_interview(
        &database_url,
        conn.clone(),
        auth_grpc_url.unwrap_or(&auth.grpc_address),
        &auth.amqp_prefix,
        &[],
    )
    .await;
    let admin_email = "admin@acme.example".to_owned();
    let (_, admin_id) = seed_company(&conn, "Acme", &admin_email).await;
    Platform {
        auth: auth.address,
        interview: interview.address,
        interview_grpc: interview.grpc_address,
        client: test_support::client(),
        db: conn,
        admin_id: admin_id.into(),
        admin_email,
    }
}

impl Platform {
    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        test_support::login_ok(&self.client, &self.auth, email, password).await
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
        let url = format!("{}{path}", self.interview);
        send(&self.client, method, &url, token, body).await
    }

    /// A request to the auth service.
    pub async fn auth_call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        let url = format!("{}{path}", self.auth);
        send(&self.client, method, &url, token, body).await
    }

    /// A user of the admin's company with `role`, signed in; its id and tokens.
    pub async fn user(&self, role: &str, name: &str) -> (Uuid, Tokens) {
        let admin = self.admin().await;
        test_support::new_user(&self.client, &self.auth, &admin.access, role, name).await
    }

    pub async fn candidate(&self, token: &str, name: &str) -> Uuid {
        test_support::new_candidate(&self.client, &self.interview, token, name).await
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
