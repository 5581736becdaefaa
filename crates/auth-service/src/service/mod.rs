//! Transport-neutral operations of the auth service: HTTP handlers (and later gRPC)
//! convert their input and call these.

pub mod auth;
pub mod mailer;
pub mod mfa;
pub mod passwords;
pub mod privacy;
pub mod refresh_log;
pub mod sessions;
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
    /// Refreshes of one session a minute (`REFRESH_RATE_LIMIT_PER_MINUTE`, 0: off).
    pub refresh_rate_limit: u64,
    /// Refreshes from one client address a minute (`REFRESH_RATE_LIMIT_PER_IP_PER_MINUTE`).
    pub refresh_rate_limit_per_ip: u64,
    /// Users a company may create per hour (0: no limit).
    pub user_creation_rate_limit: u64,
    /// Live sessions a user may hold; a sign-in beyond it ends the least recently used.
    pub max_sessions_per_user: Option<usize>,
    /// Requests a minute per user on the authenticated API, counted in the token store.
    pub api_rate_limit: service_runtime::ratelimit::ApiRateLimit,
    pub lockout: Option<Lockout>,
    /// Whose `Forwarded` / `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: service_runtime::net::TrustedProxies,
    /// Publishes the outbox; woken after every commit that wrote to it.
    pub relay: events::Relay,
    /// Puts refreshes on the record, grouped into shared transactions.
    pub refresh_log: refresh_log::RefreshLog,
    /// Who recently seen access tokens speak for (`INTROSPECTION_CACHE_MS`), in step with
    /// the revocation feed.
    pub principals: std::sync::Arc<auth_types::PrincipalCache>,
    pub principal_ttl: Duration,
    /// The records `/users/me` answers with, on the same terms.
    pub user_records: std::sync::Arc<users::UserRecords>,
    /// Where changes that end or narrow tokens are announced.
    pub revocations: events::revocation::RevocationPublisher,
    /// `PASSWORD_HISTORY` and `PASSWORD_MAX_AGE_DAYS`.
    pub password_policy: passwords::PasswordRules,
    /// `PASSWORD_RESET_URL` and the per-address limit on reset requests.
    pub reset: passwords::ResetSettings,
    /// The issuer authenticator apps show (`MFA_ISSUER`).
    pub mfa_issuer: String,
    /// Seals TOTP secrets at rest, under a key derived from `SECRET_KEY`.
    pub sealer: Arc<crate::domain::totp::SecretSealer>,
    /// Wakes the mailer after a commit that put mail on the outbox.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// The other services' parts of a user's export.
    pub export: service_runtime::export::Parts,
}

/// A change that ends or narrows tokens, committed: this replica's cache drops what it
/// names at once, and every other replica and service hears it on the feed.
pub async fn announce(state: &AppState, revocation: events::revocation::Revocation) {
    state.on_feed(events::revocation::FeedEvent::Revoked(revocation));
    state.revocations.publish(revocation).await;
}

impl AppState {
    /// What the revocation feed heard, applied to every cache that depends on it.
    pub fn on_feed(&self, event: events::revocation::FeedEvent) {
        self.principals.on_feed(event);
        self.user_records.on_feed(event);
    }
}

/// Account lockout (security document: after 5 failed attempts, for 30 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Consecutive failed passwords that lock the account (`LOCKOUT_THRESHOLD`).
    pub threshold: u32,
    /// How long it stays locked (`LOCKOUT_MINUTES`).
    pub duration: Duration,
}

events::event_types!(
    /// What the auth service records in the audit trail (and `AccountLocked`, the notice
    /// the company's admins get).
    AuthEvent from "auth" {
        Login => "LOGIN",
        LoginFailed => "LOGIN_FAILED",
        Logout => "LOGOUT",
        TokenRefreshed => "TOKEN_REFRESHED",
        TokenReuseDetected => "TOKEN_REUSE_DETECTED",
        AccountLocked => "ACCOUNT_LOCKED",
        AccountUnlocked => "ACCOUNT_UNLOCKED",
        UserCreated => "USER_CREATED",
        UserUpdated => "USER_UPDATED",
        UserDeactivated => "USER_DEACTIVATED",
        PermissionChanged => "PERMISSION_CHANGED",
        SessionEnded => "SESSION_ENDED",
        PasswordChanged => "PASSWORD_CHANGED",
        PasswordResetRequested => "PASSWORD_RESET_REQUESTED",
        PasswordReset => "PASSWORD_RESET",
        MfaEnabled => "MFA_ENABLED",
        MfaDisabled => "MFA_DISABLED",
        MfaFailed => "MFA_FAILED",
        MfaRecoveryCodeUsed => "MFA_RECOVERY_CODE_USED",
        SecurityPolicyChanged => "SECURITY_POLICY_CHANGED",
        UserErased => "USER_ERASED",
    }
);

/// The `source` of this service's events.
pub const SOURCE: &str = <AuthEvent as events::EventType>::SOURCE;

/// One rate limit to check: hits of `key` allowed per `window`, `0` meaning off.
pub struct Limit {
    pub key: String,
    pub per_window: u64,
    pub window: std::time::Duration,
}

/// Counts a hit on each limit, in order; the first one exceeded refuses the request
/// (429 `RateLimited` naming `what`, with `Retry-After` and the `RateLimit-*` headers).
/// Otherwise, the standing against the tightest of them, for the answer's headers.
pub async fn check_limits(
    state: &AppState,
    what: &'static str,
    limits: Vec<Limit>,
) -> Result<Option<service_runtime::http::Quota>, crate::error::AuthError> {
    use service_runtime::http::Quota;
    let mut tightest: Option<Quota> = None;
    for limit in limits {
        if limit.per_window == 0 {
            continue;
        }
        let (hits, left) = state.tokens.hit(&limit.key, limit.window).await?;
        let reset = left.as_secs().max(1);
        if hits > limit.per_window {
            return Err(crate::error::AuthError::RateLimited {
                what,
                seconds: reset,
                limit: limit.per_window,
            });
        }
        let quota = Quota {
            limit: limit.per_window,
            remaining: limit.per_window - hits,
            reset,
        };
        tightest = Some(quota.tighter(tightest));
    }
    Ok(tightest)
}
