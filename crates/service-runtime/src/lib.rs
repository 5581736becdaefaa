//! What every service of the platform repeats: configuration from the environment,
//! logging, the error-to-HTTP mapping, health endpoints and metrics.

pub mod config;
pub mod db;
pub mod email;
pub mod grpc;
pub mod health;
pub mod http;
pub mod metrics;
pub mod server;
pub mod telemetry;
pub mod validate;
