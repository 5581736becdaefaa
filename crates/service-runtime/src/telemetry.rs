//! Logging: an env filter from `LOG_LEVEL`, JSON lines in production, readable text in
//! development. Noisy dependencies are held at `warn`.

use crate::config::ConfigError;
use std::str::FromStr;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" | "pretty" => Ok(Self::Text),
            other => Err(format!("'{other}' is not one of json, text")),
        }
    }
}

/// Builds the filter: `level` (e.g. `INFO` or a full directive list) plus quiet
/// defaults for sqlx and sea-orm, which log every statement at INFO.
pub fn filter(level: &str) -> Result<EnvFilter, ConfigError> {
    let directives = format!(
        "{},sqlx=warn,sea_orm=warn,sea_orm_migration=warn,h2=warn",
        level.to_ascii_lowercase()
    );
    EnvFilter::try_new(&directives).map_err(|e| ConfigError::invalid("LOG_LEVEL", e.to_string()))
}

/// Installs the process-wide subscriber; a second call (tests, the one-process binary)
/// leaves the first in place.
pub fn init(level: &str, format: LogFormat) -> Result<(), ConfigError> {
    let filter = filter(level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE);
    // Already installed is fine: the first initialiser wins.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    Ok(())
}
