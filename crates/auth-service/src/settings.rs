//! The auth service's settings, from the environment (TRD §8.1 names).

use secrecy::{ExposeSecret, SecretString};
use service_runtime::config::{ConfigError, Env};
use service_runtime::export::Peer;
use service_runtime::server::HttpSettings;
use std::net::SocketAddr;
use std::time::Duration;

/// The shortest signing key accepted: 256 bits.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

#[derive(Debug, Clone)]
pub enum TokenStoreSettings {
    Redis {
        url: SecretString,
        key_prefix: String,
    },
    /// The embedded default: revocations live in this process.
    InProcess,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub grpc_addr: SocketAddr,
    /// The credential other services present on gRPC calls.
    pub internal_key: SecretString,
    /// `INTERNAL_CALLERS`: each calling service's own credential (empty: the shared one).
    pub internal_callers: Vec<(String, SecretString)>,
    /// `GRPC_TLS_CERT` / `GRPC_TLS_KEY`: its gRPC server over TLS.
    pub grpc_tls: Option<service_runtime::grpc::ServerTls>,
    pub database_url: SecretString,
    pub db_max_connections: u32,
    pub token_store: TokenStoreSettings,
    pub secret_key: SecretString,
    /// The `iss` of every token (`TOKEN_ISSUER`), checked on every use.
    pub token_issuer: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub reuse_grace: Duration,
    /// Sign-ins that may wait for a hashing thread (`PASSWORD_HASH_QUEUE`); beyond, 503.
    pub password_hash_queue: usize,
    /// Hashing threads (`PASSWORD_HASH_THREADS`, one per core by default).
    pub password_hash_threads: usize,
    /// `SESSION_MAX_DAYS` and `SESSION_IDLE_MINUTES`.
    pub session: crate::domain::tokens::SessionLimits,
    /// Login attempts allowed per client address and account per minute; 0 turns the limit off.
    pub login_rate_limit: u64,
    /// Login attempts allowed per client address across all accounts per minute; 0: off.
    pub login_rate_limit_per_ip: u64,
    pub refresh_rate_limit: u64,
    pub refresh_rate_limit_per_ip: u64,
    /// Users a company may create per hour; 0 turns the limit off.
    pub user_creation_rate_limit: u64,
    /// Live sessions a user may hold (`MAX_SESSIONS_PER_USER`, 10; 0: no limit): a
    /// sign-in beyond it ends the least recently used.
    pub max_sessions_per_user: Option<usize>,
    /// Requests a minute per user on the authenticated API (`API_RATE_LIMIT_PER_MINUTE`).
    pub api_rate_limit: u64,
    /// How long who an access token speaks for is reused (`INTROSPECTION_CACHE_MS`).
    pub principal_ttl: Duration,
    /// Consecutive failed passwords that lock an account, and for how long; `None` when
    /// `LOCKOUT_MINUTES=0` turns lockout off.
    pub lockout: Option<crate::service::Lockout>,
    pub trusted_proxies: service_runtime::net::TrustedProxies,
    /// Where the outbox is published.
    pub bus: events::BusSettings,
    /// Passwords a user may not reuse (`PASSWORD_HISTORY`, 5; 0: no history).
    pub password_history: usize,
    /// How long a password lasts (`PASSWORD_MAX_AGE_DAYS`; unset: for ever).
    pub password_max_age: Option<Duration>,
    /// The page a reset mail links to (`PASSWORD_RESET_URL`), `?token=` appended.
    pub password_reset_url: String,
    /// Reset requests one client address may make an hour
    /// (`PASSWORD_RESET_RATE_LIMIT_PER_IP_PER_HOUR`, 10; 0: no limit).
    pub password_reset_rate_limit_per_ip: u64,
    /// The issuer authenticator apps show (`MFA_ISSUER`).
    pub mfa_issuer: String,
    /// How mail leaves (`SMTP_URL`, `MAIL_FROM`, `MAIL_DIR`, `SMTP_CA_FILE`).
    pub mail: MailSettings,
    /// The services a user's export gathers parts from (`INTERVIEW_HTTP_URL`,
    /// `SCORING_HTTP_URL`, `AUDIT_HTTP_URL`).
    pub export_peers: Vec<service_runtime::export::Peer>,
}

