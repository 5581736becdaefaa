//! Building a service's HTTP and gRPC servers the same way everywhere: the same
//! middleware (errors as `{"detail"}`, CORS, security headers, metrics), health, metrics,
//! OpenAPI with Swagger UI, and, on gRPC, the standard health and reflection services.

use crate::config::{ConfigError, Env};
use crate::health::Readiness;
use crate::metrics::ServiceName;
use crate::{headers, health, http, metrics, ratelimit};
use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::{SocketAddr, TcpListener};
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
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
    /// `Strict-Transport-Security: max-age=...` when set (`HSTS_MAX_AGE_SECONDS`).
    pub hsts_max_age: Option<u64>,
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
        let cors_origins = env.list("CORS_ORIGINS")?;
        for origin in &cors_origins {
            check_origin(origin)
                .map_err(|why| ConfigError::invalid("CORS_ORIGINS", format!("'{origin}' {why}")))?;
        }
        let hsts_max_age = match env.get("HSTS_MAX_AGE_SECONDS") {
            None => None,
            Some(_) => Some(env.parse_or("HSTS_MAX_AGE_SECONDS", 0u64)?),
        };
        Ok(Self {
            addr: env.parse_or(addr_var, default_addr)?,
            addr_var,
            workers,
            cors_origins,
            body_limit,
            hsts_max_age,
        })
    }
}

/// Whether `origin` is what a browser sends in `Origin`: `http` or `https`, a host, an
/// optional port, and nothing else (no `*`, no path, no trailing slash).
pub fn check_origin(origin: &str) -> Result<(), &'static str> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or("is not an origin: it must start with http:// or https://")?;
    if origin.contains('*') {
        return Err("is a wildcard; list each origin (credentials are allowed, so * cannot be)");
    }
    if rest.contains(['/', '?', '#']) {
        return Err("is not an origin: it must have no path (not even a trailing /)");
    }
    let (host, port) = match rest.find(']') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        Some(end) => match &rest[end + 1..] {
            "" => (&rest[..=end], None),
            tail => match tail.strip_prefix(':') {
                Some(port) => (&rest[..=end], Some(port)),
                None => return Err("has an invalid port"),
            },
        },
        None => match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        },
    };
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err("has an invalid port");
    }
    let host_ok = if let Some(ip6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        ip6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    };
    if host_ok {
        Ok(())
    } else {
        Err("has an invalid host")
    }
}

/// The browser origins `CORS_ORIGINS` allows, as app data: handlers that authenticate by
/// cookie check a request's `Origin` against them.
#[derive(Debug, Clone)]
pub struct AllowedOrigins(pub std::sync::Arc<Vec<String>>);

impl AllowedOrigins {
    /// Whether a request may act with its cookies: it names no origin (not a browser's
    /// cross-origin request), or one of the allowed ones.
    pub fn permits(&self, req: &actix_web::HttpRequest) -> bool {
        match req.headers().get(header::ORIGIN) {
            None => true,
            Some(origin) => origin
                .to_str()
                .is_ok_and(|o| self.0.iter().any(|allowed| allowed.eq_ignore_ascii_case(o))),
        }
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
    let allowed = std::sync::Arc::new(origins.clone());
    let body_limit = settings.body_limit;
    let security = headers::SecurityHeaders {
        hsts_max_age: settings.hsts_max_age,
    };
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
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(AllowedOrigins(allowed.clone()))
            .app_data(web::Data::new(security))
            .app_data(http::path_config())
            .configure(configure.clone())
            .configure(|cfg| health::configure(cfg, readiness.clone()))
            .configure(metrics::configure)
            .service(web::redirect("/docs", "/docs/").permanent())
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
            .default_service(web::to(http::not_found))
            .wrap(http::json_errors())
            .wrap(from_fn(ratelimit::quota_headers))
            .wrap(cors)
            .wrap(from_fn(headers::apply))
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

/// How often a gRPC server re-checks its dependencies for `grpc.health.v1.Health`.
pub const HEALTH_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves `service` on `incoming` with the standard health service (reporting `S` and the
/// server as a whole NOT_SERVING while a readiness check fails) and reflection that lists
/// exactly what this server serves: `S`, health and reflection. Ends on SIGTERM/Ctrl-C.
pub async fn serve_grpc<S>(
    descriptor_set: &'static [u8],
    readiness: Readiness,
    incoming: TcpIncoming,
    tls: Option<crate::grpc::ServerTls>,
    service: S,
) -> anyhow::Result<impl std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>
where
    S: tonic::codegen::Service<
            tonic::codegen::http::Request<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send + 'static,
{
    let (reporter, health_service) = tonic_health::server::health_reporter();
    reporter.set_serving::<S>().await;
    let reflection = crate::grpc::reflection(descriptor_set, S::NAME)?;
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls.config())
            .map_err(|e| anyhow::anyhow!("GRPC_TLS_CERT / GRPC_TLS_KEY: {e}"))?;
    }
    let router = builder
        .layer(crate::grpc_layer::ObserveLayer)
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
        .add_service(reflection)
        .add_service(service);
    let watch = async move {
        let mut serving = true;
        loop {
            tokio::time::sleep(HEALTH_CHECK_INTERVAL).await;
            let failures = readiness.failures().await;
            let now = failures.is_empty();
            if now != serving {
                let status = if now {
                    tonic_health::ServingStatus::Serving
                } else {
                    tonic_health::ServingStatus::NotServing
                };
                for (name, why) in &failures {
                    tracing::warn!(dependency = name, reason = %why, "gRPC health: not serving");
                }
                reporter.set_service_status(S::NAME, status).await;
                reporter.set_service_status("", status).await;
                serving = now;
            }
        }
    };
    Ok(async move {
        let serve = router.serve_with_incoming_shutdown(incoming, crate::grpc::shutdown_signal());
        tokio::select! {
            result = serve => result,
            () = watch => Ok(()),
        }
    })
}

/// Adds the `bearer` (JWT) security scheme the handlers' `security(("bearer" = []))` name,
/// and to every operation that needs it the 429 of `API_RATE_LIMIT_PER_MINUTE`.
pub struct BearerAuth;

/// What an authenticated operation answers when its caller is over the API limit.
const API_LIMITED: &str = "Over API_RATE_LIMIT_PER_MINUTE requests a minute for this user on this \
     service; see Retry-After and the RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset \
     headers (allowed answers carry them too)";

fn api_limited() -> utoipa::openapi::Response {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{HeaderBuilder, ResponseBuilder};
    let seconds = |description: &str| {
        HeaderBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            ))
            .description(Some(description))
            .build()
    };
    ResponseBuilder::new()
        .description(API_LIMITED)
        .header(
            "Retry-After",
            seconds("Seconds until a request is allowed again"),
        )
        .header("RateLimit-Limit", seconds("Requests allowed in the window"))
        .header("RateLimit-Remaining", seconds("Requests left in it: 0"))
        .header(
            "RateLimit-Reset",
            seconds("Seconds until the window starts over"),
        )
        .build()
}

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    match op.responses.responses.get_mut("429") {
                        // Its own limit (user creation): the API limit applies as well.
                        Some(RefOr::T(own)) => {
                            own.description = format!("{} — or: {API_LIMITED}", own.description);
                        }
                        Some(RefOr::Ref(_)) => {}
                        None => {
                            op.responses
                                .responses
                                .insert("429".to_owned(), RefOr::T(api_limited()));
                        }
                    }
                }
            }
        }
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

