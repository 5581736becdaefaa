//! Passwords: the policy for new ones, argon2id hashing (OWASP parameters) on a fixed
//! pool of hashing threads that each reuse one argon2 memory block, bcrypt hashes still
//! verified and flagged for re-hashing, and a dummy verification for unknown users so
//! every failed login costs the same.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// The security document's policy: 8–128 characters with an upper-case letter, a
/// lower-case letter and a digit.
pub fn check_policy(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(format!("must be {MIN_LEN} to {MAX_LEN} characters long"));
    }
    let has = |f: fn(char) -> bool| password.chars().any(f);
    if !(has(char::is_uppercase) && has(char::is_lowercase) && has(|c| c.is_ascii_digit())) {
        return Err("must contain an upper-case letter, a lower-case letter and a digit".into());
    }
    Ok(())
}

/// Hashes that may wait for a hashing thread by default (`PASSWORD_HASH_QUEUE`).
pub const DEFAULT_QUEUE: usize = 32;

/// The largest argon2 memory a stored hash may ask for (256 MiB): a verification that
/// would need more fails instead of exhausting the process.
const MAX_BLOCKS: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing thread stopped")]
    Lost,
    #[error("password hashing pool closed")]
    Closed,
    /// Every hashing thread is busy and the queue in front of them is full.
    #[error("password hashing is overloaded")]
    Busy,
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes { needs_rehash: bool },
}

/// One unit of work for a hashing thread, given that thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// A hashing thread's argon2 working memory: allocated at its first hash, at the size of
/// the current parameters (19 MiB), and reused by every hash after it; the memory of
/// the auth process stays flat however many sign-ins it serves.
struct Memory {
    blocks: Vec<Block>,
    allocations: Arc<AtomicUsize>,
}

impl Memory {
    /// Memory for one hash outside the pool (the dummy hash made at start).
    fn scratch() -> Self {
        Self {
            blocks: Vec::new(),
            allocations: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// `n` blocks of this thread's memory; a stored hash asking for more than the thread
    /// keeps gets its own, freed once it is checked (at most [`MAX_BLOCKS`]).
    fn blocks(&mut self, n: usize) -> Result<MemoryFor<'_>, HashError> {
        if n > MAX_BLOCKS {
            return Err(HashError::Hash(format!(
                "{n} KiB of argon2 memory asked for"
            )));
        }
        let kept = Params::DEFAULT.block_count();
        if n <= kept && self.blocks.len() < n {
            self.blocks = vec![Block::new(); kept];
            self.allocations.fetch_add(1, Ordering::SeqCst);
        }
        Ok(match self.blocks.get_mut(..n) {
            Some(kept) => MemoryFor::Kept(kept),
            None => MemoryFor::Own(vec![Block::new(); n]),
        })
    }
}

enum MemoryFor<'a> {
    Kept(&'a mut [Block]),
    Own(Vec<Block>),
}

impl AsMut<[Block]> for MemoryFor<'_> {
    fn as_mut(&mut self) -> &mut [Block] {
        match self {
            Self::Kept(b) => b,
            Self::Own(v) => v,
        }
    }
}

/// A fixed set of hashing threads behind a bounded queue.
struct Pool {
    jobs: SyncSender<Job>,
    threads: usize,
    allocations: Arc<AtomicUsize>,
}

impl Pool {
    fn start(threads: usize, queue: usize) -> Result<Self, HashError> {
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<Job>(queue);
        let inbox = Arc::new(Mutex::new(inbox));
        let allocations = Arc::new(AtomicUsize::new(0));
        for n in 0..threads {
            let inbox = inbox.clone();
            let mut memory = Memory {
                blocks: Vec::new(),
                allocations: allocations.clone(),
            };
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    yield_to_everything_else();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match inbox.lock() {
                            Ok(inbox) => inbox.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            // Every sender is gone: the service stopped.
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| HashError::Hash(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Self {
            jobs,
            threads,
            allocations,
        })
    }

    /// Runs `work` on a hashing thread; `Busy` at once when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller may have gone (a client that hung up); the result is dropped.
            let _ = tx.send(work(memory));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => HashError::Busy,
            TrySendError::Disconnected(_) => HashError::Closed,
        })?;
        rx.await.map_err(|_closed| HashError::Lost)
    }
}

