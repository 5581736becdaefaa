//! Building a service's HTTP and gRPC servers the same way everywhere: the same
//! middleware (errors as `{"detail"}`, CORS, security headers, metrics), health, metrics,
//! OpenAPI with Swagger UI, and, on gRPC, the standard health and reflection services.

use crate::config::{ConfigError, Env};
use crate::health::Readiness;
use crate::metrics::ServiceName;
use crate::{health, http, metrics};
use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::{SocketAddr, TcpListener};
use tonic::server::NamedService;
use tonic::transport::server::{Router, TcpIncoming};
use utoipa_swagger_ui::SwaggerUi;

/// What every HTTP service reads: where to listen, how many workers, which browser
/// origins may call it, the largest body.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    /// The variable `addr` came from, for error messages.
    pub addr_var: &'static str,
    pub workers: Option<usize>,
    pub cors_origins: Vec<String>,
    pub body_limit: usize,
}

impl HttpSettings {
    pub fn from_env(
        env: &Env,
        addr_var: &'static str,
        default_addr: SocketAddr,
    ) -> Result<Self, ConfigError> {
        let body_limit = env.parse_or("MAX_BODY_BYTES", http::DEFAULT_BODY_LIMIT)?;
        if body_limit < 1024 {
            return Err(ConfigError::invalid(
                "MAX_BODY_BYTES",
                "must be at least 1024",
            ));
        }
        let workers = match env.get("HTTP_WORKERS") {
            None => None,
            Some(_) => match env.parse_or("HTTP_WORKERS", 1usize)? {
                n @ 1..=512 => Some(n),
                _ => return Err(ConfigError::invalid("HTTP_WORKERS", "must be 1 to 512")),
            },
        };
        Ok(Self {
            addr: env.parse_or(addr_var, default_addr)?,
            addr_var,
            workers,
            cors_origins: env.list("CORS_ORIGINS")?,
            body_limit,
        })
    }
}

/// The parts of an HTTP service that differ from one to the next.
pub struct HttpService<F> {
    pub name: &'static str,
    pub readiness: Readiness,
    pub openapi: utoipa::openapi::OpenApi,
    /// Registers the service's routes and app data.
    pub configure: F,
}

/// Binds and builds the server; it runs when the returned `Server` is awaited.
pub fn serve_http<F>(
    settings: &HttpSettings,
    service: HttpService<F>,
) -> anyhow::Result<(Server, u16)>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    metrics::handle();
    let listener = TcpListener::bind(settings.addr)
        .with_context(|| format!("binding {} {}", settings.addr_var, settings.addr))?;
    let port = listener.local_addr()?.port();
    let origins = settings.cors_origins.clone();
    let body_limit = settings.body_limit;
    let HttpService {
        name,
        readiness,
        openapi,
        configure,
    } = service;
    let mut server = HttpServer::new(move || {
        let cors = origins
            .iter()
            .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
            .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .supports_credentials()
            .max_age(600);
        App::new()
            .app_data(ServiceName(name))
            .app_data(http::json_config(body_limit))
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(http::query_config())
            .app_data(http::path_config())
            .configure(configure.clone())
            .configure(|cfg| health::configure(cfg, readiness.clone()))
            .configure(metrics::configure)
            .service(web::redirect("/docs", "/docs/").permanent())
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
            .default_service(web::to(http::not_found))
            .wrap(http::json_errors())
            .wrap(cors)
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "no-referrer")),
            )
            .wrap(from_fn(metrics::track_requests))
    })
    .listen(listener)?
    .shutdown_timeout(10);
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    Ok((server.run(), port))
}

/// A gRPC listener on `addr` (port 0 picks one) and the port it got.
pub fn bind_grpc(addr: SocketAddr, var: &str) -> anyhow::Result<(TcpIncoming, u16)> {
    let incoming = TcpIncoming::bind(addr)
        .map_err(|e| anyhow::anyhow!("binding {var} {addr}: {e}"))?
        // Without it, Nagle's algorithm and delayed ACKs add ~40 ms to every small
        // request/response round trip (the auth_path benchmark measured 44 ms per call).
        .with_nodelay(Some(true));
    let port = incoming.local_addr()?.port();
    Ok((incoming, port))
}

/// A router that already serves health (with `S` reported serving) and reflection over
/// `descriptor_set`; add the service itself and serve.
pub async fn grpc_router<S: NamedService>(descriptor_set: &'static [u8]) -> anyhow::Result<Router> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    reporter.set_serving::<S>().await;
    let reflection = crate::grpc::reflection(descriptor_set)?;
    Ok(tonic::transport::Server::builder()
        .trace_fn(|req| {
            let span = tracing::info_span!("grpc.request", otel.name = %req.uri().path(),
                trace_id = tracing::field::Empty, span_id = tracing::field::Empty);
            crate::telemetry::set_remote_parent(&span, |k| {
                req.headers()
                    .get(k)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            });
            crate::telemetry::record_ids(&span);
            span
        })
        .add_service(health_service)
        .add_service(reflection))
}

/// Adds the `bearer` (JWT) security scheme the handlers' `security(("bearer" = []))` name.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
