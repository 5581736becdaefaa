//! Building and running the auth service: the same `Application` serves the binary,
//! the one-process binary and every test (on port 0).

use crate::domain::password::Passwords;
use crate::domain::tokens::TokenIssuer;
use crate::grpc::AuthGrpc;
use crate::openapi::ApiDoc;
use crate::routes;
use crate::service::AppState;
use crate::settings::{Settings, TokenStoreSettings};
use crate::store::tokens::{MemoryTokenStore, RedisTokenStore, TokenStore};
use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use service_runtime::db::{self, DatabaseCheck};
use service_runtime::grpc::RequireCaller;
use service_runtime::health::{Readiness, ReadinessCheck};
use service_runtime::server::{HttpService, bind_grpc, serve_grpc, serve_http};
use std::sync::Arc;
use utoipa::OpenApi;

type GrpcServer = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
>;

pub struct Application {
    port: u16,
    grpc_port: u16,
    server: Server,
    grpc: GrpcServer,
    state: AppState,
    /// The bus the revocation feed comes on (other replicas' announcements).
    bus: events::BusSettings,
    /// Sends what the mail outbox holds.
    mailer: Arc<crate::mail::Mailer>,
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
        Self::build_with_db(settings, db, None).await
    }

    /// `sink`: the in-process audit-writer, for the embedded default (without `AMQP_URL`).
    pub async fn build_with_db(
        settings: Settings,
        db: DatabaseConnection,
        sink: Option<Arc<dyn events::Sink>>,
    ) -> anyhow::Result<Self> {
        let publisher = settings.bus.publisher(sink)?;
        let relay = events::Relay::new(db.clone(), crate::service::SOURCE, publisher);
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
                &settings.token_issuer,
                settings.access_ttl,
                settings.refresh_ttl,
            )
            .with_session_limits(settings.session),
            passwords: Passwords::with_pool(
                settings.password_hash_threads,
                settings.password_hash_queue,
            )?,
            reuse_grace: settings.reuse_grace,
            login_rate_limit: settings.login_rate_limit,
            login_rate_limit_per_ip: settings.login_rate_limit_per_ip,
            refresh_rate_limit: settings.refresh_rate_limit,
            refresh_rate_limit_per_ip: settings.refresh_rate_limit_per_ip,
            user_creation_rate_limit: settings.user_creation_rate_limit,
            max_sessions_per_user: settings.max_sessions_per_user,
            api_rate_limit: service_runtime::ratelimit::ApiRateLimit::new(
                Arc::new(crate::store::tokens::Counting(tokens.clone())),
                settings.api_rate_limit,
                "auth",
            ),
            lockout: settings.lockout,
            trusted_proxies: settings.trusted_proxies.clone(),
            refresh_log: crate::service::refresh_log::RefreshLog::start(db.clone(), relay.clone()),
            relay,
            principals: Arc::default(),
            principal_ttl: settings.principal_ttl,
            user_records: Arc::new(crate::service::users::UserRecords::new(
                settings.principal_ttl,
            )),
            revocations: events::revocation::RevocationPublisher::new(&settings.bus),
            password_policy: crate::service::passwords::PasswordRules {
                history: settings.password_history,
                max_age: settings.password_max_age,
            },
            reset: crate::service::passwords::ResetSettings {
                url: settings.password_reset_url.clone(),
                per_ip_per_hour: settings.password_reset_rate_limit_per_ip,
            },
            mfa_issuer: settings.mfa_issuer.clone(),
            sealer: Arc::new(crate::domain::totp::SecretSealer::from_secret_key(
                &settings.secret_key,
            )),
            mail_wake: Arc::default(),
            export: service_runtime::export::Parts::new(settings.export_peers.clone()),
        };
        let mailer = Arc::new(mailer(&settings.mail)?);
        tracing::info!(mail = %mailer.describe(), "mail transport");
        let readiness = Readiness::new(vec![
            Arc::new(DatabaseCheck(db)),
            Arc::new(TokenStoreCheck(tokens)),
        ]);
        let (grpc, grpc_port) = grpc_server(&settings, state.clone(), readiness.clone()).await?;
        // Each HTTP worker gets its own database pool and Redis pool, whose connections
        // its own runtime drives (`service_runtime::db::WorkerPools`), and its own refresh
        // log; the caches and the relay stay shared.
        let pools = db::WorkerPools::new(
            state.db.clone(),
            settings.database_url.clone(),
            settings.db_max_connections,
        );
        let per_worker = (settings.token_store.clone(), settings.api_rate_limit);
        let shared = state.clone();
        let (server, port) = serve_http(
            &settings.http,
            HttpService {
                name: "auth",
                readiness,
                openapi: ApiDoc::openapi(),
                configure: move |cfg: &mut web::ServiceConfig| {
                    let (token_store, api_limit) = &per_worker;
                    let tokens: Arc<dyn TokenStore> = match token_store {
                        TokenStoreSettings::Redis { url, key_prefix } => {
                            match RedisTokenStore::new(url.expose_secret(), key_prefix.clone()) {
                                Ok(store) => Arc::new(store),
                                Err(_same_as_at_start) => shared.tokens.clone(),
                            }
                        }
                        TokenStoreSettings::InProcess => shared.tokens.clone(),
                    };
                    let db = pools.for_this_worker();
                    let state = AppState {
                        // The worker's refreshes are put on the record by a writer on the
                        // worker's own thread, through its own pool: a refresh waits for
                        // its group's commit without a wake-up crossing threads.
                        refresh_log: crate::service::refresh_log::RefreshLog::start(
                            db.clone(),
                            shared.relay.clone(),
                        ),
                        db,
                        api_rate_limit: service_runtime::ratelimit::ApiRateLimit::new(
                            Arc::new(crate::store::tokens::Counting(tokens.clone())),
                            *api_limit,
                            "auth",
                        ),
                        tokens,
                        ..shared.clone()
                    };
                    cfg.app_data(web::Data::new(state));
                    routes::configure(cfg);
                },
            },
        )?;
        Ok(Self {
            port,
            grpc_port,
            server,
            grpc,
            state,
            bus: settings.bus.clone(),
            mailer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// Where a user's export gathers the other services' parts (the one-process binary
    /// points them at its own ports).
    pub fn export_parts(&self) -> &service_runtime::export::Parts {
        &self.state.export
    }

    /// Serves HTTP and gRPC until the process is asked to stop; an error of either ends both.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let _relay = service_runtime::AbortOnDrop(tokio::spawn(self.state.relay.clone().run()));
        let _mailer = service_runtime::AbortOnDrop(tokio::spawn(crate::service::mailer::run(
            self.state.db.clone(),
            self.mailer.clone(),
            self.state.mail_wake.clone(),
        )));
        let state = self.state.clone();
        let _feed = service_runtime::AbortOnDrop(events::revocation::listen(&self.bus, move |e| {
            state.on_feed(e);
        }));
        let http = async { self.server.await.context("HTTP server") };
        let grpc = async { self.grpc.await.context("gRPC server") };
        tokio::try_join!(http, grpc).map(|_| ())
    }
}

