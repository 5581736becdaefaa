//! The audit-writer's settings, from the environment.

use secrecy::{ExposeSecret, SecretString};
use service_runtime::config::{ConfigError, Env};
use service_runtime::grpc::MIN_INTERNAL_KEY_BYTES;
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
        let pick = |name: &str, default: Option<String>| -> Result<String, ConfigError> {
            match (env.get(name), default) {
                (Some(v), _) => Ok(v.to_owned()),
                (None, Some(v)) => Ok(v),
                (None, None) => Err(ConfigError::Missing {
                    name: name.to_owned(),
                }),
            }
        };
        let database_url = pick("DATABASE_URL", d.map(|d| d.database_url.clone()))?;
        let auth_grpc_url = pick("AUTH_GRPC_URL", d.map(|d| d.auth_grpc_url.clone()))?;
        if !(auth_grpc_url.starts_with("http://") || auth_grpc_url.starts_with("https://")) {
            return Err(ConfigError::invalid(
                "AUTH_GRPC_URL",
                "must be an http:// or https:// URL",
            ));
        }
        let internal_key = match (env.get("INTERNAL_API_KEY"), d) {
            (Some(k), _) => SecretString::from(k.to_owned()),
            (None, Some(d)) => d.internal_key.clone(),
            (None, None) => {
                return Err(ConfigError::Missing {
                    name: "INTERNAL_API_KEY".into(),
                });
            }
        };
        if internal_key.expose_secret().len() < MIN_INTERNAL_KEY_BYTES {
            return Err(ConfigError::invalid(
                "INTERNAL_API_KEY",
                format!("must be at least {MIN_INTERNAL_KEY_BYTES} characters"),
            ));
        }
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
        let cache_ms: u64 = env.parse_or("INTROSPECTION_CACHE_MS", 1_000)?;
        if u128::from(cache_ms) > auth_types::client::MAX_CACHE_TTL.as_millis() {
            return Err(ConfigError::invalid(
                "INTROSPECTION_CACHE_MS",
                "must be at most 5000",
            ));
        }
        let default_addr = d.map_or(SocketAddr::from(([0, 0, 0, 0], 8003)), |d| d.http_addr);
        Ok(Self {
            http: HttpSettings::from_env(env, "AUDIT_HTTP_ADDR", default_addr)?,
            database_url: SecretString::from(database_url),
            db_max_connections: env.parse_or("DB_MAX_CONNECTIONS", 10)?,
            source,
            auth_grpc_url,
            internal_key,
            introspection_ttl: Duration::from_millis(cache_ms),
        })
    }
}
