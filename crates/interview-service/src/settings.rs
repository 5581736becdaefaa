//! The interview service's settings, from the environment.

use secrecy::SecretString;
use service_runtime::config::{AuthClientSettings, ConfigError, Env, pick};
use service_runtime::export::Peer;
use service_runtime::server::HttpSettings;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub grpc_addr: SocketAddr,
    pub database_url: SecretString,
    pub db_max_connections: u32,
    /// Where auth's gRPC answers, e.g. `http://auth:50051`.
    pub auth_grpc_url: String,
    pub internal_key: SecretString,
    /// `INTERNAL_CALLERS`: who may call its gRPC, each with a key of its own (empty: the
    /// shared `INTERNAL_API_KEY`).
    pub internal_callers: Vec<(String, SecretString)>,
    /// `GRPC_TLS_CERT` / `GRPC_TLS_KEY`: its gRPC server over TLS.
    pub grpc_tls: Option<service_runtime::grpc::ServerTls>,
    pub introspection_ttl: Duration,
    /// `GRPC_TLS_CA`: what `https://` gRPC URLs are trusted by.
    pub grpc_tls_ca: Option<String>,
    /// `API_RATE_LIMIT_PER_MINUTE` and the Redis replicas share it through.
    pub api_rate_limit: service_runtime::ratelimit::ApiRateLimitSettings,
    pub bus: events::BusSettings,
    /// The services a candidate's export gathers parts from (`SCORING_HTTP_URL`,
    /// `AUDIT_HTTP_URL`).
    pub export_peers: Vec<service_runtime::export::Peer>,
}

/// What the one-process binary supplies for whatever the environment leaves unset.
#[derive(Debug, Clone)]
pub struct EmbeddedDefaults {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub database_url: String,
    pub auth_grpc_url: String,
    pub internal_key: SecretString,
}

impl Settings {
    pub fn from_env(env: &Env, embedded: Option<EmbeddedDefaults>) -> Result<Self, ConfigError> {
        let embedded_mode = embedded.is_some();
        let d = embedded.as_ref();
        let database_url = pick(env, "DATABASE_URL", d.map(|d| d.database_url.clone()))?;
        let auth = AuthClientSettings::from_env(
            env,
            d.map(|d| (d.auth_grpc_url.clone(), d.internal_key.clone())),
        )?;
        let (http_addr, grpc_addr) = d.map_or(
            (
                SocketAddr::from(([0, 0, 0, 0], 8001)),
                SocketAddr::from(([0, 0, 0, 0], 50052)),
            ),
            |d| (d.http_addr, d.grpc_addr),
        );
        Ok(Self {
            http: HttpSettings::from_env(env, "INTERVIEW_HTTP_ADDR", http_addr)?,
            grpc_addr: env.parse_or("INTERVIEW_GRPC_ADDR", grpc_addr)?,
            database_url: SecretString::from(database_url),
            db_max_connections: env.parse_or("DB_MAX_CONNECTIONS", 10)?,
            auth_grpc_url: auth.auth_grpc_url,
            internal_key: auth.internal_key,
            internal_callers: service_runtime::config::internal_callers(env)?,
            grpc_tls: service_runtime::grpc::server_tls_from_env(env)?,
            introspection_ttl: auth.introspection_ttl,
            grpc_tls_ca: auth.grpc_tls_ca,
            api_rate_limit: service_runtime::ratelimit::ApiRateLimitSettings::from_env(env)?,
            bus: events::BusSettings::from_env(env, embedded_mode)?,
            export_peers: vec![
                Peer::from_env(env, "scoring", "SCORING_HTTP_URL", None)?,
                Peer::from_env(env, "audit", "AUDIT_HTTP_URL", None)?,
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut pairs = vec![
            ("DATABASE_URL", "postgres://db/x"),
            ("AUTH_GRPC_URL", "http://auth:50051"),
            ("INTERNAL_API_KEY", "internal-key-for-tests"),
            ("AMQP_URL", "amqp://localhost:5672/%2f"),
        ];
        pairs.extend_from_slice(extra);
        Settings::from_env(&Env::from_pairs(pairs), None)
    }

    #[test]
    fn defaults() {
        let s = production(&[]).unwrap();
        assert_eq!(s.http.addr.port(), 8001);
        assert_eq!(s.grpc_addr.port(), 50052);
        assert_eq!(s.introspection_ttl, Duration::from_secs(1));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("INTROSPECTION_CACHE_MS", "60000"),
            ("INTROSPECTION_CACHE_MS", "soon"),
            ("AUTH_GRPC_URL", "auth:50051"),
            ("INTERNAL_API_KEY", "short"),
            ("INTERVIEW_GRPC_ADDR", "x"),
            ("INTERVIEW_HTTP_ADDR", "x"),
        ] {
            let err = production(&[(name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={value}: {err}");
        }
        let err = Settings::from_env(&Env::default(), None).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"));
    }
}
