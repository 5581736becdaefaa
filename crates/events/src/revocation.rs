//! The revocation feed: auth announces every change that can end or narrow a token (a
//! session ended, a user deactivated, re-roled, given other pages or a new password), and
//! every service that caches who a token speaks for drops the entries it names at once,
//! instead of trusting them until their cache time runs out.
//!
//! On RabbitMQ it is the fanout exchange `<prefix>revocations`, each listening process
//! with a queue of its own (exclusive, deleted with its connection); in the embedded
//! default, one in-process broadcast. Messages are not persisted: a listener that loses
//! its connection says so ([`FeedEvent::Lost`]), and one that (re)connects starts with
//! [`FeedEvent::Connected`]; the cache drops everything on both and trusts nothing while
//! disconnected, so a message missed can never keep a revoked token alive.

use crate::rabbit::Topology;
use crate::settings::BusSettings;
use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use secrecy::ExposeSecret;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{Mutex, broadcast};
use uuid::Uuid;

/// What ended or narrowed: every token of a session, or every token of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Revocation {
    Session(Uuid),
    User(Uuid),
}

/// What a listener hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEvent {
    /// Connected (again): anything may have been missed before, drop everything.
    Connected,
    Revoked(Revocation),
    /// Disconnected: until `Connected`, nothing is heard, so nothing cached can be trusted.
    Lost,
}

/// How long a publish may take before it is given up (the change is already committed;
/// caches then hold it for at most their cache time).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between reconnection attempts of a listener.
const RECONNECT_EVERY: Duration = Duration::from_millis(500);

/// The one broadcast of the embedded default's process (it runs every service in one
/// process, and never in replicas).
fn in_process() -> &'static broadcast::Sender<Revocation> {
    static FEED: OnceLock<broadcast::Sender<Revocation>> = OnceLock::new();
    FEED.get_or_init(|| broadcast::channel(1024).0)
}

fn exchange(topology: &Topology) -> String {
    format!("{}revocations", topology.prefix)
}

