//! The scoring service's settings, from the environment.

use secrecy::SecretString;
use service_runtime::config::{AuthClientSettings, ConfigError, Env, grpc_url, pick};
use service_runtime::server::HttpSettings;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub database_url: SecretString,
    pub db_max_connections: u32,
    pub auth_grpc_url: String,
    pub interview_grpc_url: String,
    pub internal_key: SecretString,
    pub introspection_ttl: Duration,
    /// `GRPC_TLS_CA`: what `https://` gRPC URLs are trusted by.
    pub grpc_tls_ca: Option<String>,
    /// `API_RATE_LIMIT_PER_MINUTE` and the Redis replicas share it through.
    pub api_rate_limit: service_runtime::ratelimit::ApiRateLimitSettings,
    pub bus: events::BusSettings,
    /// Where candidates' erasures come from (`AMQP_URL`; the embedded default hands them
    /// over in process).
    pub erasure: Option<events::subscriber::Subscription>,
}

/// What the one-process binary supplies for whatever the environment leaves unset.
#[derive(Debug, Clone)]
pub struct EmbeddedDefaults {
    pub http_addr: SocketAddr,
    pub database_url: String,
    pub auth_grpc_url: String,
    pub interview_grpc_url: String,
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
        let interview_grpc_url = grpc_url(
            "INTERVIEW_GRPC_URL",
            pick(
                env,
                "INTERVIEW_GRPC_URL",
                d.map(|d| d.interview_grpc_url.clone()),
            )?,
        )?;
        let default_addr = d.map_or(SocketAddr::from(([0, 0, 0, 0], 8002)), |d| d.http_addr);
        let bus = events::BusSettings::from_env(env, embedded.is_some())?;
        Ok(Self {
            http: HttpSettings::from_env(env, "SCORING_HTTP_ADDR", default_addr)?,
            database_url: SecretString::from(database_url),
            db_max_connections: env.parse_or("DB_MAX_CONNECTIONS", 10)?,
            auth_grpc_url: auth.auth_grpc_url,
            interview_grpc_url,
            internal_key: auth.internal_key,
            introspection_ttl: auth.introspection_ttl,
            grpc_tls_ca: auth.grpc_tls_ca,
            api_rate_limit: service_runtime::ratelimit::ApiRateLimitSettings::from_env(env)?,
            erasure: match &bus {
                events::BusSettings::Rabbit { url, topology } => {
                    Some(events::subscriber::Subscription {
                        url: url.clone(),
                        topology: topology.clone(),
                        queue: "scoring.erasure".to_owned(),
                        bindings: vec![crate::service::privacy::CANDIDATE_ERASED_KEY.to_owned()],
                        publishers: events::settings::publishers(env)?,
                    })
                }
                events::BusSettings::InProcess => None,
            },
            bus,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_names_what_is_missing_or_bad() {
        let base = [
            ("DATABASE_URL", "postgres://x"),
            ("AUTH_GRPC_URL", "http://auth:50051"),
            ("INTERVIEW_GRPC_URL", "http://interview:50052"),
            ("INTERNAL_API_KEY", "internal-key-for-tests"),
            ("AMQP_URL", "amqp://localhost:5672/%2f"),
        ];
        let s = Settings::from_env(&Env::from_pairs(base), None).unwrap();
        assert_eq!(s.http.addr.port(), 8002);
        for (i, (name, _)) in base.iter().enumerate() {
            let without: Vec<_> = base
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| *p)
                .collect();
            let err = Settings::from_env(&Env::from_pairs(without), None).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        let mut bad = base.to_vec();
        bad.push(("INTERVIEW_GRPC_URL", "interview:50052"));
        let err = Settings::from_env(&Env::from_pairs(bad), None).unwrap_err();
        assert!(err.to_string().contains("INTERVIEW_GRPC_URL"));
    }
}
