//! Building and running the auth service: the same `Application` serves the binary,
//! the one-process binary and every test (on port 0).

use crate::db::{self, DatabaseCheck};
use crate::domain::password::Passwords;
use crate::domain::tokens::TokenIssuer;
use crate::grpc::AuthGrpc;
use crate::openapi::ApiDoc;
use crate::routes;
use crate::service::AppState;
use crate::settings::{Settings, TokenStoreSettings};
use crate::store::tokens::{MemoryTokenStore, RedisTokenStore, TokenStore};
use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use service_runtime::health::{Readiness, ReadinessCheck};
use service_runtime::metrics::ServiceName;
use service_runtime::{health, http, metrics};
use std::net::TcpListener;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

type GrpcServer = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
>;

pub struct Application {
    port: u16,
    grpc_port: u16,
    server: Server,
    grpc: GrpcServer,
    state: AppState,
}

struct TokenStoreCheck(Arc<dyn TokenStore>);

#[async_trait::async_trait]
impl ReadinessCheck for TokenStoreCheck {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.0)
    }
}

impl Application {
    /// Connects to the database and builds the service. Does not migrate: run
    /// `auth-service migrate` (or [`db::migrate`]) first.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect(
            settings.database_url.expose_secret(),
            settings.db_max_connections,
        )
        .await
        .context("connecting to DATABASE_URL")?;
        Self::build_with_db(settings, db).await
    }

    pub async fn build_with_db(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let tokens: Arc<dyn TokenStore> = match &settings.token_store {
            TokenStoreSettings::Redis { url, key_prefix } => Arc::new(
                RedisTokenStore::new(url.expose_secret(), key_prefix.clone())
                    .context("REDIS_URL")?,
            ),
            TokenStoreSettings::InProcess => Arc::new(MemoryTokenStore::new()),
        };
        let state = AppState {
            db: db.clone(),
            tokens: tokens.clone(),
            issuer: TokenIssuer::new(
                &settings.secret_key,
                settings.access_ttl,
                settings.refresh_ttl,
            ),
            passwords: Passwords::new()?,
            reuse_grace: settings.reuse_grace,
        };
        let readiness = Readiness::new(vec![
            Arc::new(DatabaseCheck(db)),
            Arc::new(TokenStoreCheck(tokens)),
        ]);
        metrics::handle();
        let (grpc, grpc_port) = grpc_server(&settings, state.clone()).await?;

        let listener = TcpListener::bind(settings.http_addr)
            .with_context(|| format!("binding AUTH_HTTP_ADDR {}", settings.http_addr))?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state.clone());
        let openapi = ApiDoc::openapi();
        let origins = settings.cors_origins.clone();
        let body_limit = settings.body_limit;
        let mut server = HttpServer::new(move || {
            let cors = origins
                .iter()
                .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
                .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
                .allowed_headers([
                    actix_web::http::header::AUTHORIZATION,
                    actix_web::http::header::CONTENT_TYPE,
                ])
                .supports_credentials()
                .max_age(600);
            App::new()
                .app_data(data.clone())
                .app_data(ServiceName("auth"))
                .app_data(http::json_config(body_limit))
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(http::query_config())
                .app_data(http::path_config())
                .configure(routes::configure)
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
        if let Some(workers) = settings.http_workers {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            grpc_port,
            server: server.run(),
            grpc,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// The shared state, for tools and tests that drive the service functions directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves HTTP and gRPC until the process is asked to stop; an error of either ends both.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let http = async { self.server.await.context("HTTP server") };
        let grpc = async { self.grpc.await.context("gRPC server") };
        tokio::try_join!(http, grpc).map(|_| ())
    }
}

/// Introspection and lookup behind the service credential; health and reflection open.
async fn grpc_server(settings: &Settings, state: AppState) -> anyhow::Result<(GrpcServer, u16)> {
    use platform_proto::auth::v1::auth_service_server::AuthServiceServer;
    let incoming = tonic::transport::server::TcpIncoming::bind(settings.grpc_addr)
        .map_err(|e| anyhow::anyhow!("binding AUTH_GRPC_ADDR {}: {e}", settings.grpc_addr))?;
    let port = incoming.local_addr()?.port();
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<AuthServiceServer<AuthGrpc>>().await;
    let reflection = service_runtime::grpc::reflection(platform_proto::FILE_DESCRIPTOR_SET)?;
    let service = AuthServiceServer::with_interceptor(
        AuthGrpc::new(state),
        service_runtime::grpc::RequireCaller::new(settings.internal_key.clone()),
    );
    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, service_runtime::grpc::shutdown_signal());
    Ok((Box::pin(server), port))
}