/// A test that the OpenAPI document `$doc` (a path from where the macro is used, e.g.
/// `super::ApiDoc`) refers only to schemas it holds. Needs `utoipa` in the using crate.
#[macro_export]
macro_rules! openapi_refs_test {
    ($doc:path) => {
        #[cfg(test)]
        mod openapi_refs {
            #[test]
            fn every_schema_the_document_refers_to_is_in_it() {
                use utoipa::OpenApi as _;
                let dangling = $crate::server::dangling_refs(&<$doc>::openapi());
                assert!(dangling.is_empty(), "{dangling:?}");
            }

            #[test]
            fn every_authenticated_operation_declares_the_api_limit() {
                use utoipa::OpenApi as _;
                let unlimited = $crate::server::unlimited_operations(&<$doc>::openapi());
                assert!(unlimited.is_empty(), "{unlimited:?}");
            }

            #[test]
            fn every_path_parameter_is_declared() {
                use utoipa::OpenApi as _;
                let missing = $crate::server::undeclared_path_params(&<$doc>::openapi());
                assert!(missing.is_empty(), "{missing:?}");
            }
        }
    };
}

/// The operations (`method path`) that need a bearer token but declare no 429: a client
/// would not know the API limit can refuse them.
pub fn unlimited_operations(openapi: &utoipa::openapi::OpenApi) -> Vec<String> {
    let doc = serde_json::to_value(openapi).unwrap_or_default();
    let mut unlimited = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured && op["responses"]["429"].is_null() {
                unlimited.push(format!("{method} {path}"));
            }
        }
    }
    unlimited
}

/// The `$ref`s of an OpenAPI document that name no schema it has: a fuzzer or a client
/// generator fails on each. Every service's test asserts there are none.
pub fn dangling_refs(openapi: &utoipa::openapi::OpenApi) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Null
            | serde_json::Value::Bool(_)
            | serde_json::Value::Number(_)
            | serde_json::Value::String(_) => {}
        }
    }
    let doc = serde_json::to_value(openapi).unwrap_or_default();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    let schemas = &doc["components"]["schemas"];
    refs.retain(|r| {
        r.strip_prefix("#/components/schemas/")
            .is_none_or(|name| schemas.get(name).is_none())
    });
    refs.sort();
    refs.dedup();
    refs
}

/// The `{name}`s of the document's paths that an operation does not declare as a path
/// parameter (`METHOD path {name}`): a fuzzer cannot fill them, a client generator
/// cannot name them.
pub fn undeclared_path_params(openapi: &utoipa::openapi::OpenApi) -> Vec<String> {
    let doc = serde_json::to_value(openapi).unwrap_or_default();
    let mut missing = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return missing;
    };
    for (path, item) in paths {
        let names: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
            .collect();
        let Some(operations) = item.as_object() else {
            continue;
        };
        for (method, op) in operations {
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            for name in &names {
                if !declared.contains(name) {
                    missing.push(format!("{} {path} {{{name}}}", method.to_uppercase()));
                }
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::check_origin;

    #[test]
    fn only_real_origins_pass() {
        for good in [
            "http://localhost:3000",
            "https://app.example.com",
            "https://[::1]:8443",
            "http://127.0.0.1",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for bad in [
            "*",
            "https://*.example.com",
            "http://localhost:3000/",
            "https://app.example.com/path",
            "app.example.com",
            "ftp://example.com",
            "http://",
            "http://host:0",
            "http://host:99999",
            "http://bad_host",
            "http://[::1",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }
}
