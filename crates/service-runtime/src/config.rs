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
