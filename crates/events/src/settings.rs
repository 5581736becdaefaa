//! Which bus a service publishes to: RabbitMQ when `AMQP_URL` is set, the in-process bus
//! of the embedded default otherwise (only the one-process binary offers that).

use crate::bus::{InProcessBus, Publisher, Sink};
use crate::rabbit::{RabbitPublisher, Topology};
use secrecy::{ExposeSecret, SecretString};
use service_runtime::config::{ConfigError, Env};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum BusSettings {
    Rabbit {
        url: SecretString,
        topology: Topology,
    },
    InProcess,
}

/// `AMQP_PREFIX` (default `aip.`) and `AMQP_EXPIRE_UNUSED_MS` (tests).
pub fn topology(env: &Env) -> Result<Topology, ConfigError> {
    let prefix = env.get("AMQP_PREFIX").unwrap_or("aip.").to_owned();
    if prefix.len() > 100
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(ConfigError::invalid(
            "AMQP_PREFIX",
            "letters, digits, '.', '_' and '-' only, at most 100",
        ));
    }
    let expire_unused_ms = match env.get("AMQP_EXPIRE_UNUSED_MS") {
        None => None,
        Some(_) => Some(env.parse_or("AMQP_EXPIRE_UNUSED_MS", 0u32)?),
    };
    Ok(Topology {
        prefix,
        expire_unused_ms,
    })
}

impl BusSettings {
    /// `embedded`: whether this process has an in-process writer to fall back on.
    pub fn from_env(env: &Env, embedded: bool) -> Result<Self, ConfigError> {
        match (env.get("AMQP_URL"), embedded) {
            (Some(url), _) => Ok(Self::Rabbit {
                url: SecretString::from(url.to_owned()),
                topology: topology(env)?,
            }),
            (None, true) => Ok(Self::InProcess),
            (None, false) => Err(ConfigError::Missing {
                name: "AMQP_URL".into(),
            }),
        }
    }

    /// The publisher; the in-process one needs the writer it hands events to.
    pub fn publisher(
        &self,
        sink: Option<Arc<dyn Sink>>,
    ) -> Result<Arc<dyn Publisher>, ConfigError> {
        match (self, sink) {
            (Self::Rabbit { url, topology }, _) => Ok(Arc::new(RabbitPublisher::new(
                url.expose_secret(),
                topology.clone(),
            ))),
            (Self::InProcess, Some(sink)) => Ok(Arc::new(InProcessBus::new(sink))),
            (Self::InProcess, None) => Err(ConfigError::Missing {
                name: "AMQP_URL".into(),
            }),
        }
    }
}

/// `AUDIT_PUBLISHERS`: a JSON object of RabbitMQ user to the sources it publishes, e.g.
/// `{"aip-auth": ["auth"], "aip-interview": ["interview"]}` (unset: not checked). Read by
/// every consumer of events: the audit-writer and the scoring service's erasure queue.
pub fn publishers(env: &Env) -> Result<crate::subscriber::Publishers, ConfigError> {
    let Some(raw) = env.get("AUDIT_PUBLISHERS").filter(|v| !v.trim().is_empty()) else {
        return Ok(crate::subscriber::Publishers::new());
    };
    let map: crate::subscriber::Publishers = serde_json::from_str(raw).map_err(|e| {
        ConfigError::invalid(
            "AUDIT_PUBLISHERS",
            format!("must be a JSON object of RabbitMQ user to a list of sources ({e})"),
        )
    })?;
    if map.values().any(Vec::is_empty) {
        return Err(ConfigError::invalid(
            "AUDIT_PUBLISHERS",
            "each user needs at least one source",
        ));
    }
    Ok(map)
}
