//! Logging and tracing: an env filter from `LOG_LEVEL`, JSON lines in production,
//! readable text in development, noisy dependencies held at `warn`; and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans exported over OTLP (gRPC) with W3C trace
//! context propagated through HTTP, gRPC metadata and AMQP messages.

use crate::config::{ConfigError, Env};
use opentelemetry::propagation::Injector;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use std::str::FromStr;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" | "pretty" => Ok(Self::Text),
            other => Err(format!("'{other}' is not one of json, text")),
        }
    }
}

/// Builds the filter: `level` (e.g. `INFO` or a full directive list) plus quiet
/// defaults for sqlx and sea-orm, which log every statement at INFO.
pub fn filter(level: &str) -> Result<EnvFilter, ConfigError> {
    let directives = format!(
        "{},sqlx=warn,sea_orm=warn,sea_orm_migration=warn,h2=warn,lapin=warn,opentelemetry=warn",
        level.to_ascii_lowercase()
    );
    EnvFilter::try_new(&directives).map_err(|e| ConfigError::invalid("LOG_LEVEL", e.to_string()))
}

/// Keeps the trace exporter alive; dropping it flushes what is buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends every finished span now (tests, and before exiting).
    pub fn flush(&self) {
        if let Some(p) = &self.provider {
            let _ = p.force_flush();
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
    }
}

/// Installs the process-wide subscriber (a second call leaves the first in place).
/// Tracing goes out over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; the service name
/// is `OTEL_SERVICE_NAME`, else `service`.
pub fn init(env: &Env, service: &str, default_format: LogFormat) -> Result<Telemetry, ConfigError> {
    let format: LogFormat = env.parse_or("LOG_FORMAT", default_format)?;
    let level = env.get("LOG_LEVEL").unwrap_or("info");
    let endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT").map(str::to_owned);
    let name = env.get("OTEL_SERVICE_NAME").unwrap_or(service).to_owned();
    init_with(level, format, endpoint, &name)
}

/// As [`init`], with the OTLP endpoint given (tests run their own receiver).
pub fn init_with(
    level: &str,
    format: LogFormat,
    otlp_endpoint: Option<String>,
    service: &str,
) -> Result<Telemetry, ConfigError> {
    install(level, format, otlp_endpoint, service, std::io::stdout)
}

/// As [`init_with`], writing log lines to `writer` (tests read what was logged).
pub fn install<W>(
    level: &str,
    format: LogFormat,
    otlp_endpoint: Option<String>,
    service: &str,
    writer: W,
) -> Result<Telemetry, ConfigError>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = match otlp_endpoint {
        None => None,
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| ConfigError::invalid("OTEL_EXPORTER_OTLP_ENDPOINT", e.to_string()))?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(service.to_owned())
                .build();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
    };
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_tracer_provider(p.clone());
        tracing_opentelemetry::layer().with_tracer(p.tracer("ai-interviewer"))
    });
    let registry = tracing_subscriber::registry()
        .with(filter(level)?)
        .with(otel);
    // Already installed is fine: the first initialiser wins.
    let _ = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(true),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_writer(writer))
            .try_init(),
    };
    Ok(Telemetry { provider })
}

/// W3C `traceparent` (and `tracestate`) of the current span, as header pairs.
pub fn current_context_headers() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MapInjector(&mut headers))
    });
    headers
}

/// The current span's `traceparent`, if it is being traced.
pub fn current_traceparent() -> Option<String> {
    current_context_headers().remove("traceparent")
}

/// Makes `span` a child of the remote context carried by `get(name)` (headers, metadata).
pub fn set_remote_parent(span: &tracing::Span, get: impl Fn(&str) -> Option<String>) {
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|k| get(k).map(|v| (k.to_owned(), v)))
        .collect();
    if carrier.is_empty() {
        return;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    let _ = span.set_parent(cx);
}

/// Records the span's OpenTelemetry trace and span ids as its `trace_id` and `span_id`
/// fields (declared empty at creation), so every JSON log line inside it carries them.
pub fn record_ids(span: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt;
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        span.record("trace_id", tracing::field::display(sc.trace_id()));
        span.record("span_id", tracing::field::display(sc.span_id()));
    }
}

struct MapInjector<'a>(&'a mut HashMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}
