//! The Redis token store. Rotation runs as one Lua script, so the check of the current
//! token and its replacement are atomic across every auth replica; every key has a TTL,
//! so nothing outlives the token it is about.

use super::{
    Attempt, LOCKOUT_CHECK_SLOT, LockoutGate, Owner, RotateOutcome, Rotation, StoreError,
    TokenStore,
};
use auth_types::{SessionId, TokenId};
use deadpool_redis::{Config, Pool, Runtime};
use std::time::Duration;

/// KEYS[1] family hash {current, prev, prev_at, revoked, owner}; KEYS[2] the
/// rotated-token marker. ARGV: presented jti, next jti, grace (ms), ttl (s), owner. Time is
/// the Redis server's, so every replica judges the grace window alike. The grace covers
/// only the current token's immediate predecessor (a lost response, a second tab); any
/// other rotated token presented again revokes the family (RFC 9700 §4.14.2).
const ROTATE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = redis.call('HGET', KEYS[1], 'current')
if not current then return 'unknown' end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[5] then return 'unknown' end
if redis.call('HGET', KEYS[1], 'revoked') == '1' then return 'revoked' end
if current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', ARGV[2], 'prev', ARGV[1], 'prev_at', now)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('SET', KEYS[2], now, 'EX', ARGV[4])
  return 'rotated'
end
if not redis.call('GET', KEYS[2]) then return 'unknown' end
if redis.call('HGET', KEYS[1], 'prev') == ARGV[1]
   and now - tonumber(redis.call('HGET', KEYS[1], 'prev_at') or '0') <= tonumber(ARGV[3]) then
  return 'grace'
end
redis.call('HSET', KEYS[1], 'revoked', '1')
return 'reuse'
";

/// KEYS as ROTATE. ARGV: presented jti, next jti. Undoes a rotation while its successor
/// is unused: `presented` current again, its rotated marker gone. Answers 1 when undone.
const UNROTATE: &str = r"
if redis.call('HGET', KEYS[1], 'revoked') ~= '0' then return 0 end
if redis.call('HGET', KEYS[1], 'current') ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[1], 'prev') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'current', ARGV[1])
redis.call('HDEL', KEYS[1], 'prev', 'prev_at')
redis.call('DEL', KEYS[2])
return 1
";

/// KEYS[1] the account's hash {fails, locked_until}; KEYS[2] its checks in flight.
/// ARGV: threshold, slot ttl (s), state ttl (s). The lock is timed by the Redis server's
/// clock, so every replica agrees. Answers {0} check, {1, seconds} locked, {2} full.
const LOCKOUT_BEGIN: &str = r"
local now = tonumber(redis.call('TIME')[1])
local locked_until = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or '0')
if locked_until > now then return {1, locked_until - now} end
local fails = tonumber(redis.call('HGET', KEYS[1], 'fails') or '0')
local inflight = tonumber(redis.call('GET', KEYS[2]) or '0')
if fails + inflight >= tonumber(ARGV[1]) then return {2, 0} end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return {0, 0}
";

/// KEYS as LOCKOUT_BEGIN. ARGV: 1 success, 0 failure, 2 unchecked; threshold, lock (s),
/// state ttl (s). Answers 1 when this failure locked the account.
const LOCKOUT_SETTLE: &str = r"
local inflight = tonumber(redis.call('GET', KEYS[2]) or '0')
if inflight > 1 then redis.call('DECR', KEYS[2]) else redis.call('DEL', KEYS[2]) end
if ARGV[1] == '2' then return 0 end
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
  return 0
end
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
if fails >= tonumber(ARGV[2]) and tonumber(ARGV[3]) > 0 then
  local now = tonumber(redis.call('TIME')[1])
  redis.call('HSET', KEYS[1], 'fails', 0, 'locked_until', now + tonumber(ARGV[3]))
  return 1
end
return 0
";

/// How long failures are remembered without a new one (a lock lasts its own time).
const FAILURES_REMEMBERED: Duration = Duration::from_secs(24 * 3600);

pub struct RedisTokenStore {
    pool: Pool,
    prefix: String,
    rotate: redis::Script,
    unrotate: redis::Script,
    lockout_begin: redis::Script,
    lockout_settle: redis::Script,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs().max(1)
}

impl RedisTokenStore {
    /// `prefix` namespaces every key (one per deployment, or per test).
    pub fn new(url: &str, prefix: impl Into<String>) -> Result<Self, StoreError> {
        let pool = Config::from_url(url)
            .create_pool(Some(Runtime::Tokio1))
            .map_err(err)?;
        Ok(Self {
            pool,
            prefix: prefix.into(),
            rotate: redis::Script::new(ROTATE),
            unrotate: redis::Script::new(UNROTATE),
            lockout_begin: redis::Script::new(LOCKOUT_BEGIN),
            lockout_settle: redis::Script::new(LOCKOUT_SETTLE),
        })
    }

    async fn conn(&self) -> Result<deadpool_redis::Connection, StoreError> {
        self.pool.get().await.map_err(err)
    }

    // A family's keys share one hash tag, `{<family>}`: the rotation script and the
    // access check each touch two of them, which Redis Cluster allows only within a slot.

    fn family_key(&self, family: SessionId) -> String {
        format!("{}rt:{{{family}}}:fam", self.prefix)
    }

    fn rotated_key(&self, family: SessionId, jti: TokenId) -> String {
        format!("{}rt:{{{family}}}:used:{jti}", self.prefix)
    }

