//! The per-user limit on every authenticated API (`API_RATE_LIMIT_PER_MINUTE`, the
//! security document's "API 100/min"): each service counts a user's requests in a window
//! of a minute, in Redis so every replica of the service shares one budget
//! (`RATE_LIMIT_REDIS_URL`; auth counts in its token store), or in this process for the
//! embedded default. The extractor that authenticates a request counts it
//! ([`ApiRateLimit::check`]) and leaves the standing in the request's extensions;
//! [`quota_headers`] writes it as `RateLimit-*` headers on whatever the handler answers.
//!
//! A counter that does not answer (Redis down or slow) lets the request through, logged
//! and counted in `api_rate_limit_errors_total`: the limit protects the services, and
//! must not become the reason none of them answers.

use crate::config::{ConfigError, Env};
use crate::http::{Quota, detail};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The window of `API_RATE_LIMIT_PER_MINUTE`.
pub const WINDOW: Duration = Duration::from_secs(60);

/// How long a request waits for the counter before going on uncounted.
const COUNTER_TIMEOUT: Duration = Duration::from_millis(250);

/// The default of `API_RATE_LIMIT_PER_MINUTE` (the security document's figure).
pub const DEFAULT_PER_MINUTE: u64 = 100;

/// Counts hits in fixed windows that start at a key's first hit.
#[async_trait::async_trait]
pub trait Counter: Send + Sync {
    /// Counts one hit on `key`: how many the current window holds, and how long until it
    /// starts over.
    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<(u64, Duration)>;
}

/// Windows kept in this process (the embedded default, one replica).
#[derive(Default)]
pub struct LocalCounter {
    windows: Mutex<HashMap<String, (u64, Instant)>>,
}

/// Past this many keys, ended windows are swept before a new one is added.
const LOCAL_SWEEP_AT: usize = 10_000;

#[async_trait::async_trait]
impl Counter for LocalCounter {
    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<(u64, Duration)> {
        let now = Instant::now();
        // A panic elsewhere cannot leave a count half-written: keep counting.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= LOCAL_SWEEP_AT && !windows.contains_key(key) {
            windows.retain(|_, (_, ends)| *ends > now);
        }
        let entry = windows.entry(key.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 = entry.0.saturating_add(1);
        Ok((entry.0, entry.1.saturating_duration_since(now)))
    }
}

/// Windows kept in Redis under `prefix`, shared by every replica.
pub struct RedisCounter {
    pool: deadpool_redis::Pool,
    prefix: String,
}

impl RedisCounter {
    pub fn new(url: &str, prefix: impl Into<String>) -> anyhow::Result<Self> {
        let pool = deadpool_redis::Config::from_url(url)
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
        Ok(Self {
            pool,
            prefix: prefix.into(),
        })
    }
}

#[async_trait::async_trait]
impl Counter for RedisCounter {
    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<(u64, Duration)> {
        let key = format!("{}rl:{key}", self.prefix);
        let mut conn = self.pool.get().await?;
        let (count, _, ttl): (u64, bool, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1u64)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window.as_secs().max(1))
            .arg("NX")
            .ttl(&key)
            .query_async(&mut conn)
            .await?;
        Ok((count, Duration::from_secs(u64::try_from(ttl).unwrap_or(0))))
    }
}

/// A request over the limit: 429 with `Retry-After` and the `RateLimit-*` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exceeded {
    /// The limit, for `RateLimit-Limit`.
    pub limit: u64,
    /// Seconds until the window starts over.
    pub retry_after: u64,
}

