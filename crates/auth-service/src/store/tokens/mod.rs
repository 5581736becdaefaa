//! The token store: which refresh token is current in each session family, which were
//! rotated and when, which families and access tokens are revoked. One trait, two
//! implementations: Redis for deployments, in-process for the embedded default.

mod memory;
mod redis_store;

pub use memory::MemoryTokenStore;
pub use redis_store::RedisTokenStore;

use auth_types::{CompanyId, SessionId, TokenId, UserId};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("token store: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// The step that met the error, in front of it (`rotating the refresh token: ...`).
    pub fn during(self, step: &str) -> Self {
        Self(format!("{step}: {}", self.0))
    }
}

/// Who a session family was issued to. A token naming a family is accepted only when it
/// names the same user and company: with the signing key alone nobody can ride another
/// user's live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner {
    pub user: UserId,
    pub company: CompanyId,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.user, self.company)
    }
}

/// A request to replace the presented refresh token of a family by the next one.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub family: SessionId,
    /// Who the presented token names; another family's owner is refused.
    pub owner: Owner,
    pub presented: TokenId,
    pub next: TokenId,
    /// How long after its rotation a token is only refused rather than treated as stolen.
    pub grace: Duration,
    /// How long the family lives from now (the new refresh token's lifetime).
    pub ttl: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The presented token was current; `next` is current now.
    Rotated,
    /// The presented token was rotated moments ago (a retry or a second tab): refused,
    /// nothing revoked.
    RecentlyRotated,
    /// The presented token was rotated longer ago than the grace window: someone replays
    /// it. The whole family is now revoked.
    ReuseDetected,
    /// The family was revoked (logout, reuse, deactivation).
    Revoked,
    /// Neither the family nor the token is known (expired, or never issued here).
    Unknown,
}

/// How a reserved lockout check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Succeeded,
    Failed,
    /// The password was never checked: it counts neither way.
    Unchecked,
}

/// Whether a password may be checked against an account's hash now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockoutGate {
    /// Check it, then settle with [`TokenStore::lockout_settle`].
    Check,
    /// Locked for this long yet.
    Locked(Duration),
    /// The failures so far and the checks in flight reach the threshold: refused without
    /// hashing, so concurrent guesses cannot outrun the count.
    Full,
}

/// How long a reserved check may stay unsettled (a process that died mid-check) before
/// its slot counts no more.
pub const LOCKOUT_CHECK_SLOT: Duration = Duration::from_secs(30);

#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// Records the first refresh token of a new family.
    async fn begin_family(
        &self,
        family: SessionId,
        owner: Owner,
        first: TokenId,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Atomically rotates, detecting reuse. Of concurrent calls with one token exactly
    /// one sees `Rotated`.
    async fn rotate(&self, rotation: Rotation) -> Result<RotateOutcome, StoreError>;

    /// Takes back a rotation whose answer never reached the client (the database failed
    /// after it): `presented` is current again, so the client's retry is not taken for
    /// theft. Only while `next` is still current (nobody used it); true when undone.
    async fn unrotate(
        &self,
        family: SessionId,
        presented: TokenId,
        next: TokenId,
    ) -> Result<bool, StoreError>;

    /// Revokes a family: none of its refresh or access tokens is accepted afterwards.
    async fn revoke_family(&self, family: SessionId, ttl: Duration) -> Result<(), StoreError>;

    /// Denies one access token until it would have expired anyway.
    async fn deny_access_token(
        &self,
        family: SessionId,
        jti: TokenId,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Whether an access token may no longer be used: denied itself, its family revoked
    /// or unknown (fail closed when the store lost the family), or the family issued to
    /// someone other than the token names.
    async fn is_access_revoked(
        &self,
        jti: TokenId,
        family: SessionId,
        owner: Owner,
    ) -> Result<bool, StoreError>;

    /// Counts one hit on `key` in a fixed window starting at its first hit: the hits so
    /// far in the window, and how long until it ends.
    async fn hit(&self, key: &str, window: Duration) -> Result<(u64, Duration), StoreError>;

    /// Reserves one password check of `account`, atomically with the lock and the count:
    /// of any number of concurrent attempts at most `threshold` are ever checked.
    async fn lockout_begin(&self, account: &str, threshold: u32)
    -> Result<LockoutGate, StoreError>;

    /// Settles a reserved check: success clears the failures; a failure counts, and the
    /// one that reaches `threshold` locks the account for `lock` (answers `true`); an
    /// attempt never checked (hashing was overloaded) only gives its slot back.
    async fn lockout_settle(
        &self,
        account: &str,
        attempt: Attempt,
        threshold: u32,
        lock: Duration,
    ) -> Result<bool, StoreError>;

    /// Ends a lock and forgets the failures (an admin's unlock or password reset).
    async fn lockout_clear(&self, account: &str) -> Result<(), StoreError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The name operators know the store by, for readiness reports.
    fn name(&self) -> &'static str;
}

/// The token store as the counter of the API rate limit: the same windows (`hit`) the
/// sign-in limits use, so replicas share them through Redis.
pub struct Counting(pub std::sync::Arc<dyn TokenStore>);

#[async_trait::async_trait]
impl service_runtime::ratelimit::Counter for Counting {
    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<(u64, Duration)> {
        Ok(self.0.hit(key, window).await?)
    }
}
