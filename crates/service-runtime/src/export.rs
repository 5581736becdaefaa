//! Gathering a person's data from the other services (the right of access, issue 14):
//! the service that answers `GET /users/{id}/export` or `GET /candidates/{id}/export`
//! asks each other service for its part over HTTP, passing the caller's own bearer token
//! through, so every part is authorized and scoped to the caller's company by the service
//! that holds it. A part that cannot be had fails the export: a partial answer would look
//! complete.

use crate::config::{ConfigError, Env};
use crate::error::Failure;
use std::time::Duration;

/// How long one part may take.
const PART_TIMEOUT: Duration = Duration::from_secs(15);

/// Another service holding a part, at its HTTP base URL (`SCORING_HTTP_URL`, ...).
#[derive(Debug, Clone)]
pub struct Peer {
    /// The key of its part in the document: `interview`, `scoring`, `audit`.
    pub name: &'static str,
    /// The variable its URL comes from, named when it is unset.
    pub variable: &'static str,
    pub base_url: Option<String>,
}

impl Peer {
    /// The peer whose URL is `variable` (`embedded`: the one-process binary's address).
    pub fn from_env(
        env: &Env,
        name: &'static str,
        variable: &'static str,
        embedded: Option<String>,
    ) -> Result<Self, ConfigError> {
        let base_url = match env.get(variable).map(str::trim).filter(|v| !v.is_empty()) {
            Some(url) => {
                let parsed = url
                    .parse::<reqwest::Url>()
                    .map_err(|e| ConfigError::invalid(variable, format!("not a URL: {e}")))?;
                if parsed.scheme() != "http" {
                    return Err(ConfigError::invalid(
                        variable,
                        "must be an http:// URL of the service inside the cluster",
                    ));
                }
                Some(url.trim_end_matches('/').to_owned())
            }
            None => embedded,
        };
        Ok(Self {
            name,
            variable,
            base_url,
        })
    }
}

/// The other services' parts, fetched concurrently.
#[derive(Debug, Clone)]
pub struct Parts {
    client: reqwest::Client,
    peers: std::sync::Arc<std::sync::RwLock<Vec<Peer>>>,
}

fn dependency(name: &'static str) -> &'static str {
    match name {
        "auth" => "auth service",
        "interview" => "interview service",
        "scoring" => "scoring service",
        "audit" => "audit-writer",
        _ => "a peer service",
    }
}

impl Parts {
    pub fn new(peers: Vec<Peer>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(PART_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            client,
            peers: std::sync::Arc::new(std::sync::RwLock::new(peers)),
        }
    }

    /// Points the peer `name` at `base_url` (the one-process binary, once the peer has
    /// its port).
    pub fn set_url(&self, name: &str, base_url: String) {
        if let Ok(mut peers) = self.peers.write() {
            for peer in peers.iter_mut().filter(|p| p.name == name) {
                peer.base_url = Some(base_url.trim_end_matches('/').to_owned());
            }
        }
    }

    /// `GET {base}{path(name)}` of every peer with `bearer`: name → the JSON part. The
    /// first failure decides the answer: a peer's 401/403/404 as its own, anything else
    /// 503.
    pub async fn gather(
        &self,
        path: impl Fn(&'static str) -> String,
        bearer: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
        let peers = self.peers.read().map(|p| p.clone()).unwrap_or_default();
        let paths: Vec<String> = peers.iter().map(|peer| path(peer.name)).collect();
        let fetches = peers
            .iter()
            .zip(&paths)
            .map(|(peer, path)| self.fetch(peer, path, bearer));
        let mut parts = serde_json::Map::new();
        for (name, part) in futures_util::future::join_all(fetches).await {
            parts.insert(name.to_owned(), part?);
        }
        Ok(parts)
    }

    async fn fetch(
        &self,
        peer: &Peer,
        path: &str,
        bearer: &str,
    ) -> (&'static str, Result<serde_json::Value, Failure>) {
        let dep = dependency(peer.name);
        let Some(base) = &peer.base_url else {
            return (
                peer.name,
                Err(Failure::unavailable(
                    dep,
                    format!(
                        "{} is not set, so its part cannot be gathered",
                        peer.variable
                    ),
                )),
            );
        };
        let result = async {
            let res = self
                .client
                .get(format!("{base}{path}"))
                .bearer_auth(bearer)
                .send()
                .await
                .map_err(|e| Failure::unavailable(dep, e.to_string()))?;
            let status = res.status();
            let body: serde_json::Value = res
                .json()
                .await
                .map_err(|e| Failure::unavailable(dep, format!("unreadable answer: {e}")))?;
            let detail = || {
                body.get("detail")
                    .and_then(|d| d.as_str())
                    .unwrap_or("refused")
                    .to_owned()
            };
            match status.as_u16() {
                200 => Ok(body),
                401 | 403 => Err(Failure::Forbidden(detail())),
                404 => Err(Failure::NotFound("Subject")),
                code => Err(Failure::unavailable(
                    dep,
                    format!("answered {code}: {}", detail()),
                )),
            }
        }
        .await;
        (peer.name, result)
    }
}

/// The address that takes an erased person's email: unique (their id), and never
/// delivered (`.invalid` is reserved, RFC 2606).
pub fn erased_email(id: impl std::fmt::Display) -> String {
    format!("erased-{id}@erased.invalid")
}

/// What an erased person's name, email or number is replaced with in free text.
pub const ERASED: &str = "[erased]";

/// `text` with every occurrence of each of `terms` (ignoring case where lower-casing keeps
/// the text's length, exactly otherwise) replaced by [`ERASED`]; `None` when nothing was
/// found. Terms shorter than 3 characters are ignored: they would match everywhere.
pub fn redact(text: &str, terms: &[String]) -> Option<String> {
    let mut out = text.to_owned();
    let mut changed = false;
    for term in terms
        .iter()
        .map(|t| t.trim())
        .filter(|t| t.chars().count() >= 3)
    {
        let (hay, needle) = (out.to_lowercase(), term.to_lowercase());
        let next = if hay.len() == out.len() && needle.len() == term.len() {
            let mut next = String::with_capacity(out.len());
            let mut last = 0;
            for (at, _) in hay.match_indices(&needle) {
                next.push_str(&out[last..at]);
                next.push_str(ERASED);
                last = at + needle.len();
            }
            next.push_str(&out[last..]);
            next
        } else {
            out.replace(term, ERASED)
        };
        if next != out {
            changed = true;
            out = next;
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn redact_replaces_every_case_of_every_term() {
        assert_eq!(
            redact(
                "Ada Lovelace (ada@example.com): ADA LOVELACE did well",
                &terms(&["Ada Lovelace", "ada@example.com"])
            )
            .as_deref(),
            Some("[erased] ([erased]): [erased] did well")
        );
        assert_eq!(redact("nothing here", &terms(&["Ada Lovelace"])), None);
        assert_eq!(redact("Al is short", &terms(&["Al", " "])), None);
        assert_eq!(
            redact("Straße Müller", &terms(&["Müller"])).as_deref(),
            Some("Straße [erased]")
        );
    }
}
