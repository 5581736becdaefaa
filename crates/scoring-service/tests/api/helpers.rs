//! `spawn_platform()`: auth, interview and scoring against one fresh database.

use reqwest::{Method, Response, StatusCode};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use service_runtime::config::Env;
pub use test_support::{
    ADMIN_PASSWORD, INTERNAL_KEY, Tokens, assert_error, body, id_of, seed_company, send,
};
use uuid::Uuid;

pub struct Platform {
    pub auth: String,
    pub interview: String,
    pub scoring: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub admin_email: String,
    /// The RabbitMQ names of this test.
    pub amqp_prefix: String,
}

/// A URL nothing answers on.
pub fn closed_url() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    url
}

pub async fn spawn_platform() -> Platform {
    spawn_platform_with(None, None).await
}

/// With overrides, scoring asks those gRPC addresses instead of the real services.
pub async fn spawn_platform_with(
    auth_grpc: Option<&str>,
    interview_grpc: Option<&str>,
) -> Platform {
    spawn_platform_env(auth_grpc, interview_grpc, &[]).await
}

/// ... and scoring reads `extra` from its environment as well.
pub async fn spawn_platform_env(
    auth_grpc: Option<&str>,
    interview_grpc: Option<&str>,
    extra: &[(&str, &str)],
) -> Platform {
    spawn_platform_each(auth_grpc, interview_grpc, &[], &[], extra).await
}

/// ... with extra environment for auth and interview too.
pub async fn spawn_platform_each(
    auth_grpc: Option<&str>,
    interview_grpc: Option<&str>,
    auth_extra: &[(&str, &str)],
    interview_extra: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Platform {
    let (database_url, conn) = test_support::fresh_database().await;
    let auth = test_support::spawn_auth(&database_url, conn.clone(), auth_extra).await;
    let amqp = test_support::amqp_env(&auth.amqp_prefix);
    let with_amqp = |pairs: &[(&str, &str)]| {
        let mut all: Vec<(String, String)> = pairs
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        all.extend(amqp.iter().cloned());
        Env::from_pairs(all)
    };
    let interview = test_support::spawn_interview(
        &database_url,
        conn.clone(),
        &auth.grpc_address,
        &auth.amqp_prefix,
        interview_extra,
    )
    .await;
    let scoring_settings = scoring_service::Settings::from_env(
        &with_amqp(&[
            ("DATABASE_URL", database_url.as_str()),
            ("AUTH_GRPC_URL", auth_grpc.unwrap_or(&auth.grpc_address)),
            (
                "INTERVIEW_GRPC_URL",
                interview_grpc.unwrap_or(&interview.grpc_address),
            ),
            ("INTERNAL_API_KEY", INTERNAL_KEY),
            ("SCORING_HTTP_ADDR", "127.0.0.1:0"),
            ("HTTP_WORKERS", "2"),
            ("API_RATE_LIMIT_PER_MINUTE", "0"),
        ]),
        None,
    )
    .unwrap();
    let scoring =
        scoring_service::Application::build_with_db(scoring_settings, conn.clone(), None).unwrap();
    let scoring_http = format!("http://127.0.0.1:{}", scoring.port());
    tokio::spawn(scoring.run_until_stopped());
    let admin_email = "admin@acme.example".to_owned();
    seed_company(&conn, "Acme", &admin_email).await;
    Platform {
        auth: auth.address,
        interview: interview.address,
        scoring: scoring_http,
        client: test_support::client(),
        db: conn,
        admin_email,
        amqp_prefix: auth.amqp_prefix,
    }
}

impl Platform {
    async fn send(
        &self,
        base: &str,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        send(&self.client, method, &format!("{base}{path}"), token, body).await
    }

    pub async fn scoring(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        self.send(&self.scoring, method, path, token, body).await
    }

    pub async fn interviews(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        self.send(&self.interview, method, path, token, body).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        test_support::login_ok(&self.client, &self.auth, email, password).await
    }

    pub async fn admin(&self) -> Tokens {
        self.login(&self.admin_email, ADMIN_PASSWORD).await
    }

    pub async fn user(&self, role: &str, name: &str) -> (Uuid, Tokens) {
        let admin = self.admin().await;
        test_support::new_user(&self.client, &self.auth, &admin.access, role, name).await
    }

    pub async fn grant(&self, user: Uuid, pages: Value) {
        let admin = self.admin().await;
        let res = self
            .send(
                &self.auth,
                Method::PUT,
                &format!("/api/v1/users/{user}/permissions"),
                &admin.access,
                Some(pages),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    pub async fn candidate(&self, token: &str, name: &str) -> Uuid {
        test_support::new_candidate(&self.client, &self.interview, token, name).await
    }

    /// An interview of `candidate` with `interviewers`, moved to `status` by its action.
    pub async fn interview(
        &self,
        token: &str,
        candidate: Uuid,
        interviewers: &[Uuid],
        start: &str,
        action: Option<&str>,
    ) -> Uuid {
        let res = self
            .interviews(
                Method::POST,
                "/api/v1/interviews",
                token,
                Some(json!({"candidate_id": candidate, "interviewer_ids": interviewers, "title": "Loop",
                            "kind": "onsite", "scheduled_at": start, "duration_minutes": 60})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = id_of(&body(res).await);
        if let Some(action) = action {
            let res = self
                .interviews(
                    Method::POST,
                    &format!("/api/v1/interviews/{id}/{action}"),
                    token,
                    None,
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{action}");
        }
        id
    }

    /// A rubric with criteria `(key, weight)`.
    pub async fn rubric(&self, token: &str, criteria: &[(&str, f64)]) -> Uuid {
        let criteria: Vec<Value> = criteria
            .iter()
            .map(|(k, w)| json!({"key": k, "name": k.to_uppercase(), "description": "", "weight": w}))
            .collect();
        let res = self
            .scoring(
                Method::POST,
                "/api/v1/rubrics",
                token,
                Some(json!({"name": "Engineering", "criteria": criteria})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        id_of(&body(res).await)
    }

    pub async fn submit(
        &self,
        token: &str,
        interview: Uuid,
        rubric: Uuid,
        ratings: Value,
        recommendation: &str,
    ) -> Response {
        self.scoring(
            Method::POST,
            &format!("/api/v1/interviews/{interview}/scorecards"),
            token,
            Some(json!({"rubric_id": rubric, "ratings": ratings, "recommendation": recommendation, "notes": "ok"})),
        )
        .await
    }
}
