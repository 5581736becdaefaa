//! The in-process token store of the embedded default. Same state machine as the Redis
//! Lua script; a mutex makes each operation atomic.

use super::{
    Attempt, LOCKOUT_CHECK_SLOT, LockoutGate, Owner, RotateOutcome, Rotation, StoreError,
    TokenStore,
};
use auth_types::{SessionId, TokenId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Family {
    /// `None` for a family revoked before this store knew it.
    owner: Option<Owner>,
    current: TokenId,
    /// The current token's immediate predecessor and when it was rotated: the only
    /// token the grace window covers.
    prev: Option<(TokenId, Instant)>,
    revoked: bool,
    expires: Instant,
}

/// One account's failed passwords, its lock, and its checks in flight (each until when
/// its slot counts).
#[derive(Default)]
struct Lockout {
    fails: u32,
    locked_until: Option<Instant>,
    inflight: Vec<Instant>,
    touched: Option<Instant>,
}

#[derive(Default)]
struct State {
    families: HashMap<SessionId, Family>,
    /// Rotated refresh tokens, and until when to remember them.
    rotated: HashMap<TokenId, Instant>,
    denied: HashMap<TokenId, Instant>,
    /// Rate-limit windows: hits and when the window ends.
    hits: HashMap<String, (u64, Instant)>,
    lockouts: HashMap<String, Lockout>,
    last_sweep: Option<Instant>,
}

impl State {
    /// Drops expired entries at most once a minute, so memory follows live sessions.
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(60))
        {
            return;
        }
        self.last_sweep = Some(now);
        self.families.retain(|_, f| f.expires > now);
        self.rotated.retain(|_, until| *until > now);
        self.denied.retain(|_, until| *until > now);
        self.hits.retain(|_, (_, until)| *until > now);
        self.lockouts.retain(|_, l| {
            l.locked_until.is_some_and(|t| t > now)
                || l.touched
                    .is_some_and(|t| now.duration_since(t) < Duration::from_secs(24 * 3600))
        });
    }
}

#[derive(Default)]
pub struct MemoryTokenStore {
    state: Mutex<State>,
}

impl MemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State, Instant) -> T) -> Result<T, StoreError> {
        let now = Instant::now();
        let mut state = self
            .state
            .lock()
            .map_err(|e| StoreError(format!("in-process token store is poisoned: {e}")))?;
        state.sweep(now);
        Ok(f(&mut state, now))
    }
}

#[async_trait::async_trait]
impl TokenStore for MemoryTokenStore {
    async fn begin_family(
        &self,
        family: SessionId,
        owner: Owner,
        first: TokenId,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.with(|s, now| {
            s.families.insert(
                family,
                Family {
                    owner: Some(owner),
                    current: first,
                    prev: None,
                    revoked: false,
                    expires: now + ttl,
                },
            );
        })
    }

    async fn rotate(&self, r: Rotation) -> Result<RotateOutcome, StoreError> {
        self.with(|s, now| {
            let Some(fam) = s
                .families
                .get_mut(&r.family)
                .filter(|f| f.expires > now && f.owner == Some(r.owner))
            else {
                return RotateOutcome::Unknown;
            };
            if fam.revoked {
                return RotateOutcome::Revoked;
            }
            if fam.current == r.presented {
                fam.current = r.next;
                fam.prev = Some((r.presented, now));
                fam.expires = now + r.ttl;
                s.rotated.insert(r.presented, now + r.ttl);
                return RotateOutcome::Rotated;
            }
            if !s.rotated.contains_key(&r.presented) {
                return RotateOutcome::Unknown;
            }
            match fam.prev {
                Some((prev, at)) if prev == r.presented && now.duration_since(at) <= r.grace => {
                    RotateOutcome::RecentlyRotated
                }
                Some(_) | None => {
                    fam.revoked = true;
                    RotateOutcome::ReuseDetected
                }
            }
        })
    }

