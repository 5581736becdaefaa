//! Building and running the scoring service (HTTP :8002).

use crate::interview_client::{InterviewCheck, InterviewClient};
use crate::openapi::ApiDoc;
use crate::routes;
use crate::service::AppState;
use crate::settings::Settings;
use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;
use auth_types::IntrospectionClient;
use auth_types::client::AuthCheck;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use service_runtime::db::{self, DatabaseCheck};
use service_runtime::health::Readiness;
use service_runtime::server::{HttpService, serve_http};
use std::sync::Arc;
use utoipa::OpenApi;

pub struct Application {
    relay: events::Relay,
    /// The introspection client and the bus its revocation feed comes on.
    auth: IntrospectionClient,
    bus: events::BusSettings,
    port: u16,
    server: Server,
    /// The queue candidates' erasures arrive on, and what erases them.
    erasure: Option<(
        events::subscriber::Subscription,
        crate::service::privacy::Eraser,
    )>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect(
            settings.database_url.expose_secret(),
            settings.db_max_connections,
        )
        .await
        .context("connecting to DATABASE_URL")?;
        Self::build_with_db(settings, db, None)
    }

    /// `sink`: the in-process audit-writer, for the embedded default (without `AMQP_URL`).
    pub fn build_with_db(
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
        let interviews = InterviewClient::new(
            &settings.interview_grpc_url,
            &settings.internal_key,
            settings.grpc_tls_ca.as_deref(),
        )?;
        let readiness = Readiness::new(vec![
            Arc::new(DatabaseCheck(db.clone())),
            Arc::new(AuthCheck(auth.clone())),
            Arc::new(InterviewCheck(interviews.clone())),
        ]);
        let pools = db::WorkerPools::new(
            db.clone(),
            settings.database_url.clone(),
            settings.db_max_connections,
        );
        let erasure = settings
            .erasure
            .clone()
            .map(|sub| (sub, crate::service::privacy::Eraser { db: db.clone() }));
        let state = AppState {
            db,
            auth: auth.clone(),
            interviews,
            relay: relay.clone(),
        };
        let auth_client = auth.clone();
        let auth_data = web::Data::new(auth);
        let limit = web::Data::new(settings.api_rate_limit.build("scoring")?);
        let (server, port) = serve_http(
            &settings.http,
            HttpService {
                name: "scoring",
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
            server,
            erasure,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let _relay = service_runtime::AbortOnDrop(tokio::spawn(self.relay.run()));
        let _feed = self.auth.follow_revocations(&self.bus);
        let _erasure = self.erasure.map(|(sub, eraser)| {
            service_runtime::AbortOnDrop(tokio::spawn(events::subscriber::run(
                sub,
                Arc::new(eraser),
            )))
        });
        self.server.await.context("HTTP server")
    }
}
