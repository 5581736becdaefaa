//! The introspection client every service but auth uses: asks auth over gRPC whether a
//! token is active and caches the answer briefly: at most the configured time (≤ 1 s by
//! default), never past the token's own expiry, and negative answers for a quarter of
//! it. So a logout, deactivation or permission change counts everywhere within about a
//! second, while a burst of requests with one token costs one call.

use crate::{CompanyId, Page, PagePermissions, Principal, Role, SessionId, TokenId, UserId};
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

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
    cache: Cache<Arc<str>, Answer>,
    ttl: Duration,
    stats: Arc<CacheStats>,
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
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| ConfigError::invalid("AUTH_GRPC_URL", e.to_string()))?
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(3));
        let grpc = AuthServiceClient::with_interceptor(
            endpoint.connect_lazy(),
            PresentCredential::new(key)?,
        );
        Ok(Self {
            grpc,
            cache: Cache::builder()
                .max_capacity(100_000)
                .expire_after(AnswerExpiry)
                .build(),
            ttl,
            stats: Arc::default(),
        })
    }

    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// The principal the token speaks for, `None` for a token that is not active.
    pub async fn introspect(&self, token: &str) -> Result<Option<Principal>, IntrospectError> {
        let key: Arc<str> = Arc::from(token);
        // A hit is an answer already there; a caller that waits for another's call in
        // flight (concurrent misses are coalesced into one) paid a round trip: a miss.
        if let Some(answer) = self.cache.get(&key).await {
            self.count(true);
            return Ok(answer.principal);
        }
        let answer = self
            .cache
            .entry(key)
            .or_try_insert_with(self.ask(token))
            .await
            .map_err(|e| (*e).clone())?
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
            id: UserId(
                platform_proto::conversions::uuid("id", &u.id)
                    .map_err(|e| format!("lookup: {e}"))?,
            ),
            role: u.role.parse().map_err(|e| format!("lookup: {e}"))?,
            email: u.email,
            full_name: u.full_name,
            is_active: u.is_active,
        })
    }
}

/// Reads an active answer; a malformed one is auth's fault and is not trusted.
fn principal_of(r: IntrospectResponse) -> Result<Principal, String> {
    let uuid = |name: &'static str, raw: &str| {
        platform_proto::conversions::uuid(name, raw).map_err(|e| format!("introspection: {e}"))
    };
    let role: Role = r.role.parse().map_err(|e| format!("introspection: {e}"))?;
    let pages = r
        .permissions
        .iter()
        .filter_map(|(name, allowed)| name.parse::<Page>().ok().map(|p| (p, *allowed)));
    Ok(Principal {
        user_id: UserId(uuid("sub", &r.sub)?),
        company_id: CompanyId(uuid("company_id", &r.company_id)?),
        role,
        permissions: PagePermissions::effective(role, pages),
        session_id: SessionId(uuid("session_id", &r.session_id)?),
        token_id: TokenId(uuid("jti", &r.jti)?),
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
