//! Prometheus metrics: one process-wide recorder (the one-process binary runs several
//! services, told apart by the `service` label), per-route request counts and latencies,
//! and the `/metrics` endpoint.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Installs the recorder once per process and gives its handle. `None` when another
/// recorder was installed first (then `/metrics` says so instead of lying).
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// The service a request was served by, for the `service` label.
#[derive(Clone, Copy, Debug)]
pub struct ServiceName(pub &'static str);

/// Middleware (use with `actix_web::middleware::from_fn`): counts requests and records
/// their latency by route pattern, never by raw path, so ids do not explode the series.
pub async fn track_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let service = req
        .app_data::<ServiceName>()
        .map(|s| s.0)
        .unwrap_or("unknown");
    let method = req.method().to_string();
    let span = tracing::info_span!("http.request", otel.name = %format!("{method} {}", req.path()), http.method = %method,
        http.route = tracing::field::Empty, http.status_code = tracing::field::Empty, service,
        // Set once the caller is known (the bearer token's user and company).
        user_id = tracing::field::Empty, company_id = tracing::field::Empty,
        trace_id = tracing::field::Empty, span_id = tracing::field::Empty);
    crate::telemetry::set_remote_parent(&span, |k| {
        req.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    crate::telemetry::record_ids(&span);
    let res = tracing::Instrument::instrument(next.call(req), span.clone()).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16().to_string();
    span.record("http.route", route.as_str());
    span.record("http.status_code", status.as_str());
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::debug!(service, %method, %route, %status, elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX), "request served");
    });
    metrics::counter!("http_requests_total",
        "service" => service, "method" => method.clone(), "route" => route.clone(), "status" => status)
    .increment(1);
    metrics::histogram!("http_request_duration_seconds",
        "service" => service, "method" => method, "route" => route)
    .record(elapsed.as_secs_f64());
    Ok(res)
}

/// Registers `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(render));
}

async fn render() -> HttpResponse {
    match handle() {
        Some(h) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(h.render()),
        None => crate::http::detail(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "Metrics recorder is not installed",
        ),
    }
}