    async fn unrotate(
        &self,
        family: SessionId,
        presented: TokenId,
        next: TokenId,
    ) -> Result<bool, StoreError> {
        self.with(|s, _| {
            let Some(fam) = s.families.get_mut(&family) else {
                return false;
            };
            let undo = !fam.revoked
                && fam.current == next
                && fam.prev.is_some_and(|(prev, _)| prev == presented);
            if undo {
                fam.current = presented;
                fam.prev = None;
                s.rotated.remove(&presented);
            }
            undo
        })
    }

    async fn revoke_family(&self, family: SessionId, ttl: Duration) -> Result<(), StoreError> {
        self.with(|s, now| {
            let fam = s.families.entry(family).or_insert(Family {
                owner: None,
                current: TokenId::new(),
                prev: None,
                revoked: true,
                expires: now + ttl,
            });
            fam.revoked = true;
        })
    }

    async fn deny_access_token(
        &self,
        _family: SessionId,
        jti: TokenId,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.with(|s, now| {
            s.denied.insert(jti, now + ttl);
        })
    }

    async fn is_access_revoked(
        &self,
        jti: TokenId,
        family: SessionId,
        owner: Owner,
    ) -> Result<bool, StoreError> {
        self.with(|s, now| {
            let denied = s.denied.get(&jti).is_some_and(|until| *until > now);
            let family_ok = s
                .families
                .get(&family)
                .is_some_and(|f| !f.revoked && f.expires > now && f.owner == Some(owner));
            denied || !family_ok
        })
    }

    async fn hit(&self, key: &str, window: Duration) -> Result<(u64, Duration), StoreError> {
        self.with(|s, now| {
            let entry = s.hits.entry(key.to_owned()).or_insert((0, now + window));
            if entry.1 <= now {
                *entry = (0, now + window);
            }
            entry.0 += 1;
            (entry.0, entry.1.saturating_duration_since(now))
        })
    }

    async fn lockout_begin(
        &self,
        account: &str,
        threshold: u32,
    ) -> Result<LockoutGate, StoreError> {
        self.with(|s, now| {
            let l = s.lockouts.entry(account.to_owned()).or_default();
            if let Some(until) = l.locked_until.filter(|t| *t > now) {
                return LockoutGate::Locked(until.saturating_duration_since(now));
            }
            l.inflight.retain(|until| *until > now);
            let taken = usize::try_from(l.fails).unwrap_or(usize::MAX) + l.inflight.len();
            if taken >= usize::try_from(threshold).unwrap_or(usize::MAX) {
                return LockoutGate::Full;
            }
            l.inflight.push(now + LOCKOUT_CHECK_SLOT);
            l.touched = Some(now);
            LockoutGate::Check
        })
    }

    async fn lockout_settle(
        &self,
        account: &str,
        attempt: Attempt,
        threshold: u32,
        lock: Duration,
    ) -> Result<bool, StoreError> {
        self.with(|s, now| {
            let l = s.lockouts.entry(account.to_owned()).or_default();
            if !l.inflight.is_empty() {
                l.inflight.remove(0);
            }
            l.touched = Some(now);
            if attempt == Attempt::Unchecked {
                return false;
            }
            if attempt == Attempt::Succeeded {
                l.fails = 0;
                l.locked_until = None;
                return false;
            }
            l.fails = l.fails.saturating_add(1);
            if l.fails >= threshold && !lock.is_zero() {
                l.fails = 0;
                l.locked_until = Some(now + lock);
                return true;
            }
            false
        })
    }