/// Where mail goes: an SMTP server, or without one `.eml` files in a directory.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp_url: Option<SecretString>,
    pub from: String,
    pub dir: std::path::PathBuf,
    pub ca_file: Option<std::path::PathBuf>,
}

/// The name authenticator apps show by default, and the default sender's name.
pub const PLATFORM_NAME: &str = "AI Interviewer Platform";

/// What the one-process binary uses for whatever the environment leaves unset.
#[derive(Debug, Clone)]
pub struct EmbeddedDefaults {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub internal_key: SecretString,
    pub database_url: String,
    pub secret_key: SecretString,
    /// Where mail is written without `SMTP_URL` (`<data dir>/mail`).
    pub mail_dir: std::path::PathBuf,
}

impl Settings {
    /// Reads the settings. Without `embedded`, `DATABASE_URL`, `REDIS_URL` and
    /// `SECRET_KEY` are required; with it, each one left unset takes its embedded value.
    pub fn from_env(env: &Env, embedded: Option<EmbeddedDefaults>) -> Result<Self, ConfigError> {
        let embedded_mode = embedded.is_some();
        if let Some(alg) = env.get("ALGORITHM")
            && alg != "HS256"
        {
            return Err(ConfigError::invalid(
                "ALGORITHM",
                format!("'{alg}': only HS256 is supported"),
            ));
        }
        let default_mail_dir = embedded
            .as_ref()
            .map_or_else(|| std::path::PathBuf::from("mail"), |d| d.mail_dir.clone());
        let internal_callers = service_runtime::config::internal_callers(env)?;
        // With a key for each caller the shared one has no use here: none is needed.
        let unused_shared = (!internal_callers.is_empty()).then(|| {
            use rand::RngCore;
            let mut bytes = [0u8; 24];
            rand::rng().fill_bytes(&mut bytes);
            SecretString::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        });
        let (database_url, token_store, secret_key, default_addr, default_grpc, internal_key) =
            match embedded {
                None => (
                    env.required("DATABASE_URL")?.to_owned(),
                    Some(env.required("REDIS_URL")?.to_owned()),
                    SecretString::from(env.required("SECRET_KEY")?.to_owned()),
                    SocketAddr::from(([0, 0, 0, 0], 8000)),
                    SocketAddr::from(([0, 0, 0, 0], 50051)),
                    internal_key(env, unused_shared)?,
                ),
                Some(d) => (
                    env.get("DATABASE_URL")
                        .map_or(d.database_url, str::to_owned),
                    env.get("REDIS_URL").map(str::to_owned),
                    env.get("SECRET_KEY")
                        .map_or(d.secret_key, |k| SecretString::from(k.to_owned())),
                    d.http_addr,
                    d.grpc_addr,
                    internal_key(env, Some(d.internal_key))?,
                ),
            };
        if secret_key.expose_secret().len() < MIN_SECRET_KEY_BYTES {
            return Err(ConfigError::invalid(
                "SECRET_KEY",
                format!("must be at least {MIN_SECRET_KEY_BYTES} bytes long"),
            ));
        }
        if let Some(why) = service_runtime::config::weak_secret(secret_key.expose_secret()) {
            return Err(ConfigError::invalid("SECRET_KEY", why));
        }
        let token_store = match token_store {
            Some(url) => TokenStoreSettings::Redis {
                url: SecretString::from(url),
                key_prefix: env.get("REDIS_KEY_PREFIX").unwrap_or("aip:").to_owned(),
            },
            None => TokenStoreSettings::InProcess,
        };
        let access_minutes: u64 = env.parse_or("ACCESS_TOKEN_EXPIRE_MINUTES", 15)?;
        let refresh_days: u64 = env.parse_or("REFRESH_TOKEN_EXPIRE_DAYS", 7)?;
        if !(1..=60).contains(&access_minutes) {
            return Err(ConfigError::invalid(
                "ACCESS_TOKEN_EXPIRE_MINUTES",
                "must be 1 to 60",
            ));
        }
        if !(1..=30).contains(&refresh_days) {
            return Err(ConfigError::invalid(
                "REFRESH_TOKEN_EXPIRE_DAYS",
                "must be 1 to 30",
            ));
        }
        let grace_seconds: u64 = env.parse_or("REFRESH_REUSE_GRACE_SECONDS", 5)?;
        if grace_seconds > 60 {
            return Err(ConfigError::invalid(
                "REFRESH_REUSE_GRACE_SECONDS",
                "must be at most 60",
            ));
        }
        let max_days: u64 = env.parse_or("SESSION_MAX_DAYS", 30)?;
        if !(1..=365).contains(&max_days) {
            return Err(ConfigError::invalid("SESSION_MAX_DAYS", "must be 1 to 365"));
        }
        let refresh_minutes = refresh_days * 24 * 60;
        let idle_minutes: u64 = env.parse_or("SESSION_IDLE_MINUTES", refresh_minutes)?;
        if !(1..=refresh_minutes).contains(&idle_minutes) {
            return Err(ConfigError::invalid(
                "SESSION_IDLE_MINUTES",
                format!("must be 1 to {refresh_minutes} (the refresh-token lifetime)"),
            ));
        }
        let session = crate::domain::tokens::SessionLimits {
            max: Duration::from_secs(max_days * 86_400),
            idle: Duration::from_secs(idle_minutes * 60),
        };
        let threshold: u32 = env.parse_or("LOCKOUT_THRESHOLD", 5)?;
        if !(1..=1000).contains(&threshold) {
            return Err(ConfigError::invalid(
                "LOCKOUT_THRESHOLD",
                "must be 1 to 1000",
            ));
        }
        let lock_minutes: u64 = env.parse_or("LOCKOUT_MINUTES", 30)?;
        if lock_minutes > 7 * 24 * 60 {
            return Err(ConfigError::invalid(
                "LOCKOUT_MINUTES",
                "must be at most 10080 (a week)",
            ));
        }
        let lockout = (lock_minutes > 0).then(|| crate::service::Lockout {
            threshold,
            duration: Duration::from_secs(lock_minutes * 60),
        });
        Ok(Self {
            http: HttpSettings::from_env(env, "AUTH_HTTP_ADDR", default_addr)?,
            grpc_addr: env.parse_or("AUTH_GRPC_ADDR", default_grpc)?,
            internal_key,
            internal_callers,
            grpc_tls: service_runtime::grpc::server_tls_from_env(env)?,
            database_url: SecretString::from(database_url),
            db_max_connections: env.parse_or("DB_MAX_CONNECTIONS", 10)?,
            token_store,
            secret_key,
            token_issuer: match env.get("TOKEN_ISSUER") {
                None => "auth".to_owned(),
                Some(v) if (1..=200).contains(&v.len()) && !v.chars().any(char::is_control) => {
                    v.to_owned()
                }
                Some(_) => {
                    return Err(ConfigError::invalid(
                        "TOKEN_ISSUER",
                        "must be 1 to 200 characters without control characters",
                    ));
                }
            },
            access_ttl: Duration::from_secs(access_minutes * 60),
            refresh_ttl: Duration::from_secs(refresh_days * 86_400),
            reuse_grace: Duration::from_secs(grace_seconds),
            password_hash_queue: match env.parse_or(
                "PASSWORD_HASH_QUEUE",
                crate::domain::password::DEFAULT_QUEUE,
            )? {
                n @ 1..=10_000 => n,
                _ => {
                    return Err(ConfigError::invalid(
                        "PASSWORD_HASH_QUEUE",
                        "must be 1 to 10000",
                    ));
                }
            },
            password_hash_threads: match env.parse_or(
                "PASSWORD_HASH_THREADS",
                crate::domain::password::default_threads(),
            )? {
                n @ 1..=64 => n,
                _ => {
                    return Err(ConfigError::invalid(
                        "PASSWORD_HASH_THREADS",
                        "must be 1 to 64",
                    ));
                }
            },
            session,
            login_rate_limit: env.parse_or("LOGIN_RATE_LIMIT_PER_MINUTE", 5)?,
            login_rate_limit_per_ip: env.parse_or("LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE", 30)?,
            refresh_rate_limit: env.parse_or("REFRESH_RATE_LIMIT_PER_MINUTE", 10)?,
            refresh_rate_limit_per_ip: env.parse_or("REFRESH_RATE_LIMIT_PER_IP_PER_MINUTE", 120)?,
            user_creation_rate_limit: env.parse_or("USER_CREATION_RATE_LIMIT_PER_HOUR", 10)?,
            max_sessions_per_user: match env.parse_or::<usize>("MAX_SESSIONS_PER_USER", 10)? {
                0 => None,
                n if n > 10_000 => {
                    return Err(ConfigError::invalid(
                        "MAX_SESSIONS_PER_USER",
                        format!("{n} is more than 10000"),
                    ));
                }
                n => Some(n),
            },
            api_rate_limit: service_runtime::ratelimit::per_minute_from_env(env)?,
            principal_ttl: service_runtime::config::introspection_cache(env)?,
            lockout,
            trusted_proxies: service_runtime::net::TrustedProxies::from_env(env)?,
            bus: events::BusSettings::from_env(env, embedded_mode)?,
            password_history: match env.parse_or::<usize>("PASSWORD_HISTORY", 5)? {
                n @ 0..=24 => n,
                _ => return Err(ConfigError::invalid("PASSWORD_HISTORY", "must be 0 to 24")),
            },
            password_max_age: match env.get("PASSWORD_MAX_AGE_DAYS") {
                None | Some("") => None,
                Some(_) => match env.parse_or::<u64>("PASSWORD_MAX_AGE_DAYS", 0)? {
                    n @ 1..=3650 => Some(Duration::from_secs(n * 86_400)),
                    _ => {
                        return Err(ConfigError::invalid(
                            "PASSWORD_MAX_AGE_DAYS",
                            "must be 1 to 3650 (unset: passwords do not expire)",
                        ));
                    }
                },
            },
            password_reset_url: reset_url(env)?,
            password_reset_rate_limit_per_ip: env
                .parse_or("PASSWORD_RESET_RATE_LIMIT_PER_IP_PER_HOUR", 10)?,
            mfa_issuer: match env.get("MFA_ISSUER") {
                None => PLATFORM_NAME.to_owned(),
                Some(v)
                    if (1..=100).contains(&v.chars().count())
                        && !v.chars().any(|c| c.is_control() || c == ':') =>
                {
                    v.to_owned()
                }
                Some(_) => {
                    return Err(ConfigError::invalid(
                        "MFA_ISSUER",
                        "must be 1 to 100 characters, without ':' or control characters",
                    ));
                }
            },
            mail: MailSettings {
                smtp_url: env
                    .get("SMTP_URL")
                    .filter(|v| !v.is_empty())
                    .map(|v| SecretString::from(v.to_owned())),
                from: env
                    .get("MAIL_FROM")
                    .unwrap_or("AI Interviewer Platform <no-reply@localhost>")
                    .to_owned(),
                dir: env
                    .get("MAIL_DIR")
                    .filter(|v| !v.is_empty())
                    .map_or(default_mail_dir, std::path::PathBuf::from),
                ca_file: env
                    .get("SMTP_CA_FILE")
                    .filter(|v| !v.is_empty())
                    .map(std::path::PathBuf::from),
            },
            export_peers: vec![
                Peer::from_env(env, "interview", "INTERVIEW_HTTP_URL", None)?,
                Peer::from_env(env, "scoring", "SCORING_HTTP_URL", None)?,
                Peer::from_env(env, "audit", "AUDIT_HTTP_URL", None)?,
            ],
        })
    }
}