/// A channel with the feed's exchange declared, when the user may declare it; a user
/// that may not (a least-privileged one, see the README's "RabbitMQ users") uses the one
/// the audit-writer declared.
async fn open(url: &str, topology: &Topology) -> Result<(Connection, Channel), lapin::Error> {
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let declared = channel
        .exchange_declare(
            exchange(topology).as_str().into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await;
    match declared {
        Ok(()) => Ok((connection, channel)),
        Err(e) => {
            tracing::debug!(error = %e, "revocation feed: not declaring its exchange");
            let channel = connection.create_channel().await?;
            Ok((connection, channel))
        }
    }
}

/// Announces revocations (auth).
#[derive(Clone)]
pub struct RevocationPublisher {
    inner: Arc<PublisherInner>,
}

#[expect(clippy::large_enum_variant, reason = "one per process, behind an Arc")]
enum PublisherInner {
    Rabbit {
        url: String,
        topology: Topology,
        channel: Mutex<Option<(Connection, Channel)>>,
    },
    InProcess,
}

impl RevocationPublisher {
    pub fn new(bus: &BusSettings) -> Self {
        let inner = match bus {
            BusSettings::Rabbit { url, topology } => PublisherInner::Rabbit {
                url: url.expose_secret().to_owned(),
                topology: topology.clone(),
                channel: Mutex::new(None),
            },
            BusSettings::InProcess => PublisherInner::InProcess,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Announces `revocation` to every listener. Call after the change committed. A
    /// failure is logged and counted (`revocations_published_total{outcome="error"}`):
    /// caches then keep the entry for at most their cache time, as without the feed.
    pub async fn publish(&self, revocation: Revocation) {
        let outcome =
            match tokio::time::timeout(PUBLISH_TIMEOUT, self.try_publish(revocation)).await {
                Ok(Ok(())) => "ok",
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, ?revocation, "announcing a revocation failed");
                    "error"
                }
                Err(_) => {
                    tracing::warn!(?revocation, "announcing a revocation timed out");
                    "error"
                }
            };
        metrics::counter!("revocations_published_total", "outcome" => outcome).increment(1);
    }

    async fn try_publish(&self, revocation: Revocation) -> Result<(), String> {
        let payload = serde_json::to_vec(&revocation).map_err(|e| e.to_string())?;
        match &*self.inner {
            PublisherInner::InProcess => {
                // No receiver is no listener yet: nothing to tell.
                let _ = in_process().send(revocation);
                Ok(())
            }
            PublisherInner::Rabbit {
                url,
                topology,
                channel,
            } => {
                let mut guard = channel.lock().await;
                let usable = guard
                    .as_ref()
                    .is_some_and(|(c, ch)| c.status().connected() && ch.status().connected());
                if !usable {
                    *guard = Some(open(url, topology).await.map_err(|e| e.to_string())?);
                }
                let Some((_, ch)) = guard.as_ref() else {
                    return Err("no channel".into());
                };
                ch.basic_publish(
                    exchange(topology).as_str().into(),
                    "".into(),
                    BasicPublishOptions::default(),
                    &payload,
                    BasicProperties::default().with_content_type("application/json".into()),
                )
                .await
                .map_err(|e| e.to_string())?;
                Ok(())
            }
        }
    }
}

/// Listens for revocations until the returned task is dropped (wrap it in
/// `AbortOnDrop`), telling `on` everything it hears, reconnecting after any failure.
pub fn listen(
    bus: &BusSettings,
    on: impl Fn(FeedEvent) + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    match bus {
        BusSettings::InProcess => {
            let mut rx = in_process().subscribe();
            tokio::spawn(async move {
                on(FeedEvent::Connected);
                loop {
                    match rx.recv().await {
                        Ok(r) => on(FeedEvent::Revoked(r)),
                        // Fell behind: some were missed.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            on(FeedEvent::Lost);
                            on(FeedEvent::Connected);
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        }
        BusSettings::Rabbit { url, topology } => {
            let (url, topology) = (url.expose_secret().to_owned(), topology.clone());
            tokio::spawn(async move {
                loop {
                    if let Err(e) = listen_once(&url, &topology, &on).await {
                        tracing::warn!(error = %e, "revocation feed lost; reconnecting");
                    }
                    on(FeedEvent::Lost);
                    tokio::time::sleep(RECONNECT_EVERY).await;
                }
            })
        }
    }
}

async fn listen_once(
    url: &str,
    topology: &Topology,
    on: &(impl Fn(FeedEvent) + Send + Sync),
) -> Result<(), lapin::Error> {
    let (_connection, channel) = open(url, topology).await?;
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().as_str().into(),
            exchange(topology).as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut deliveries = channel
        .basic_consume(
            queue.name().as_str().into(),
            "revocations".into(),
            BasicConsumeOptions {
                no_ack: true,
                exclusive: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    on(FeedEvent::Connected);
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        match serde_json::from_slice::<Revocation>(&delivery.data) {
            Ok(r) => on(FeedEvent::Revoked(r)),
            // From a newer auth, say: we cannot tell what it narrows, so drop everything.
            Err(e) => {
                tracing::warn!(error = %e, "an unreadable revocation: dropping every cached entry");
                on(FeedEvent::Lost);
                on(FeedEvent::Connected);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_names_the_kind_and_the_id() {
        let id = Uuid::nil();
        let text = serde_json::to_string(&Revocation::Session(id)).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"kind":"session","id":"00000000-0000-0000-0000-000000000000"}"#
        );
        assert_eq!(
            serde_json::from_str::<Revocation>(
                r#"{"kind":"user","id":"00000000-0000-0000-0000-000000000000"}"#
            )
            .ok(),
            Some(Revocation::User(id))
        );
    }
}
