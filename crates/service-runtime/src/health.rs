//! `/healthz` (the process is alive) and `/readyz` (its dependencies answer).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

/// How long one dependency may take to answer before it counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency a service needs to serve requests.
#[async_trait::async_trait]
pub trait ReadinessCheck: Send + Sync {
    /// The dependency's name as an operator knows it ("postgres", "redis").
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;
}

#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<Arc<dyn ReadinessCheck>>,
}

impl Readiness {
    pub fn new(checks: Vec<Arc<dyn ReadinessCheck>>) -> Self {
        Self { checks }
    }

    /// Runs every check concurrently; the names of the failing ones, with why.
    pub async fn failures(&self) -> Vec<(&'static str, String)> {
        let runs = self.checks.iter().map(|c| async move {
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, c.check()).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())),
            };
            (c.name(), outcome)
        });
        futures_util::future::join_all(runs)
            .await
            .into_iter()
            .filter_map(|(name, outcome)| outcome.err().map(|why| (name, why)))
            .collect()
    }
}

/// Registers `/healthz` and `/readyz`.
pub fn configure(cfg: &mut web::ServiceConfig, readiness: Readiness) {
    cfg.app_data(web::Data::new(readiness))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let failures = readiness.failures().await;
    if failures.is_empty() {
        return HttpResponse::Ok().json(json!({ "status": "ready" }));
    }
    for (name, why) in &failures {
        tracing::warn!(dependency = name, reason = %why, "readiness check failed");
    }
    let names: Vec<&str> = failures.iter().map(|(n, _)| *n).collect();
    // The driver's own words stay in the log: they can name hosts, users and versions.
    let checks: Map<String, Value> = failures
        .iter()
        .map(|(n, _)| ((*n).to_owned(), Value::String("not answering".to_owned())))
        .collect();
    HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE).json(json!({
        "detail": format!("Not ready: {} not answering", names.join(", ")),
        "failing": checks,
    }))
}
