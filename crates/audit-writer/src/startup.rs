//! Building and running the audit-writer: the consumer (RabbitMQ) or the in-process sink,
//! and the HTTP API.

use crate::chain::ChainKey;
use crate::consumer::{self, ConsumerSettings};
use crate::routes;
use crate::settings::{Settings, Source};
use crate::writer::InProcessWriter;
use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;
use auth_types::IntrospectionClient;
use auth_types::client::AuthCheck;
use events::Sink;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use service_runtime::db::{self, DatabaseCheck};
use service_runtime::health::Readiness;
use service_runtime::server::{BearerAuth, HttpService, serve_http};
use std::sync::Arc;
use utoipa::OpenApi;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "AI Interviewer Platform: audit-writer",
        description = "Audit search, notifications, and their parts of a person's data export"
    ),
    paths(
        routes::search,
        routes::verify,
        routes::report,
        routes::my_notifications,
        routes::read,
        routes::export_user,
        routes::export_candidate
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

pub struct Application {
    /// The introspection client and the bus its revocation feed comes on.
    auth: IntrospectionClient,
    bus: events::BusSettings,
    port: u16,
    server: Server,
    consumer: Option<ConsumerSettings>,
    db: DatabaseConnection,
    chain: ChainKey,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect(
            settings.database_url.expose_secret(),
            settings.db_max_connections,
        )
        .await
        .context("connecting to DATABASE_URL")?;
        Self::build_with_db(settings, db)
    }

    pub fn build_with_db(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let auth = IntrospectionClient::with_tls(
            &settings.auth_grpc_url,
            &settings.internal_key,
            settings.introspection_ttl,
            settings.grpc_tls_ca.as_deref(),
        )?;
        let consumer = match &settings.source {
            Source::Rabbit {
                url,
                topology,
                batch,
                batch_wait,
                max_attempts,
                publishers,
            } => Some(ConsumerSettings {
                publishers: publishers.clone(),
                url: url.clone(),
                topology: topology.clone(),
                batch: *batch,
                batch_wait: *batch_wait,
                max_attempts: *max_attempts,
                chain: ChainKey::new(settings.chain_key.clone()),
            }),
            Source::InProcess => None,
        };
        let bus = match &settings.source {
            Source::Rabbit { url, topology, .. } => events::BusSettings::Rabbit {
                url: url.clone(),
                topology: topology.clone(),
            },
            Source::InProcess => events::BusSettings::InProcess,
        };
        let readiness = Readiness::new(vec![
            Arc::new(DatabaseCheck(db.clone())),
            Arc::new(AuthCheck(auth.clone())),
        ]);
        let pools = service_runtime::db::WorkerPools::new(
            db.clone(),
            settings.database_url.clone(),
            settings.db_max_connections,
        );
        let chain_data = web::Data::new(ChainKey::new(settings.chain_key.clone()));
        let auth_client = auth.clone();
        let auth_data = web::Data::new(auth);
        let limit = web::Data::new(settings.api_rate_limit.build("audit-writer")?);
        let (server, port) = serve_http(
            &settings.http,
            HttpService {
                name: "audit-writer",
                readiness,
                openapi: ApiDoc::openapi(),
                configure: move |cfg: &mut web::ServiceConfig| {
                    let data = web::Data::new(pools.for_this_worker());
                    cfg.app_data(data)
                        .app_data(chain_data.clone())
                        .app_data(auth_data.clone())
                        .app_data(limit.clone());
                    routes::configure(cfg);
                },
            },
        )?;
        Ok(Self {
            auth: auth_client,
            bus,
            port,
            server,
            consumer,
            db,
            chain: ChainKey::new(settings.chain_key.clone()),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The in-process sink the embedded default's services publish to.
    pub fn sink(&self) -> Arc<dyn Sink> {
        Arc::new(InProcessWriter {
            db: self.db.clone(),
            chain: self.chain.clone(),
        })
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let _consuming = self
            .consumer
            .map(|c| service_runtime::AbortOnDrop(tokio::spawn(consumer::run(self.db.clone(), c))));
        let _feed = self.auth.follow_revocations(&self.bus);
        let _partitions = service_runtime::AbortOnDrop(tokio::spawn(
            crate::partitions::keep_ahead(self.db.clone()),
        ));
        self.server.await.context("HTTP server")
    }
}

service_runtime::openapi_refs_test!(super::ApiDoc);