    async fn lockout_clear(&self, account: &str) -> Result<(), StoreError> {
        self.with(|s, _| {
            s.lockouts.remove(account);
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|_, _| ())
    }

    fn name(&self) -> &'static str {
        "token-store"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    /// The one user the tests' families are issued to.
    fn owner() -> Owner {
        Owner {
            user: auth_types::UserId(uuid::Uuid::from_u128(1)),
            company: auth_types::CompanyId(uuid::Uuid::from_u128(2)),
        }
    }

    fn rotation(family: SessionId, presented: TokenId, grace: Duration) -> Rotation {
        Rotation {
            family,
            owner: owner(),
            presented,
            next: TokenId::new(),
            grace,
            ttl: TTL,
        }
    }

    #[tokio::test]
    async fn rotation_follows_the_state_machine() {
        let store = MemoryTokenStore::new();
        let (family, first) = (SessionId::new(), TokenId::new());
        store
            .begin_family(family, owner(), first, TTL)
            .await
            .unwrap();

        let r1 = rotation(family, first, Duration::from_secs(5));
        assert_eq!(store.rotate(r1).await.unwrap(), RotateOutcome::Rotated);
        assert_eq!(
            store
                .rotate(rotation(family, first, Duration::from_secs(5)))
                .await
                .unwrap(),
            RotateOutcome::RecentlyRotated
        );
        assert_eq!(
            store
                .rotate(rotation(family, TokenId::new(), Duration::from_secs(5)))
                .await
                .unwrap(),
            RotateOutcome::Unknown
        );
        assert_eq!(
            store
                .rotate(rotation(SessionId::new(), first, Duration::from_secs(5)))
                .await
                .unwrap(),
            RotateOutcome::Unknown
        );

        assert_eq!(
            store
                .rotate(rotation(family, first, Duration::ZERO))
                .await
                .unwrap(),
            RotateOutcome::ReuseDetected
        );
        assert_eq!(
            store
                .rotate(rotation(family, r1.next, Duration::ZERO))
                .await
                .unwrap(),
            RotateOutcome::Revoked
        );
        assert!(
            store
                .is_access_revoked(TokenId::new(), family, owner())
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn access_tokens_are_revoked_one_by_one_or_with_their_family() {
        let store = MemoryTokenStore::new();
        let family = SessionId::new();
        store
            .begin_family(family, owner(), TokenId::new(), TTL)
            .await
            .unwrap();
        let (kept, denied) = (TokenId::new(), TokenId::new());
        store.deny_access_token(family, denied, TTL).await.unwrap();
        assert!(
            !store
                .is_access_revoked(kept, family, owner())
                .await
                .unwrap()
        );
        assert!(
            store
                .is_access_revoked(denied, family, owner())
                .await
                .unwrap()
        );
        // An unknown family fails closed.
        assert!(
            store
                .is_access_revoked(kept, SessionId::new(), owner())
                .await
                .unwrap()
        );
        store.revoke_family(family, TTL).await.unwrap();
        assert!(
            store
                .is_access_revoked(kept, family, owner())
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_family_answers_only_for_the_user_it_was_issued_to() {
        let store = MemoryTokenStore::new();
        let (family, first) = (SessionId::new(), TokenId::new());
        store
            .begin_family(family, owner(), first, TTL)
            .await
            .unwrap();
        let intruder = Owner {
            user: auth_types::UserId(uuid::Uuid::from_u128(3)),
            ..owner()
        };
        assert!(
            !store
                .is_access_revoked(TokenId::new(), family, owner())
                .await
                .unwrap()
        );
        assert!(
            store
                .is_access_revoked(TokenId::new(), family, intruder)
                .await
                .unwrap()
        );
        let mut forged = rotation(family, first, TTL);
        forged.owner = intruder;
        assert_eq!(store.rotate(forged).await.unwrap(), RotateOutcome::Unknown);
        // The real owner's token still rotates.
        assert_eq!(
            store.rotate(rotation(family, first, TTL)).await.unwrap(),
            RotateOutcome::Rotated
        );
    }

    #[tokio::test]
    async fn only_the_immediate_predecessor_gets_the_grace() {
        let store = MemoryTokenStore::new();
        let (family, t0) = (SessionId::new(), TokenId::new());
        store.begin_family(family, owner(), t0, TTL).await.unwrap();
        let grace = Duration::from_secs(30);
        let r1 = rotation(family, t0, grace);
        assert_eq!(store.rotate(r1).await.unwrap(), RotateOutcome::Rotated);
        assert_eq!(
            store.rotate(rotation(family, t0, grace)).await.unwrap(),
            RotateOutcome::RecentlyRotated
        );
        let r2 = rotation(family, r1.next, grace);
        assert_eq!(store.rotate(r2).await.unwrap(), RotateOutcome::Rotated);
        assert_eq!(
            store.rotate(rotation(family, t0, grace)).await.unwrap(),
            RotateOutcome::ReuseDetected
        );
        assert_eq!(
            store
                .rotate(rotation(family, r2.next, grace))
                .await
                .unwrap(),
            RotateOutcome::Revoked
        );
    }

    #[tokio::test]
    async fn entries_expire_with_their_ttl() {
        let store = MemoryTokenStore::new();
        let (family, first) = (SessionId::new(), TokenId::new());
        store
            .begin_family(family, owner(), first, Duration::from_millis(10))
            .await
            .unwrap();
        let jti = TokenId::new();
        store
            .deny_access_token(family, jti, Duration::from_millis(10))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            store
                .rotate(rotation(family, first, Duration::ZERO))
                .await
                .unwrap(),
            RotateOutcome::Unknown
        );
        {
            let mut state = store.state.lock().unwrap();
            state.last_sweep = None;
            state.sweep(Instant::now());
            assert!(state.families.is_empty() && state.denied.is_empty());
        }
    }

    #[tokio::test]
    async fn hits_count_within_a_window_and_start_over_after_it() {
        let store = MemoryTokenStore::new();
        let window = Duration::from_millis(50);
        assert_eq!(store.hit("k", window).await.unwrap().0, 1);
        let (n, left) = store.hit("k", window).await.unwrap();
        assert_eq!(n, 2);
        assert!(left <= window);
        assert_eq!(store.hit("other", window).await.unwrap().0, 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.hit("k", window).await.unwrap().0, 1);
    }

    #[tokio::test]
    async fn concurrent_checks_never_outrun_the_lockout_threshold() {
        let store = std::sync::Arc::new(MemoryTokenStore::new());
        let lock = Duration::from_secs(60);
        let gates = futures_util::future::join_all((0..50).map(|_| {
            let store = store.clone();
            async move { store.lockout_begin("a@b.example", 5).await.unwrap() }
        }))
        .await;
        let checks = gates.iter().filter(|g| **g == LockoutGate::Check).count();
        assert_eq!(checks, 5);
        assert!(
            gates
                .iter()
                .all(|g| matches!(g, LockoutGate::Check | LockoutGate::Full))
        );
        let mut locked = 0;
        for _ in 0..checks {
            if store
                .lockout_settle("a@b.example", Attempt::Failed, 5, lock)
                .await
                .unwrap()
            {
                locked += 1;
            }
        }
        assert_eq!(locked, 1, "the fifth failure locks, once");
        assert!(matches!(
            store.lockout_begin("a@b.example", 5).await.unwrap(),
            LockoutGate::Locked(d) if d <= lock
        ));
        store.lockout_clear("a@b.example").await.unwrap();
        assert_eq!(
            store.lockout_begin("a@b.example", 5).await.unwrap(),
            LockoutGate::Check
        );
        // A success forgets the failures.
        store
            .lockout_settle("a@b.example", Attempt::Succeeded, 5, lock)
            .await
            .unwrap();
        for _ in 0..4 {
            assert_eq!(
                store.lockout_begin("a@b.example", 5).await.unwrap(),
                LockoutGate::Check
            );
            assert!(
                !store
                    .lockout_settle("a@b.example", Attempt::Failed, 5, lock)
                    .await
                    .unwrap()
            );
        }
    }

    #[tokio::test]
    async fn an_unchecked_attempt_counts_neither_way() {
        let store = MemoryTokenStore::new();
        let lock = Duration::from_secs(60);
        for _ in 0..10 {
            assert_eq!(
                store.lockout_begin("a@b.example", 5).await.unwrap(),
                LockoutGate::Check
            );
            assert!(
                !store
                    .lockout_settle("a@b.example", Attempt::Unchecked, 5, lock)
                    .await
                    .unwrap()
            );
        }
        assert_eq!(
            store.lockout_begin("a@b.example", 5).await.unwrap(),
            LockoutGate::Check,
            "ten unchecked attempts lock nothing and hold no slot"
        );
    }
}