    /// An account's lockout keys, sharing one hash tag so a script may use both on Redis
    /// Cluster.
    fn lockout_keys(&self, account: &str) -> (String, String) {
        (
            format!("{}lock:{{{account}}}:state", self.prefix),
            format!("{}lock:{{{account}}}:inflight", self.prefix),
        )
    }

    fn denied_key(&self, family: SessionId, jti: TokenId) -> String {
        format!("{}rt:{{{family}}}:deny:{jti}", self.prefix)
    }
}

#[async_trait::async_trait]
impl TokenStore for RedisTokenStore {
    async fn begin_family(
        &self,
        family: SessionId,
        owner: Owner,
        first: TokenId,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.family_key(family);
        let mut conn = self.conn().await?;
        redis::pipe()
            .atomic()
            .hset_multiple(
                &key,
                &[
                    ("current", first.to_string()),
                    ("revoked", "0".to_owned()),
                    ("owner", owner.to_string()),
                ],
            )
            .ignore()
            .expire(&key, i64::try_from(ttl_secs(ttl)).unwrap_or(i64::MAX))
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)
    }

    async fn rotate(&self, r: Rotation) -> Result<RotateOutcome, StoreError> {
        let mut conn = self.conn().await?;
        let outcome: String = self
            .rotate
            .key(self.family_key(r.family))
            .key(self.rotated_key(r.family, r.presented))
            .arg(r.presented.to_string())
            .arg(r.next.to_string())
            .arg(r.grace.as_millis().to_string())
            .arg(ttl_secs(r.ttl))
            .arg(r.owner.to_string())
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        match outcome.as_str() {
            "rotated" => Ok(RotateOutcome::Rotated),
            "grace" => Ok(RotateOutcome::RecentlyRotated),
            "reuse" => Ok(RotateOutcome::ReuseDetected),
            "revoked" => Ok(RotateOutcome::Revoked),
            "unknown" => Ok(RotateOutcome::Unknown),
            other => Err(StoreError(format!("unexpected rotation answer '{other}'"))),
        }
    }

    async fn unrotate(
        &self,
        family: SessionId,
        presented: TokenId,
        next: TokenId,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let undone: i64 = self
            .unrotate
            .key(self.family_key(family))
            .key(self.rotated_key(family, presented))
            .arg(presented.to_string())
            .arg(next.to_string())
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(undone == 1)
    }

    async fn revoke_family(&self, family: SessionId, ttl: Duration) -> Result<(), StoreError> {
        let key = self.family_key(family);
        let mut conn = self.conn().await?;
        redis::pipe()
            .atomic()
            .hset(&key, "revoked", "1")
            .ignore()
            .expire(&key, i64::try_from(ttl_secs(ttl)).unwrap_or(i64::MAX))
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)
    }

    async fn deny_access_token(
        &self,
        family: SessionId,
        jti: TokenId,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        redis::cmd("SET")
            .arg(self.denied_key(family, jti))
            .arg("1")
            .arg("EX")
            .arg(ttl_secs(ttl))
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)
    }

    async fn is_access_revoked(
        &self,
        jti: TokenId,
        family: SessionId,
        owner: Owner,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let (denied, (revoked, issued_to)): (bool, (Option<String>, Option<String>)) =
            redis::pipe()
                .exists(self.denied_key(family, jti))
                .cmd("HMGET")
                .arg(self.family_key(family))
                .arg("revoked")
                .arg("owner")
                .query_async(&mut conn)
                .await
                .map_err(err)?;
        Ok(denied
            || revoked.as_deref() != Some("0")
            || issued_to.as_deref() != Some(owner.to_string().as_str()))
    }

    async fn hit(&self, key: &str, window: Duration) -> Result<(u64, Duration), StoreError> {
        let key = format!("{}rl:{key}", self.prefix);
        let mut conn = self.conn().await?;
        let (count, _, ttl): (u64, bool, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1u64)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(ttl_secs(window))
            .arg("NX")
            .ttl(&key)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        Ok((count, Duration::from_secs(u64::try_from(ttl).unwrap_or(0))))
    }

    async fn lockout_begin(
        &self,
        account: &str,
        threshold: u32,
    ) -> Result<LockoutGate, StoreError> {
        let (state, inflight) = self.lockout_keys(account);
        let mut conn = self.conn().await?;
        let (gate, seconds): (u8, u64) = self
            .lockout_begin
            .key(state)
            .key(inflight)
            .arg(threshold)
            .arg(ttl_secs(LOCKOUT_CHECK_SLOT))
            .arg(ttl_secs(FAILURES_REMEMBERED))
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(match gate {
            0 => LockoutGate::Check,
            1 => LockoutGate::Locked(Duration::from_secs(seconds)),
            _ => LockoutGate::Full,
        })
    }

    async fn lockout_settle(
        &self,
        account: &str,
        attempt: Attempt,
        threshold: u32,
        lock: Duration,
    ) -> Result<bool, StoreError> {
        let (state, inflight) = self.lockout_keys(account);
        let mut conn = self.conn().await?;
        let locked: u8 = self
            .lockout_settle
            .key(state)
            .key(inflight)
            .arg(match attempt {
                Attempt::Failed => 0u8,
                Attempt::Succeeded => 1,
                Attempt::Unchecked => 2,
            })
            .arg(threshold)
            .arg(lock.as_secs())
            .arg(ttl_secs(FAILURES_REMEMBERED.max(lock)))
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(locked == 1)
    }

    async fn lockout_clear(&self, account: &str) -> Result<(), StoreError> {
        let (state, inflight) = self.lockout_keys(account);
        let mut conn = self.conn().await?;
        redis::cmd("DEL")
            .arg(state)
            .arg(inflight)
            .query_async::<u64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(err)
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}
