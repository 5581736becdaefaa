//! The introspection client every service but auth uses: asks auth over gRPC whether a
//! token is active and caches the answer: at most the configured time (≤ 1 s by default),
//! never past the token's own expiry, negative answers for a quarter of it, and never once
//! auth's revocation feed names it (a logout, deactivation, role, page or password change
//! drops the entries it concerns at once: [`PrincipalCache`]). A burst of requests with
//! one token costs one call.

use crate::{CompanyId, Page, PagePermissions, Principal, Role, SessionId, UserId};
use events::revocation::{FeedEvent, Revocation};
use moka::Expiry;
use moka::future::Cache;
use platform_proto::auth::v1::auth_service_client::AuthServiceClient;
use platform_proto::auth::v1::{
    IntrospectRequest, IntrospectResponse, LookupUsersRequest, UserSummary,
};
use secrecy::SecretString;
use service_runtime::config::ConfigError;
use service_runtime::grpc::PresentCredential;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The longest a service may be configured to trust an answer.
pub use service_runtime::config::MAX_INTROSPECTION_CACHE as MAX_CACHE_TTL;

#[derive(Debug, Clone, thiserror::Error)]
pub enum IntrospectError {
    /// Auth did not answer, or answered with an error: the caller must fail closed.
    #[error("authentication service unavailable: {0}")]
    Unavailable(String),
}