pub use service_runtime::config::internal_key;

/// `PASSWORD_RESET_URL`: an http(s) URL without a query or fragment (the token is
/// appended as `?token=`). By default the reset page this service serves.
fn reset_url(env: &Env) -> Result<String, ConfigError> {
    let Some(url) = env.get("PASSWORD_RESET_URL").filter(|v| !v.is_empty()) else {
        return Ok("http://localhost:8000/reset-password".to_owned());
    };
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(['?', '#'])
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && url.len() <= 500;
    if ok {
        Ok(url.to_owned())
    } else {
        Err(ConfigError::invalid(
            "PASSWORD_RESET_URL",
            "must be an http:// or https:// URL without '?' or '#'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn production(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut pairs = vec![
            ("DATABASE_URL", "postgres://db/x"),
            ("REDIS_URL", "redis://r"),
            ("SECRET_KEY", KEY),
            ("INTERNAL_API_KEY", "internal-key-for-tests"),
            ("AMQP_URL", "amqp://localhost:5672/%2f"),
        ];
        pairs.extend_from_slice(extra);
        Settings::from_env(&Env::from_pairs(pairs), None)
    }

    #[test]
    fn production_needs_every_backend_and_names_the_missing_one() {
        let err = Settings::from_env(&Env::from_pairs([("DATABASE_URL", "postgres://x")]), None)
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                name: "REDIS_URL".into()
            }
        );
    }

    #[test]
    fn a_short_secret_key_is_refused() {
        let err = production(&[("SECRET_KEY", "too-short")]).unwrap_err();
        assert!(err.to_string().contains("SECRET_KEY"), "{err}");
    }

    #[test]
    fn defaults_follow_the_trd() {
        let s = production(&[]).unwrap();
        assert_eq!(s.access_ttl, Duration::from_secs(900));
        assert_eq!(s.refresh_ttl, Duration::from_secs(604_800));
        assert_eq!(s.reuse_grace, Duration::from_secs(5));
        assert_eq!(s.http.addr.port(), 8000);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "x"),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "61"),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "18446744073709551615"),
            ("REFRESH_TOKEN_EXPIRE_DAYS", "31"),
            ("REFRESH_REUSE_GRACE_SECONDS", "-1"),
            ("REFRESH_REUSE_GRACE_SECONDS", "61"),
            ("SESSION_MAX_DAYS", "0"),
            ("SESSION_MAX_DAYS", "366"),
            // Beyond the default refresh lifetime, 7 days.
            ("SESSION_IDLE_MINUTES", "10081"),
            ("SESSION_IDLE_MINUTES", "0"),
            // The sample values of .env.example and the Kubernetes secret template.
            (
                "SECRET_KEY",
                "change-me-to-the-output-of-openssl-rand-hex-32",
            ),
            (
                "SECRET_KEY",
                "CHANGE-ME-at-least-32-random-bytes-openssl-rand-base64-48",
            ),
            ("SECRET_KEY", "ffffffffffffffffffffffffffffffffffffffff"),
            ("INTERNAL_API_KEY", "change-me-internal-api-key"),
            ("INTERNAL_API_KEY", "CHANGE-ME-openssl-rand-hex-32"),
            ("AUTH_HTTP_ADDR", "nowhere"),
            ("ALGORITHM", "RS256"),
            ("HTTP_WORKERS", "0"),
            ("HTTP_WORKERS", "513"),
            ("CORS_ORIGINS", "[broken"),
            ("INTERNAL_API_KEY", "short"),
            ("AUTH_GRPC_ADDR", "x"),
            ("PASSWORD_HISTORY", "25"),
            ("PASSWORD_MAX_AGE_DAYS", "0"),
            ("PASSWORD_MAX_AGE_DAYS", "x"),
            ("PASSWORD_RESET_URL", "ftp://x"),
            ("PASSWORD_RESET_URL", "https://x/reset?a=b"),
            ("MFA_ISSUER", "a:b"),
            ("INTERNAL_CALLERS", "[1]"),
            (
                "INTERNAL_CALLERS",
                r#"{"Interview": "interview-key-0123456789"}"#,
            ),
            ("INTERNAL_CALLERS", r#"{"interview": "short"}"#),
            (
                "INTERNAL_CALLERS",
                r#"{"interview": "change-me-internal-api-key"}"#,
            ),
            (
                "INTERNAL_CALLERS",
                r#"{"interview": "same-key-0123456789ab", "scoring": "same-key-0123456789ab"}"#,
            ),
        ] {
            let err = production(&[(name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn the_embedded_default_fills_what_is_unset() {
        let d = EmbeddedDefaults {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            internal_key: SecretString::from("generated-internal-key".to_owned()),
            database_url: "sqlite://x.db?mode=rwc".into(),
            secret_key: SecretString::from(KEY.to_owned()),
            mail_dir: std::path::PathBuf::from("data/mail"),
        };
        let s = Settings::from_env(&Env::default(), Some(d)).unwrap();
        assert!(s.mail.smtp_url.is_none());
        assert_eq!(s.mail.dir, std::path::PathBuf::from("data/mail"));
        assert_eq!(s.password_history, 5);
        assert_eq!(s.password_max_age, None);
        assert!(matches!(s.token_store, TokenStoreSettings::InProcess));
        assert_eq!(s.database_url.expose_secret(), "sqlite://x.db?mode=rwc");
    }
}
