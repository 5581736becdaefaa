//! Passwords: the policy for new ones, argon2id hashing (OWASP parameters) off the
//! async workers, bcrypt hashes still verified and flagged for re-hashing, and a dummy
//! verification for unknown users so every failed login costs the same.

use argon2::{Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::Semaphore;

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

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("password hashing pool closed")]
    Closed,
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes { needs_rehash: bool },
}

#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    /// A hash of a random password, verified against when the email is unknown.
    dummy_hash: Arc<str>,
    /// Bounds concurrent hashes: each takes 19 MiB and a core for tens of milliseconds.
    permits: Arc<Semaphore>,
}

impl Passwords {
    pub fn new() -> Result<Self, HashError> {
        let argon = Argon2::default();
        let dummy = uuid::Uuid::new_v4().to_string();
        let dummy_hash = argon
            .hash_password(dummy.as_bytes())
            .map_err(|e| HashError::Hash(e.to_string()))?
            .to_string();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            argon,
            dummy_hash: dummy_hash.into(),
            permits: Arc::new(Semaphore::new(workers * 2)),
        })
    }

    /// A new argon2id hash in PHC format.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let argon = self.argon.clone();
        self.blocking(move || {
            argon
                .hash_password(password.expose_secret().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Hash(e.to_string()))
        })
        .await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no
    /// user, so that both paths take the same time. A malformed stored hash never matches.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let argon = self.argon.clone();
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let verified = self
            .blocking(move || verify_blocking(&argon, password.expose_secret(), &stored))
            .await?;
        Ok(if known { verified } else { Verified::No })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Closed)?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

fn verify_blocking(argon: &Argon2<'_>, password: &str, stored: &str) -> Verified {
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
    if argon.verify_password(password.as_bytes(), &hash).is_err() {
        return Verified::No;
    }
    let current = hash.algorithm.as_str() == argon2::ARGON2ID_IDENT.as_str()
        && Params::try_from(&hash).is_ok_and(|p| {
            p.m_cost() == Params::DEFAULT_M_COST
                && p.t_cost() == Params::DEFAULT_T_COST
                && p.p_cost() == Params::DEFAULT_P_COST
        });
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
}
