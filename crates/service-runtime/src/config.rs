//! Reading configuration from the environment: every bad or missing value is an error that
//! names the variable, so start-up stops with a message an operator can act on.

use std::collections::HashMap;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {name} is required but not set")]
    Missing { name: String },
    #[error("configuration: {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

impl ConfigError {
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A snapshot of the variables a service reads. Built from the process environment in
/// `main`, or from pairs in tests, so settings never come from a global.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value, with surrounding blanks trimmed; unset and empty are the same.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::Missing {
            name: name.to_owned(),
        })
    }

    /// Parses the value if set, else gives `default`.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| ConfigError::invalid(name, format!("'{raw}': {e}"))),
        }
    }

    /// A boolean in any of the usual spellings.
    pub fn flag_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::invalid(
                name,
                format!("'{other}' is not a boolean (true/false)"),
            )),
        }
    }

    /// A list given either as a JSON array (the TRD's `["http://a", "http://b"]`) or as
    /// comma-separated values.
    pub fn list(&self, name: &str) -> Result<Vec<String>, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(Vec::new());
        };
        if raw.starts_with('[') {
            serde_json::from_str::<Vec<String>>(raw)
                .map_err(|e| ConfigError::invalid(name, format!("not a JSON list of strings: {e}")))
        } else {
            Ok(raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_number_names_the_variable() {
        let env = Env::from_pairs([("ACCESS_TOKEN_EXPIRE_MINUTES", "soon")]);
        let err = env
            .parse_or::<u32>("ACCESS_TOKEN_EXPIRE_MINUTES", 15)
            .unwrap_err();
        assert!(
            err.to_string().contains("ACCESS_TOKEN_EXPIRE_MINUTES"),
            "{err}"
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = Env::from_pairs([("REDIS_URL", "  ")]);
        assert_eq!(env.get("REDIS_URL"), None);
        assert!(matches!(
            env.required("REDIS_URL"),
            Err(ConfigError::Missing { .. })
        ));
    }

    #[test]
    fn lists_accept_json_and_commas() {
        let env = Env::from_pairs([
            ("A", r#"["http://a", "http://b"]"#),
            ("B", "http://a, http://b"),
            ("C", "[not json"),
        ]);
        assert_eq!(env.list("A").unwrap(), vec!["http://a", "http://b"]);
        assert_eq!(env.list("B").unwrap(), vec!["http://a", "http://b"]);
        assert!(env.list("C").is_err());
        assert!(env.list("D").unwrap().is_empty());
    }

    #[test]
    fn flags_refuse_nonsense() {
        let env = Env::from_pairs([("DEBUG", "maybe"), ("X", "TRUE")]);
        assert!(env.flag_or("DEBUG", false).is_err());
        assert!(env.flag_or("X", false).unwrap());
        assert!(!env.flag_or("Y", false).unwrap());
    }
}

/// The environment's value of `name`, or `default`; missing without either.
pub fn pick(env: &Env, name: &str, default: Option<String>) -> Result<String, ConfigError> {
    match (env.get(name), default) {
        (Some(v), _) => Ok(v.to_owned()),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(ConfigError::Missing {
            name: name.to_owned(),
        }),
    }
}

/// A gRPC address: an `http://` or `https://` URL.
pub fn grpc_url(name: &str, url: String) -> Result<String, ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(ConfigError::invalid(
            name,
            "must be an http:// or https:// URL",
        ))
    }
}

/// Why a secret must not be used: it is (or holds) a sample value from the documentation,
/// or has too little variety to be random. A key copied from `.env.example` or the Kubernetes secret
/// template would be the same in every deployment that forgot to change it.
pub fn weak_secret(value: &str) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    let sample = [
        "change-me",
        "changeme",
        "change_me",
        "change me",
        "replace-me",
        "example",
    ]
    .iter()
    .any(|p| lower.contains(p));
    if sample {
        return Some("is the sample value of the examples; generate one (openssl rand -hex 32)");
    }
    let mut distinct: Vec<u8> = value.bytes().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 8 {
        return Some(
            "has too little entropy (too few distinct characters); generate one (openssl rand -hex 32)",
        );
    }
    None
}

/// `INTERNAL_CALLERS`: a JSON object of the services that may call this one over gRPC,
/// each with a credential of its own (`{"interview": "<key>", ...}`); each key held to the
/// rules of `INTERNAL_API_KEY` (16+ printable ASCII, no sample value, not low-entropy),
/// the names lower-case letters and `-`. Unset or empty: the shared `INTERNAL_API_KEY`.
pub fn internal_callers(env: &Env) -> Result<Vec<(String, secrecy::SecretString)>, ConfigError> {
    use crate::grpc::MIN_INTERNAL_KEY_BYTES;
    let Some(raw) = env.get("INTERNAL_CALLERS").filter(|v| !v.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(raw).map_err(|e| {
            ConfigError::invalid(
                "INTERNAL_CALLERS",
                format!("must be a JSON object of service name to key ({e})"),
            )
        })?;
    let mut callers = Vec::with_capacity(map.len());
    let mut keys = std::collections::HashSet::new();
    for (name, key) in map {
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        {
            return Err(ConfigError::invalid(
                "INTERNAL_CALLERS",
                format!("'{name}': a service name is lower-case letters and '-'"),
            ));
        }
        if key.len() < MIN_INTERNAL_KEY_BYTES || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::invalid(
                "INTERNAL_CALLERS",
                format!(
                    "{name}: a key is at least {MIN_INTERNAL_KEY_BYTES} printable ASCII characters"
                ),
            ));
        }
        if let Some(why) = weak_secret(&key) {
            return Err(ConfigError::invalid(
                "INTERNAL_CALLERS",
                format!("{name}: {why}"),
            ));
        }
        if !keys.insert(key.clone()) {
            return Err(ConfigError::invalid(
                "INTERNAL_CALLERS",
                format!("{name}: every service needs a key of its own"),
            ));
        }
        callers.push((name, secrecy::SecretString::from(key)));
    }
    Ok(callers)
}

