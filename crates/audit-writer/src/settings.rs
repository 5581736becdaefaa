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
        /// `AUDIT_PUBLISHERS`: which sources each RabbitMQ user may publish events of
        /// (empty: not checked).
        publishers: Publishers,
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
    /// `GRPC_TLS_CA`: what `https://` gRPC URLs are trusted by.
    pub grpc_tls_ca: Option<String>,
    /// `API_RATE_LIMIT_PER_MINUTE` and the Redis replicas share it through.
    pub api_rate_limit: service_runtime::ratelimit::ApiRateLimitSettings,
    /// `AUDIT_CHAIN_KEY`: the HMAC key of the audit log's hash chain.
    pub chain_key: SecretString,
}

#[derive(Debug, Clone)]
pub struct EmbeddedDefaults {
    pub http_addr: SocketAddr,
    pub database_url: String,
    pub auth_grpc_url: String,
    pub internal_key: SecretString,
    /// The chain key kept in the data directory.
    pub chain_key: SecretString,
}

/// RabbitMQ user → the event sources it may publish.
pub use events::subscriber::Publishers;

/// The shortest `AUDIT_CHAIN_KEY` accepted, in bytes.
pub const MIN_CHAIN_KEY_BYTES: usize = 32;

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
                let batch: usize = env.parse_or("AUDIT_BATCH_SIZE", 500)?;
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
                    publishers: events::settings::publishers(env)?,
                    url: SecretString::from(url),
                    topology: events::settings::topology(env)?,
                    batch,
                    batch_wait: Duration::from_millis(env.parse_or("AUDIT_BATCH_WAIT_MS", 50)?),
                    max_attempts,
                }
            }
        };
        let chain_key = match (env.get("AUDIT_CHAIN_KEY"), d) {
            (Some(k), _) => SecretString::from(k.to_owned()),
            (None, Some(d)) => d.chain_key.clone(),
            (None, None) => {
                return Err(ConfigError::Missing {
                    name: "AUDIT_CHAIN_KEY".into(),
                });
            }
        };
        {
            use secrecy::ExposeSecret;
            let key = chain_key.expose_secret();
            if key.len() < MIN_CHAIN_KEY_BYTES {
                return Err(ConfigError::invalid(
                    "AUDIT_CHAIN_KEY",
                    format!("must be at least {MIN_CHAIN_KEY_BYTES} bytes long"),
                ));
            }
            if let Some(why) = service_runtime::config::weak_secret(key) {
                return Err(ConfigError::invalid("AUDIT_CHAIN_KEY", why));
            }
        }
        let default_addr = d.map_or(SocketAddr::from(([0, 0, 0, 0], 8003)), |d| d.http_addr);
        Ok(Self {
            http: HttpSettings::from_env(env, "AUDIT_HTTP_ADDR", default_addr)?,
            database_url: SecretString::from(database_url),
            db_max_connections: env.parse_or("DB_MAX_CONNECTIONS", 10)?,
            source,
            auth_grpc_url: auth.auth_grpc_url,
            internal_key: auth.internal_key,
            introspection_ttl: auth.introspection_ttl,
            grpc_tls_ca: auth.grpc_tls_ca,
            api_rate_limit: service_runtime::ratelimit::ApiRateLimitSettings::from_env(env)?,
            chain_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standalone(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut pairs = vec![
            ("DATABASE_URL", "postgres://db/x"),
            ("AMQP_URL", "amqp://localhost:5672/%2f"),
            ("AUTH_GRPC_URL", "http://127.0.0.1:50051"),
            ("INTERNAL_API_KEY", "internal-key-for-tests"),
        ];
        pairs.extend_from_slice(extra);
        Settings::from_env(&Env::from_pairs(pairs), None)
    }

    #[test]
    fn the_chain_key_is_required_and_must_be_strong() {
        let err = standalone(&[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("AUDIT_CHAIN_KEY"), "{err}");
        for weak in [
            "short",
            "change-me-to-the-output-of-openssl-rand-hex-32",
            "CHANGE-ME-openssl-rand-hex-32-audit-chain",
            "ffffffffffffffffffffffffffffffffffffffff",
        ] {
            let err = standalone(&[("AUDIT_CHAIN_KEY", weak)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("AUDIT_CHAIN_KEY"), "{weak}: {err}");
        }
        assert!(standalone(&[("AUDIT_CHAIN_KEY", "8c1f0a9e3b7d4c2a9f6e1b0d5c8a7e3f")]).is_ok());
    }
}