impl Exceeded {
    /// The 429 answer, `{"detail": detail}`.
    pub fn response(&self, detail_text: impl Into<String>) -> HttpResponse {
        let mut res = detail(StatusCode::TOO_MANY_REQUESTS, detail_text);
        if let Ok(v) = HeaderValue::from_str(&self.retry_after.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        Quota {
            limit: self.limit,
            remaining: 0,
            reset: self.retry_after,
        }
        .apply(&mut res);
        res
    }
}

/// `API_RATE_LIMIT_PER_MINUTE` of one service, on its counter.
#[derive(Clone)]
pub struct ApiRateLimit {
    counter: Arc<dyn Counter>,
    per_minute: u64,
    service: &'static str,
}

impl std::fmt::Debug for ApiRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRateLimit")
            .field("per_minute", &self.per_minute)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl ApiRateLimit {
    /// `per_minute` requests a minute per user of `service` (0: no limit).
    pub fn new(counter: Arc<dyn Counter>, per_minute: u64, service: &'static str) -> Self {
        Self {
            counter,
            per_minute,
            service,
        }
    }

    /// Counts a request of `user`. Under the limit: the standing, for the answer's
    /// headers (none when there is no limit, or the counter did not answer).
    pub async fn check(&self, user: &impl std::fmt::Display) -> Result<Option<Quota>, Exceeded> {
        if self.per_minute == 0 {
            return Ok(None);
        }
        let key = format!("api:{}:{user}", self.service);
        let (hits, left) =
            match tokio::time::timeout(COUNTER_TIMEOUT, self.counter.hit(&key, WINDOW)).await {
                Ok(Ok(standing)) => standing,
                Ok(Err(e)) => return Ok(self.uncounted(&e.to_string())),
                Err(_) => return Ok(self.uncounted("timed out")),
            };
        let reset = left.as_secs().max(1);
        if hits > self.per_minute {
            metrics::counter!("api_rate_limited_total", "service" => self.service).increment(1);
            return Err(Exceeded {
                limit: self.per_minute,
                retry_after: reset,
            });
        }
        Ok(Some(Quota {
            limit: self.per_minute,
            remaining: self.per_minute - hits,
            reset,
        }))
    }

    fn uncounted(&self, error: &str) -> Option<Quota> {
        tracing::warn!(
            error,
            service = self.service,
            "rate-limit counter unavailable; request not counted"
        );
        metrics::counter!("api_rate_limit_errors_total", "service" => self.service).increment(1);
        None
    }
}

/// `API_RATE_LIMIT_PER_MINUTE`: 0 turns the limit off.
pub fn per_minute_from_env(env: &Env) -> Result<u64, ConfigError> {
    let n: u64 = env.parse_or("API_RATE_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE)?;
    if n > 1_000_000 {
        return Err(ConfigError::invalid(
            "API_RATE_LIMIT_PER_MINUTE",
            "must be 0 (off) to 1000000",
        ));
    }
    Ok(n)
}

/// How a service other than auth limits its API: the limit, and the Redis its replicas
/// share (`RATE_LIMIT_REDIS_URL`, keys under `RATE_LIMIT_KEY_PREFIX`); without one, the
/// count is kept in the process.
#[derive(Debug, Clone)]
pub struct ApiRateLimitSettings {
    pub per_minute: u64,
    pub redis_url: Option<SecretString>,
    pub key_prefix: String,
}

impl ApiRateLimitSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let redis_url = match env.get("RATE_LIMIT_REDIS_URL") {
            None => None,
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Some(SecretString::from(url.to_owned()))
            }
            Some(_) => {
                return Err(ConfigError::invalid(
                    "RATE_LIMIT_REDIS_URL",
                    "must be a redis:// or rediss:// URL",
                ));
            }
        };
        Ok(Self {
            per_minute: per_minute_from_env(env)?,
            redis_url,
            key_prefix: env
                .get("RATE_LIMIT_KEY_PREFIX")
                .unwrap_or("aip:")
                .to_owned(),
        })
    }

    /// The limit of `service` on the counter these settings name.
    pub fn build(&self, service: &'static str) -> anyhow::Result<ApiRateLimit> {
        let counter: Arc<dyn Counter> = match &self.redis_url {
            Some(url) => Arc::new(
                RedisCounter::new(url.expose_secret(), self.key_prefix.clone())
                    .map_err(|e| anyhow::anyhow!("RATE_LIMIT_REDIS_URL: {e}"))?,
            ),
            None => Arc::new(LocalCounter::default()),
        };
        Ok(ApiRateLimit::new(counter, self.per_minute, service))
    }
}

/// Leaves `quota` for [`quota_headers`] to write on the answer.
pub fn remember(req: &actix_web::HttpRequest, quota: Option<Quota>) {
    if let Some(q) = quota {
        req.extensions_mut().insert(q);
    }
}

/// Middleware: the standing an extractor left ([`remember`]) as `RateLimit-*` headers on
/// the answer, unless the handler already reported a tighter limit of its own.
pub async fn quota_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let quota = res.request().extensions().get::<Quota>().copied();
    if let Some(q) = quota {
        let headers = res.headers_mut();
        let tighter =
            Quota::from_headers(headers).is_none_or(|theirs| q.remaining < theirs.remaining);
        if tighter {
            q.apply_to(headers);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_window_counts_and_starts_over() {
        let c = LocalCounter::default();
        let w = Duration::from_millis(50);
        assert_eq!(c.hit("a", w).await.unwrap().0, 1);
        assert_eq!(c.hit("a", w).await.unwrap().0, 2);
        assert_eq!(c.hit("b", w).await.unwrap().0, 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(c.hit("a", w).await.unwrap().0, 1);
    }

    #[tokio::test]
    async fn a_limit_refuses_past_its_count_per_user() {
        let limit = ApiRateLimit::new(Arc::new(LocalCounter::default()), 2, "test");
        let q = limit.check(&"u1").await.unwrap().unwrap();
        assert_eq!((q.limit, q.remaining), (2, 1));
        assert_eq!(limit.check(&"u1").await.unwrap().unwrap().remaining, 0);
        let refused = limit.check(&"u1").await.unwrap_err();
        assert_eq!(refused.limit, 2);
        assert!((1..=60).contains(&refused.retry_after));
        assert_eq!(limit.check(&"u2").await.unwrap().unwrap().remaining, 1);
        let off = ApiRateLimit::new(Arc::new(LocalCounter::default()), 0, "test");
        assert_eq!(off.check(&"u1").await, Ok(None));
    }

    struct Broken;

    #[async_trait::async_trait]
    impl Counter for Broken {
        async fn hit(&self, _: &str, _: Duration) -> anyhow::Result<(u64, Duration)> {
            anyhow::bail!("connection refused")
        }
    }

    #[tokio::test]
    async fn a_counter_that_fails_lets_the_request_through_uncounted() {
        let limit = ApiRateLimit::new(Arc::new(Broken), 1, "test");
        for _ in 0..3 {
            assert_eq!(limit.check(&"u1").await, Ok(None));
        }
    }

    #[test]
    fn settings_name_the_variable() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.to_vec());
        let s = ApiRateLimitSettings::from_env(&env(&[])).unwrap();
        assert_eq!(s.per_minute, 100);
        assert!(s.redis_url.is_none());
        let e = ApiRateLimitSettings::from_env(&env(&[("RATE_LIMIT_REDIS_URL", "http://x")]))
            .unwrap_err();
        assert!(e.to_string().contains("RATE_LIMIT_REDIS_URL"), "{e}");
        let e = ApiRateLimitSettings::from_env(&env(&[("API_RATE_LIMIT_PER_MINUTE", "-1")]))
            .unwrap_err();
        assert!(e.to_string().contains("API_RATE_LIMIT_PER_MINUTE"), "{e}");
    }
}