/// `INTERNAL_API_KEY`: required (at least 16 printable ASCII characters) unless a default
/// is given.
pub fn internal_key(
    env: &Env,
    default: Option<secrecy::SecretString>,
) -> Result<secrecy::SecretString, ConfigError> {
    use crate::grpc::MIN_INTERNAL_KEY_BYTES;
    use secrecy::ExposeSecret;
    let key = match (env.get("INTERNAL_API_KEY"), default) {
        (Some(k), _) => secrecy::SecretString::from(k.to_owned()),
        (None, Some(d)) => d,
        (None, None) => {
            return Err(ConfigError::Missing {
                name: "INTERNAL_API_KEY".into(),
            });
        }
    };
    let raw = key.expose_secret();
    if raw.len() < MIN_INTERNAL_KEY_BYTES || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::invalid(
            "INTERNAL_API_KEY",
            format!("must be at least {MIN_INTERNAL_KEY_BYTES} printable ASCII characters"),
        ));
    }
    if let Some(why) = weak_secret(raw) {
        return Err(ConfigError::invalid("INTERNAL_API_KEY", why));
    }
    Ok(key)
}

/// The longest a service may trust an introspection answer: revocations must count
/// within seconds.
pub const MAX_INTROSPECTION_CACHE: std::time::Duration = std::time::Duration::from_secs(5);

/// How a service reaches auth: the address, its own credential, and how long it may
/// reuse an introspection answer (`INTROSPECTION_CACHE_MS`, at most
/// [`MAX_INTROSPECTION_CACHE`]). Read the same way by every service that asks auth.
#[derive(Debug, Clone)]
pub struct AuthClientSettings {
    pub auth_grpc_url: String,
    pub internal_key: secrecy::SecretString,
    pub introspection_ttl: std::time::Duration,
    /// `GRPC_TLS_CA`: what `https://` gRPC URLs are trusted by.
    pub grpc_tls_ca: Option<String>,
}

impl AuthClientSettings {
    /// `defaults`: the embedded default's auth address and credential.
    pub fn from_env(
        env: &Env,
        defaults: Option<(String, secrecy::SecretString)>,
    ) -> Result<Self, ConfigError> {
        let (url, key) = defaults.map_or((None, None), |(u, k)| (Some(u), Some(k)));
        let auth_grpc_url = grpc_url("AUTH_GRPC_URL", pick(env, "AUTH_GRPC_URL", url)?)?;
        let internal_key = internal_key(env, key)?;
        Ok(Self {
            auth_grpc_url,
            internal_key,
            introspection_ttl: introspection_cache(env)?,
            grpc_tls_ca: crate::grpc::client_ca_from_env(env)?,
        })
    }
}

/// `INTROSPECTION_CACHE_MS` (default 1000, at most [`MAX_INTROSPECTION_CACHE`]): how long
/// who a token speaks for is reused, by auth itself and by every service that asks it.
pub fn introspection_cache(env: &Env) -> Result<std::time::Duration, ConfigError> {
    let cache_ms: u64 = env.parse_or("INTROSPECTION_CACHE_MS", 1_000)?;
    if u128::from(cache_ms) > MAX_INTROSPECTION_CACHE.as_millis() {
        return Err(ConfigError::invalid(
            "INTROSPECTION_CACHE_MS",
            format!(
                "must be at most {}: revocations must count within seconds",
                MAX_INTROSPECTION_CACHE.as_millis()
            ),
        ));
    }
    Ok(std::time::Duration::from_millis(cache_ms))
}

#[cfg(test)]
mod secret_tests {
    use super::weak_secret;

    /// The values the examples ship with, read from the files themselves.
    fn example_values() -> Vec<String> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut out = Vec::new();
        for (file, sep) in [
            (".env.example", '='),
            ("deploy/base/secret.example.yaml", ':'),
        ] {
            let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
            for line in text.lines() {
                let line = line.trim();
                for key in [
                    "SECRET_KEY",
                    "INTERNAL_API_KEY",
                    "INTERVIEW_INTERNAL_KEY",
                    "SCORING_INTERNAL_KEY",
                    "AUDIT_INTERNAL_KEY",
                    "AUDIT_CHAIN_KEY",
                    "AUTH_DB_PASSWORD",
                    "INTERVIEW_DB_PASSWORD",
                    "SCORING_DB_PASSWORD",
                    "AUDIT_DB_PASSWORD",
                ] {
                    if let Some(rest) = line
                        .strip_prefix(key)
                        .and_then(|r| r.trim_start().strip_prefix(sep))
                    {
                        out.push(rest.trim().trim_matches('"').to_owned());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_examples_sample_values_and_repeated_characters_are_refused() {
        let examples = example_values();
        assert!(examples.len() >= 14, "{examples:?}");
        for value in &examples {
            assert!(weak_secret(value).is_some(), "{value}");
        }
        for weak in [
            "a".repeat(64),
            "abababababababababababababababab".into(),
            format!("{}CHANGEME", "9f".repeat(20)),
        ] {
            assert!(weak_secret(&weak).is_some(), "{weak}");
        }
        // What `openssl rand -hex 32` gives passes.
        assert_eq!(
            weak_secret("3f9a1c7e5b2d4f608a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f"),
            None
        );
    }
}