/// On Linux a hashing thread runs under `SCHED_IDLE`: it gets the cores only when no
/// request handler wants them, so a burst of sign-ins uses every idle cycle without
/// slowing the service's other requests (its share of the CPU gives way to theirs).
/// Lowering one's own priority needs no privilege; where it fails the thread runs at the
/// normal priority.
#[cfg(target_os = "linux")]
fn yield_to_everything_else() {
    use thread_priority::unix::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(e) = set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        idle,
    ) {
        tracing::debug!(error = ?e, "could not lower the hashing thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_to_everything_else() {}

#[derive(Clone)]
pub struct Passwords {
    /// A hash of a random password, verified against when the email is unknown.
    dummy_hash: Arc<str>,
    pool: Arc<Pool>,
}

impl Passwords {
    pub fn new() -> Result<Self, HashError> {
        Self::with_pool(default_threads(), DEFAULT_QUEUE)
    }

    /// `threads` hashing threads (`PASSWORD_HASH_THREADS`) behind a queue of `max_waiting`.
    pub fn with_pool(threads: usize, max_waiting: usize) -> Result<Self, HashError> {
        let pool = Arc::new(Pool::start(threads.max(1), max_waiting)?);
        let dummy = uuid::Uuid::new_v4().to_string();
        let dummy_hash = hash_blocking(&mut Memory::scratch(), dummy.as_bytes())?;
        Ok(Self {
            dummy_hash: dummy_hash.into(),
            pool,
        })
    }

    /// A new argon2id hash in PHC format.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        self.pool
            .run(move |memory| hash_blocking(memory, password.expose_secret().as_bytes()))
            .await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no
    /// user, so that both paths take the same time. A malformed stored hash never matches.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let verified = self
            .pool
            .run(move |memory| verify_blocking(memory, password.expose_secret(), &stored))
            .await?;
        Ok(if known { verified } else { Verified::No })
    }

    /// How many hashing threads there are, and how many argon2 memory blocks they have
    /// allocated so far (each at most once).
    pub fn pool_size(&self) -> (usize, usize) {
        (
            self.pool.threads,
            self.pool.allocations.load(Ordering::SeqCst),
        )
    }
}

/// One hashing thread per core: they run only on cycles nothing else wants (see
/// [`yield_to_everything_else`]).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

fn hash_blocking(memory: &mut Memory, password: &[u8]) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError::Hash(e.to_string());
    let params = Params::DEFAULT;
    let salt = argon2::password_hash::try_generate_salt().map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon
        .hash_password_into_with_memory(
            password,
            &salt,
            &mut out,
            memory.blocks(params.block_count())?,
        )
        .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

fn verify_blocking(memory: &mut Memory, password: &str, stored: &str) -> Verified {
    if stored.starts_with("$2") {
        // bcrypt reads only the first 72 bytes: a longer password would match any that
        // shares them. It never verifies (the user resets it); argon2 hashes have no limit.
        if password.len() > 72 {
            return Verified::No;
        }
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verified::Yes { needs_rehash: true },
            Ok(false) | Err(_) => Verified::No,
        };
    }
    let Ok(hash) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Verified::No;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        Params::try_from(&hash),
    ) else {
        return Verified::No;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return Verified::No,
    };
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return Verified::No;
    };
    let Ok(blocks) = memory.blocks(params.block_count()) else {
        return Verified::No;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), out, blocks)
        .is_err()
    {
        return Verified::No;
    }
    // `Output`'s equality is constant-time.
    if Output::new(out).ok().as_ref() != Some(expected) {
        return Verified::No;
    }
    let current = algorithm == Algorithm::Argon2id
        && params.m_cost() == Params::DEFAULT_M_COST
        && params.t_cost() == Params::DEFAULT_T_COST
        && params.p_cost() == Params::DEFAULT_P_COST;
    Verified::Yes {
        needs_rehash: !current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn the_policy_wants_length_and_three_classes() {
        assert!(check_policy("Passw0rd").is_ok());
        assert!(check_policy("Pa0").is_err());
        assert!(check_policy("password1").is_err());
        assert!(check_policy("PASSWORD1").is_err());
        assert!(check_policy("Password").is_err());
        assert!(check_policy(&format!("Aa1{}", "x".repeat(126))).is_err());
    }

    #[tokio::test]
    async fn argon2id_hashes_verify_and_are_current() {
        let p = Passwords::new().unwrap();
        let hash = p.hash(secret("Correct1horse")).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            p.verify(secret("Correct1horse"), Some(hash.clone()))
                .await
                .unwrap(),
            Verified::Yes {
                needs_rehash: false
            }
        );
        assert_eq!(
            p.verify(secret("wrong"), Some(hash)).await.unwrap(),
            Verified::No
        );
    }

    #[tokio::test]
    async fn bcrypt_hashes_verify_and_ask_for_a_rehash() {
        let p = Passwords::new().unwrap();
        let legacy = bcrypt::hash("Legacy1pass", 4).unwrap();
        assert_eq!(
            p.verify(secret("Legacy1pass"), Some(legacy.clone()))
                .await
                .unwrap(),
            Verified::Yes { needs_rehash: true }
        );
        assert_eq!(
            p.verify(secret("Legacy1pasS"), Some(legacy)).await.unwrap(),
            Verified::No
        );
    }

    #[tokio::test]
    async fn a_password_past_72_bytes_never_verifies_against_bcrypt() {
        let p = Passwords::new().unwrap();
        let long = format!("Legacy1{}", "x".repeat(80));
        // bcrypt itself reads 72 bytes, so both of these would match the stored hash.
        let legacy = bcrypt::hash(&long, 4).unwrap();
        let same_prefix = format!("{}DIFFERENT", &long[..72]);
        for attempt in [long.clone(), same_prefix] {
            assert_eq!(
                p.verify(secret(&attempt), Some(legacy.clone()))
                    .await
                    .unwrap(),
                Verified::No
            );
        }
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies_and_garbage_never_matches() {
        let p = Passwords::new().unwrap();
        assert_eq!(
            p.verify(secret("anything"), None).await.unwrap(),
            Verified::No
        );
        assert_eq!(
            p.verify(secret("anything"), Some("not-a-hash".into()))
                .await
                .unwrap(),
            Verified::No
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_busy_at_once_and_frees_its_places() {
        let p = Passwords::with_pool(1, 1).unwrap();
        // The one thread held, one hash waiting: the next is refused without waiting.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let blocker = {
            let p = p.clone();
            tokio::spawn(async move {
                p.pool
                    .run(move |_| {
                        let _ = started.send(());
                        let _ = held.recv();
                    })
                    .await
            })
        };
        running.await.unwrap();
        // One job waiting in the queue (put there directly, so nothing races for it).
        let (ran, queued_ran) = tokio::sync::oneshot::channel::<()>();
        let queued: Job = Box::new(move |_| {
            let _ = ran.send(());
        });
        assert!(p.pool.jobs.try_send(queued).is_ok());
        // Thread busy, queue full: refused without waiting for either.
        let refused = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            p.hash(secret("Pass-word1")),
        )
        .await
        .expect("answered without waiting for the thread");
        assert!(matches!(refused, Err(HashError::Busy)));
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        queued_ran.await.unwrap();
        assert!(p.hash(secret("Pass-word1")).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_concurrent_hashes_reuse_each_threads_memory() {
        let p = Passwords::with_pool(2, 64).unwrap();
        let hashes = (0..50).map(|i| p.hash(secret(&format!("Pass-word{i}"))));
        let hashes = futures_util::future::join_all(hashes).await;
        let verifies = hashes.iter().enumerate().map(|(i, h)| {
            p.verify(
                secret(&format!("Pass-word{i}")),
                Some(h.as_ref().unwrap().clone()),
            )
        });
        for v in futures_util::future::join_all(verifies).await {
            assert_eq!(
                v.unwrap(),
                Verified::Yes {
                    needs_rehash: false
                }
            );
        }
        let (threads, allocations) = p.pool_size();
        assert_eq!(threads, 2);
        assert!(
            (1..=2).contains(&allocations),
            "{allocations} blocks allocated"
        );
        // The hashing threads give way to every other thread of the process.
        #[cfg(target_os = "linux")]
        {
            use thread_priority::unix::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
            let policy = p
                .pool
                .run(|_| thread_priority::unix::thread_schedule_policy())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                policy,
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
            );
        }
    }

    #[tokio::test]
    async fn hashes_of_other_parameters_verify_and_ask_for_a_rehash() {
        let p = Passwords::with_pool(1, 4).unwrap();
        // Made by the argon2 crate itself, with smaller memory and argon2i: the pool's
        // verification reads the parameters from the hash.
        use argon2::password_hash::PasswordHasher;
        let params = Params::new(4096, 3, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
            .hash_password(b"Other1pass")
            .unwrap()
            .to_string();
        assert_eq!(
            p.verify(secret("Other1pass"), Some(other.clone()))
                .await
                .unwrap(),
            Verified::Yes { needs_rehash: true }
        );
        assert_eq!(
            p.verify(secret("Other1pasS"), Some(other)).await.unwrap(),
            Verified::No
        );
        // A hash of ours verifies with the crate's own verifier too.
        use argon2::password_hash::PasswordVerifier;
        let ours = p.hash(secret("Ours1pass")).await.unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Ours1pass", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
    }
}
