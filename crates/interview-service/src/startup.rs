//! Building and running the interview service: HTTP (:8001) and gRPC (:50052).

use crate::grpc::InterviewGrpc;
use crate::openapi::ApiDoc;
use crate::routes;
use crate::service::AppState;
use crate::settings::Settings;
use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;
use auth_types::IntrospectionClient;
use auth_types::client::AuthCheck;
use platform_proto::interview::v1::interview_service_server::InterviewServiceServer;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use service_runtime::db::{self, DatabaseCheck};
use service_runtime::grpc::RequireCaller;
use service_runtime::health::Readiness;
use service_runtime::server::{HttpService, bind_grpc, serve_grpc, serve_http};
use std::sync::Arc;
use utoipa::OpenApi;

type GrpcServer = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
>;

pub struct Application {
    relay: events::Relay,
    /// The introspection client and the bus its revocation feed comes on.
    auth: IntrospectionClient,
    bus: events::BusSettings,
    port: u16,
    grpc_port: u16,
    server: Server,
    grpc: GrpcServer,
    export: service_runtime::export::Parts,
}

impl Application {
    /// Connects to the database and builds the service (run migrations first).
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
        let relay = events::Relay::new(
            db.clone(),
            crate::service::SOURCE,
            settings.bus.publisher(sink)?,
        );
        let auth = IntrospectionClient::with_tls(
            &settings.auth_grpc_url,
            &settings.internal_key,
            settings.introspection_ttl,
            settings.grpc_tls_ca.as_deref(),
        )?;
        let state = AppState {
            db: db.clone(),
            auth: auth.clone(),
            relay: relay.clone(),
            export: service_runtime::export::Parts::new(settings.export_peers.clone()),
        };
        let export = state.export.clone();

        let (incoming, grpc_port) = bind_grpc(settings.grpc_addr, "INTERVIEW_GRPC_ADDR")?;
        // gRPC answers from the database alone: its health follows the database.
        let grpc = serve_grpc(
            platform_proto::FILE_DESCRIPTOR_SET,
            Readiness::new(vec![Arc::new(DatabaseCheck(db.clone()))]),
            incoming,
            settings.grpc_tls.clone(),
            InterviewServiceServer::with_interceptor(
                InterviewGrpc::new(state.clone()),
                RequireCaller::from_settings(&settings.internal_key, &settings.internal_callers),
            ),
        )
        .await?;

        let pools = db::WorkerPools::new(
            db.clone(),
            settings.database_url.clone(),
            settings.db_max_connections,
        );
        let readiness = Readiness::new(vec![
            Arc::new(DatabaseCheck(db)),
            Arc::new(AuthCheck(auth.clone())),
        ]);
        let auth_client = auth.clone();
        let auth_data = web::Data::new(auth);
        let limit = web::Data::new(settings.api_rate_limit.build("interview")?);
        let (server, port) = serve_http(
            &settings.http,
            HttpService {
                name: "interview",
                readiness,
                openapi: ApiDoc::openapi(),
                configure: move |cfg: &mut web::ServiceConfig| {
                    let data = web::Data::new(AppState {
                        db: pools.for_this_worker(),
                        ..state.clone()
                    });
                    cfg.app_data(data)
                        .app_data(auth_data.clone())
                        .app_data(limit.clone());
                    routes::configure(cfg);
                },
            },
        )?;
        Ok(Self {
            relay,
            auth: auth_client,
            bus: settings.bus.clone(),
            port,
            grpc_port,
            server,
            grpc: Box::pin(grpc),
            export,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// Where a candidate's export gathers the other services' parts (the one-process
    /// binary points them at its own ports).
    pub fn export_parts(&self) -> &service_runtime::export::Parts {
        &self.export
    }

    /// Serves HTTP and gRPC until the process is asked to stop.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let _relay = service_runtime::AbortOnDrop(tokio::spawn(self.relay.run()));
        let _feed = self.auth.follow_revocations(&self.bus);
        let http = async { self.server.await.context("HTTP server") };
        let grpc = async { self.grpc.await.context("gRPC server") };
        tokio::try_join!(http, grpc).map(|_| ())
    }
}
