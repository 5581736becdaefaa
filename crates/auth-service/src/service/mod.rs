//! Transport-neutral operations of the auth service: HTTP handlers (and later gRPC)
//! convert their input and call these.

pub mod auth;
pub mod users;

use crate::domain::password::Passwords;
use crate::domain::tokens::TokenIssuer;
use crate::store::tokens::TokenStore;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

/// Everything a request needs, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub tokens: Arc<dyn TokenStore>,
    pub issuer: TokenIssuer,
    pub passwords: Passwords,
    pub reuse_grace: Duration,
    /// Login attempts per client address and account per minute (0: no limit).
    pub login_rate_limit: u64,
    /// Login attempts per client address across all accounts per minute (0: no limit).
    pub login_rate_limit_per_ip: u64,
    /// Users a company may create per hour (0: no limit).
    pub user_creation_rate_limit: u64,
    pub lockout: Option<Lockout>,
    /// Whose `Forwarded` / `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: service_runtime::net::TrustedProxies,
    /// Publishes the outbox; woken after every commit that wrote to it.
    pub relay: events::Relay,
}

/// Account lockout (security document: after 5 failed attempts, for 30 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Consecutive failed passwords that lock the account (`LOCKOUT_THRESHOLD`).
    pub threshold: u32,
    /// How long it stays locked (`LOCKOUT_MINUTES`).
    pub duration: Duration,
}

/// The `source` of this service's events.
pub const SOURCE: &str = "auth";
