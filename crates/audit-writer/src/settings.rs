//! The audit-writer's settings, from the environment.

use secrecy::SecretString;
use service_runtime::config::{AuthClientSettings, ConfigError, Env, pick};
use service_runtime::server::HttpSettings;
use std::net::SocketAddr;
use std::time::Duration;

/// Where events come from.
#[derive(Debug, Clone)]
pub enum Source {
    Rabbit {
        url: SecretString,
        topology: events::Topology,
        batch: usize,
        batch_wait: Duration,
        max_attempts: u32,
    },
    /// The embedded default: services hand events to this process directly.
    InProcess,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub database_url: SecretString,
    pub db_max_connections: u32,
    pub source: Source,
    pub auth_grpc_url: String,
    pub internal_key: SecretString,
    pub introspection_ttl: Duration,
    /// `API_RATE_LIMIT_PER_MINUTE` and the Redis replicas share it through.
    pub api_rate_limit: service_runtime::ratelimit::ApiRateLimitSettings,
}

#[derive(Debug, Clone)]
pub struct EmbeddedDefaults {
    pub http_addr: SocketAddr,
    pub database_url: String,
    pub auth_grpc_url: String,
    pub internal_key: SecretString,
}

impl Settings {
    pub fn from_env(env: &Env, embedded: Option<EmbeddedDefaults>) -> Result<Self, ConfigError> {
        let d = embedded.as_ref();
        let database_url = pick(env, "DATABASE_URL", d.map(|d| d.database_url.clone()))?;
        let auth = AuthClientSettings::from_env(
            env,
            d.map(|d| (d.auth_grpc_url.clone(), d.internal_key.clone())),
        )?;
        let amqp = match (env.get("AMQP_URL"), d) {
            (Some(url), _) => Some(url.to_owned()),
            (None, Some(_)) => None,
            (None, None) => {
                return Err(ConfigError::Missing {
                    name: "AMQP_URL".into(),
                });
            }
        };
        let source = match amqp {
            None => Source::InProcess,
            Some(url) => {
                let batch: usize = env.parse_or("AUDIT_BATCH_SIZE", 100)?;
                if !(1..=1000).contains(&batch) {
                    return Err(ConfigError::invalid(
                        "AUDIT_BATCH_SIZE",
                        "must be 1 to 1000",
                    ));
                }
                let max_attempts: u32 = env.parse_or("AUDIT_MAX_ATTEMPTS", 3)?;
                if max_attempts == 0 {
                    return Err(ConfigError::invalid(
                        "AUDIT_MAX_ATTEMPTS",
                        "must be at least 1",
                    ));
                }
                Source::Rabbit {
                    url: SecretString::from(url),
                    topology: events::settings::topology(env)?,
                    batch,
                    batch_wait: Duration::from_millis(env.parse_or("AUDIT_BATCH_WAIT_MS", 50)?),
                    max_attempts,
                }
            }
        };
        let default_addr = d.map_or(SocketAddr::from(([0, 0, 0, 0], 8003)), |d| d.http_addr);
        Ok(Self {
            http: HttpSettings::from_env(env, "AUDIT_HTTP_ADDR", default_addr)?,
            database_url: SecretString::from(database_url),
            db_max_connections: env.parse_or("DB_MAX_CONNECTIONS", 10)?,
            source,
            auth_grpc_url: auth.auth_grpc_url,
            internal_key: auth.internal_key,
            introspection_ttl: auth.introspection_ttl,
            api_rate_limit: service_runtime::ratelimit::ApiRateLimitSettings::from_env(env)?,
        })
    }
}