impl From<IntrospectError> for service_runtime::error::Failure {
    fn from(e: IntrospectError) -> Self {
        match e {
            IntrospectError::Unavailable(cause) => {
                Self::unavailable("authentication service", cause)
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Answer {
    principal: Option<Principal>,
    ttl: Duration,
}

struct AnswerExpiry;

impl Expiry<Arc<str>, Answer> for AnswerExpiry {
    fn expire_after_create(
        &self,
        _key: &Arc<str>,
        value: &Answer,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Whether a cache kept on auth's revocation feed may keep anything, and a count of what
/// it heard: shared by every such cache ([`PrincipalCache`], auth's user records).
#[derive(Debug, Default)]
pub struct FeedGate {
    /// Whether the feed is connected: only then is anything kept.
    live: AtomicBool,
    /// Bumped by everything heard: an answer read across it is not kept.
    generation: AtomicU64,
}

impl FeedGate {
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// Read before fetching an answer, for [`FeedGate::may_keep`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether an answer fetched since `generation` may be kept: the feed is connected and
    /// nothing was heard meanwhile.
    pub fn may_keep(&self, generation: u64) -> bool {
        self.is_live() && self.generation() == generation
    }

    /// Applies `event`: `drop_all` when the feed (re)connects (the gate opens after it) or
    /// is lost (the gate closes before it), `drop` for what a revocation names.
    pub fn apply(&self, event: FeedEvent, drop_all: impl FnOnce(), drop: impl FnOnce(Revocation)) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        match event {
            FeedEvent::Connected => {
                drop_all();
                self.live.store(true, Ordering::SeqCst);
            }
            FeedEvent::Lost => {
                self.live.store(false, Ordering::SeqCst);
                drop_all();
            }
            FeedEvent::Revoked(revocation) => drop(revocation),
        }
    }
}

/// Who each recently seen token speaks for, kept in step with auth's revocation feed
/// (`events::revocation`): an entry goes the moment a revocation names its session or
/// user; everything goes when the feed (re)connects or is lost, and while it is lost
/// nothing is kept at all (every request asks), so a missed message cannot keep a revoked
/// token alive. Auth's own authenticated requests and every other service's use it.
pub struct PrincipalCache {
    cache: Cache<Arc<str>, Answer>,
    gate: FeedGate,
    stats: CacheStats,
}

impl Default for PrincipalCache {
    fn default() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(100_000)
                .expire_after(AnswerExpiry)
                .support_invalidation_closures()
                .build(),
            gate: FeedGate::default(),
            stats: CacheStats::default(),
        }
    }
}

impl PrincipalCache {
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// Whether entries are kept: the revocation feed is connected.
    pub fn is_live(&self) -> bool {
        self.gate.is_live()
    }

    /// Applies what the revocation feed heard.
    pub fn on_feed(&self, event: FeedEvent) {
        self.gate.apply(
            event,
            || self.cache.invalidate_all(),
            |revocation| match revocation {
                Revocation::Session(id) => {
                    let session = SessionId::from(id);
                    self.drop_where(move |p| p.session_id == session);
                }
                Revocation::User(id) => {
                    let user = UserId::from(id);
                    self.drop_where(move |p| p.user_id == user);
                }
            },
        );
        metrics::counter!("principal_cache_feed_total", "event" => match event {
            FeedEvent::Connected => "connected",
            FeedEvent::Lost => "lost",
            FeedEvent::Revoked(_) => "revoked",
        })
        .increment(1);
    }

    fn drop_where(&self, names: impl Fn(&Principal) -> bool + Send + Sync + 'static) {
        let dropped = self
            .cache
            .invalidate_entries_if(move |_, a| a.principal.as_ref().is_some_and(&names));
        if dropped.is_err() {
            // Cannot happen (closures are enabled above); be safe all the same.
            self.cache.invalidate_all();
        }
    }

    /// Who `token` speaks for: from the cache, or from `fetch` (its answer, and how long
    /// it may be kept), once for any number of concurrent callers with the same token
    /// (who then share its error).
    pub async fn resolve<E, Fut>(
        &self,
        token: &str,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Option<Principal>, Arc<E>>
    where
        E: Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(Option<Principal>, Duration), E>>,
    {
        if !self.is_live() {
            self.count(false);
            return fetch()
                .await
                .map(|(principal, _)| principal)
                .map_err(Arc::new);
        }
        let key: Arc<str> = Arc::from(token);
        // A hit is an answer already there; a caller that waits for another's call in
        // flight (concurrent misses are coalesced into one) paid a round trip: a miss.
        if let Some(answer) = self.cache.get(&key).await {
            self.count(true);
            return Ok(answer.principal);
        }
        let generation = self.gate.generation();
        let answer = self
            .cache
            .entry(key)
            .or_try_insert_with(async {
                let (principal, ttl) = fetch().await?;
                // A revocation heard meanwhile may concern this answer: keep it no time.
                let ttl = if self.gate.may_keep(generation) {
                    ttl
                } else {
                    Duration::ZERO
                };
                Ok(Answer { principal, ttl })
            })
            .await?
            .into_value();
        self.count(false);
        Ok(answer.principal)
    }

    fn count(&self, hit: bool) {
        let (counter, label) = if hit {
            (&self.stats.hits, "hit")
        } else {
            (&self.stats.misses, "miss")
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("introspection_cache_total", "result" => label).increment(1);
    }
}

/// Hits and misses since start, for the benchmark and `/metrics`.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

type Grpc = AuthServiceClient<InterceptedService<Channel, PresentCredential>>;

#[derive(Clone)]
pub struct IntrospectionClient {
    grpc: Grpc,
    cache: Arc<PrincipalCache>,
    ttl: Duration,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl IntrospectionClient {
    /// Connects lazily: a service starts even while auth is down, and answers 503 until it
    /// is back. `url` is auth's gRPC address, e.g. `http://auth:50051`.
    pub fn new(url: &str, key: &SecretString, ttl: Duration) -> Result<Self, ConfigError> {
        Self::with_tls(url, key, ttl, None)
    }

    /// [`Self::new`], over TLS for an `https://` URL, trusting `ca` (`GRPC_TLS_CA`).
    pub fn with_tls(
        url: &str,
        key: &SecretString,
        ttl: Duration,
        ca: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let endpoint = service_runtime::grpc::client_endpoint(url, "AUTH_GRPC_URL", ca)?;
        let grpc = AuthServiceClient::with_interceptor(
            endpoint.connect_lazy(),
            PresentCredential::new(key)?,
        );
        Ok(Self {
            grpc,
            cache: Arc::default(),
            ttl,
        })
    }

    pub fn stats(&self) -> &CacheStats {
        self.cache.stats()
    }

    /// Applies what auth's revocation feed heard to the cache (see [`PrincipalCache`]);
    /// until the feed first connects, nothing is cached.
    pub fn on_feed(&self, event: FeedEvent) {
        self.cache.on_feed(event);
    }

    /// Follows auth's revocation feed on `bus` until the returned guard is dropped.
    pub fn follow_revocations(
        &self,
        bus: &events::BusSettings,
    ) -> service_runtime::AbortOnDrop<()> {
        let cache = self.cache.clone();
        service_runtime::AbortOnDrop(events::revocation::listen(bus, move |e| {
            cache.on_feed(e);
        }))
    }

    /// The principal the token speaks for, `None` for a token that is not active.
    pub async fn introspect(&self, token: &str) -> Result<Option<Principal>, IntrospectError> {
        self.cache
            .resolve(token, || async {
                let answer = self.ask(token).await?;
                Ok((answer.principal, answer.ttl))
            })
            .await
            .map_err(|e: Arc<IntrospectError>| (*e).clone())
    }

    async fn ask(&self, token: &str) -> Result<Answer, IntrospectError> {
        let mut grpc = self.grpc.clone();
        let reply = grpc
            .introspect(IntrospectRequest { token: token.to_owned() })
            .await
            .map_err(|status| {
                metrics::counter!("introspection_calls_total", "outcome" => "error").increment(1);
                tracing::warn!(code = ?status.code(), message = status.message(), "introspection failed");
                IntrospectError::Unavailable(status.message().to_owned())
            })?
            .into_inner();
        metrics::counter!("introspection_calls_total", "outcome" => "ok").increment(1);
        if !reply.active {
            return Ok(Answer {
                principal: None,
                ttl: self.ttl / 4,
            });
        }
        let principal = principal_of(reply).map_err(IntrospectError::Unavailable)?;
        let left = u64::try_from(principal.expires_at - now_unix()).unwrap_or(0);
        Ok(Answer {
            ttl: self.ttl.min(Duration::from_secs(left)),
            principal: Some(principal),
        })
    }

    /// The users among `ids` that belong to `company` (inactive ones included, flagged).
    pub async fn lookup_users(
        &self,
        company: CompanyId,
        ids: &[UserId],
    ) -> Result<Vec<UserRef>, IntrospectError> {
        let mut grpc = self.grpc.clone();
        let reply = grpc
            .lookup_users(LookupUsersRequest {
                company_id: company.to_string(),
                user_ids: ids.iter().map(ToString::to_string).collect(),
            })
            .await
            .map_err(|s| IntrospectError::Unavailable(s.message().to_owned()))?;
        reply
            .into_inner()
            .users
            .into_iter()
            .map(UserRef::try_from)
            .collect::<Result<_, _>>()
            .map_err(IntrospectError::Unavailable)
    }
}

/// A user as auth's `LookupUsers` describes them, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub is_active: bool,
}

impl TryFrom<UserSummary> for UserRef {
    type Error = String;

    /// A malformed answer is auth's fault and is not trusted.
    fn try_from(u: UserSummary) -> Result<Self, String> {
        Ok(Self {
            id: platform_proto::conversions::id("id", &u.id).map_err(|e| format!("lookup: {e}"))?,
            role: u.role.parse().map_err(|e| format!("lookup: {e}"))?,
            email: u.email,
            full_name: u.full_name,
            is_active: u.is_active,
        })
    }
}

/// Reads an active answer; a malformed one is auth's fault and is not trusted.
fn principal_of(r: IntrospectResponse) -> Result<Principal, String> {
    fn id<T: From<uuid::Uuid>>(name: &'static str, raw: &str) -> Result<T, String> {
        platform_proto::conversions::id(name, raw).map_err(|e| format!("introspection: {e}"))
    }
    let role: Role = r.role.parse().map_err(|e| format!("introspection: {e}"))?;
    let pages = r
        .permissions
        .iter()
        .filter_map(|(name, allowed)| name.parse::<Page>().ok().map(|p| (p, *allowed)));
    Ok(Principal {
        user_id: id("sub", &r.sub)?,
        company_id: id("company_id", &r.company_id)?,
        role,
        permissions: PagePermissions::effective(role, pages),
        session_id: id("session_id", &r.session_id)?,
        token_id: id("jti", &r.jti)?,
        issued_at: r.iat,
        expires_at: r.exp,
    })
}

/// Readiness: auth answers an authenticated call (an empty lookup).
pub struct AuthCheck(pub IntrospectionClient);

#[async_trait::async_trait]
impl service_runtime::health::ReadinessCheck for AuthCheck {
    fn name(&self) -> &'static str {
        "auth"
    }

    async fn check(&self) -> Result<(), String> {
        self.0
            .lookup_users(CompanyId(uuid::Uuid::nil()), &[])
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn principal(user: UserId, session: SessionId) -> Principal {
        Principal {
            user_id: user,
            company_id: CompanyId::from(uuid::Uuid::new_v4()),
            role: Role::Manager,
            permissions: PagePermissions::effective(Role::Manager, Vec::new()),
            session_id: session,
            token_id: crate::TokenId::from(uuid::Uuid::new_v4()),
            issued_at: 0,
            expires_at: i64::MAX,
        }
    }

    /// Resolves `token` to `p`, counting the fetches in `calls`.
    async fn resolve(cache: &PrincipalCache, token: &str, p: &Principal, calls: &AtomicUsize) {
        let got = cache
            .resolve(token, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>((Some(p.clone()), Duration::from_secs(60)))
            })
            .await;
        assert_eq!(got.ok().flatten().map(|g| g.user_id), Some(p.user_id));
    }

    #[tokio::test]
    async fn answers_are_kept_only_while_the_feed_is_heard_and_go_when_it_names_them() {
        let cache = PrincipalCache::default();
        let calls = AtomicUsize::new(0);
        let (alice, bob) = (
            UserId::from(uuid::Uuid::new_v4()),
            UserId::from(uuid::Uuid::new_v4()),
        );
        let (s1, s2) = (
            SessionId::from(uuid::Uuid::new_v4()),
            SessionId::from(uuid::Uuid::new_v4()),
        );
        let (a1, a2, b) = (
            principal(alice, s1),
            principal(alice, s2),
            principal(bob, s1),
        );
        let count = || calls.load(Ordering::SeqCst);

        // Before the feed first connects nothing is kept.
        resolve(&cache, "a1", &a1, &calls).await;
        resolve(&cache, "a1", &a1, &calls).await;
        assert_eq!(count(), 2);

        cache.on_feed(FeedEvent::Connected);
        resolve(&cache, "a1", &a1, &calls).await;
        resolve(&cache, "a1", &a1, &calls).await;
        resolve(&cache, "a2", &a2, &calls).await;
        resolve(&cache, "b", &b, &calls).await;
        assert_eq!(count(), 5, "one fetch each once live");

        // A session ended: its tokens go, the others stay.
        cache.on_feed(FeedEvent::Revoked(Revocation::Session(s2.into())));
        resolve(&cache, "a1", &a1, &calls).await;
        resolve(&cache, "a2", &a2, &calls).await;
        assert_eq!(count(), 6);
        // A user changed: every token of theirs goes.
        cache.on_feed(FeedEvent::Revoked(Revocation::User(alice.into())));
        resolve(&cache, "a1", &a1, &calls).await;
        resolve(&cache, "a2", &a2, &calls).await;
        resolve(&cache, "b", &b, &calls).await;
        assert_eq!(count(), 8);

        // The feed lost: nothing kept, every request asks.
        cache.on_feed(FeedEvent::Lost);
        resolve(&cache, "b", &b, &calls).await;
        resolve(&cache, "b", &b, &calls).await;
        assert_eq!(count(), 10);
        // Back: it starts empty and keeps again.
        cache.on_feed(FeedEvent::Connected);
        resolve(&cache, "b", &b, &calls).await;
        resolve(&cache, "b", &b, &calls).await;
        assert_eq!(count(), 11);
    }

    #[tokio::test]
    async fn an_answer_fetched_across_a_revocation_is_not_kept() {
        let cache = PrincipalCache::default();
        cache.on_feed(FeedEvent::Connected);
        let user = UserId::from(uuid::Uuid::new_v4());
        let p = principal(user, SessionId::from(uuid::Uuid::new_v4()));
        let calls = AtomicUsize::new(0);
        let got = cache
            .resolve("t", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                // The revocation arrives while auth is being asked.
                cache.on_feed(FeedEvent::Revoked(Revocation::User(user.into())));
                Ok::<_, String>((Some(p.clone()), Duration::from_secs(60)))
            })
            .await;
        assert!(got.is_ok());
        resolve(&cache, "t", &p, &calls).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "asked again");
    }
}