/// The transport `SMTP_URL` names, or without it `.eml` files under `MAIL_DIR`.
fn mailer(settings: &crate::settings::MailSettings) -> anyhow::Result<crate::mail::Mailer> {
    Ok(match &settings.smtp_url {
        Some(url) => crate::mail::Mailer::smtp(
            url.expose_secret(),
            &settings.from,
            settings.ca_file.as_deref(),
        )
        .context("SMTP_URL / MAIL_FROM / SMTP_CA_FILE")?,
        None => crate::mail::Mailer::directory(settings.dir.clone(), &settings.from)
            .context("MAIL_DIR / MAIL_FROM")?,
    })
}

/// Introspection and lookup behind the service credential; health and reflection open.
async fn grpc_server(
    settings: &Settings,
    state: AppState,
    readiness: Readiness,
) -> anyhow::Result<(GrpcServer, u16)> {
    use platform_proto::auth::v1::auth_service_server::AuthServiceServer;
    let (incoming, port) = bind_grpc(settings.grpc_addr, "AUTH_GRPC_ADDR")?;
    let service = AuthServiceServer::with_interceptor(
        AuthGrpc::new(state),
        RequireCaller::from_settings(&settings.internal_key, &settings.internal_callers),
    );
    let server = serve_grpc(
        platform_proto::FILE_DESCRIPTOR_SET,
        readiness,
        incoming,
        settings.grpc_tls.clone(),
        service,
    )
    .await?;
    Ok((Box::pin(server), port))
}
