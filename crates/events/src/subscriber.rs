//! A service listening for other services' events on a durable queue of its own (the
//! erasure of a candidate reaching the scoring service, issue 14): what was published
//! while the service was down waits in its queue, so the work completes when it is back.
//! A message is acknowledged only once handled; one that cannot be parsed, or whose
//! `source` its validated publisher (`user_id`) may not speak for, is dead-lettered; one
//! the handler fails on is retried, and dead-lettered after [`MAX_ATTEMPTS`].

use crate::bus::{BusError, Sink};
use crate::envelope::{Event, VERSION};
use crate::rabbit::Topology;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Failed handlings of one event before it goes to the dead letters.
pub const MAX_ATTEMPTS: u32 = 10;

/// What a service does with an event it subscribed to; an error means "try again".
#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    async fn handle(&self, event: &Event) -> anyhow::Result<()>;
}

/// Which RabbitMQ user may publish events of which sources (`AUDIT_PUBLISHERS`; empty:
/// not checked).
pub type Publishers = BTreeMap<String, Vec<String>>;

/// A queue of the service's own, bound to the routing keys it handles.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub url: SecretString,
    pub topology: Topology,
    /// The queue's name after the prefix, e.g. `scoring.erasure`.
    pub queue: String,
    /// Routing keys (topic patterns), e.g. `event.interview.candidate_erased`.
    pub bindings: Vec<String>,
    pub publishers: Publishers,
}

impl Subscription {
    pub fn queue_name(&self) -> String {
        format!("{}{}", self.topology.prefix, self.queue)
    }
}

/// Consumes until the task is dropped, reconnecting after any failure.
pub async fn run(sub: Subscription, handler: Arc<dyn Handler>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match session(&sub, handler.as_ref()).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(queue = %sub.queue_name(), error = %e, "subscriber: connection lost; reconnecting");
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

/// Declares the platform's topology (when the user may: a least-privileged one uses what
/// the audit-writer declared) and the subscription's queue, bound; the channel to use.
pub async fn declare(connection: &Connection, sub: &Subscription) -> lapin::Result<lapin::Channel> {
    let mut channel = connection.create_channel().await?;
    if let Err(e) = sub.topology.declare(&channel).await {
        tracing::debug!(queue = %sub.queue_name(), error = %e, "subscriber: not declaring the topology");
        channel = connection.create_channel().await?;
    }
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from("x-dead-letter-exchange"),
        AMQPValue::LongString(LongString::from(sub.topology.dead_letter_exchange())),
    );
    if let Some(ms) = sub.topology.expire_unused_ms {
        args.insert(ShortString::from("x-expires"), AMQPValue::LongUInt(ms));
    }
    channel
        .queue_declare(
            sub.queue_name().into(),
            QueueDeclareOptions::durable(),
            args,
        )
        .await?;
    for binding in &sub.bindings {
        channel
            .queue_bind(
                sub.queue_name().into(),
                sub.topology.exchange().into(),
                binding.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(channel)
}

async fn session(sub: &Subscription, handler: &dyn Handler) -> anyhow::Result<()> {
    let connection =
        Connection::connect(sub.url.expose_secret(), ConnectionProperties::default()).await?;
    let channel = declare(&connection, sub).await?;
    channel.basic_qos(8, BasicQosOptions::default()).await?;
    let mut deliveries = channel
        .basic_consume(
            sub.queue_name().into(),
            sub.queue.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %sub.queue_name(), "subscriber connected");
    let mut failures: HashMap<uuid::Uuid, u32> = HashMap::new();
    while let Some(delivery) = deliveries.next().await {
        let d = delivery?;
        let events = match parse(&d.data) {
            Ok(events) => events,
            Err(why) => {
                tracing::error!(queue = %sub.queue_name(), reason = %why, "dead-lettering a message that cannot be parsed");
                d.reject(BasicRejectOptions { requeue: false }).await?;
                continue;
            }
        };
        if let Some(why) = events.iter().find_map(|e| forged(&sub.publishers, &d, e)) {
            tracing::error!(queue = %sub.queue_name(), reason = %why, "dead-lettering an event its publisher may not send");
            metrics::counter!("subscriber_messages_dead_lettered_total", "reason" => "source_mismatch")
                .increment(1);
            d.reject(BasicRejectOptions { requeue: false }).await?;
            continue;
        }
        // A message's entries in order; a redelivery handles the ones done before again
        // (handlers are idempotent). Its failures are counted under its first entry.
        let mut outcome = Ok(());
        for event in &events {
            outcome = handler.handle(event).await;
            if outcome.is_err() {
                break;
            }
        }
        let key = events.first().map_or_else(uuid::Uuid::nil, |e| e.id);
        match outcome {
            Ok(()) => {
                failures.remove(&key);
                d.ack(BasicAckOptions::default()).await?;
            }
            Err(e) => {
                let n = failures.entry(key).or_insert(0);
                *n += 1;
                tracing::warn!(queue = %sub.queue_name(), event = %key, attempt = *n, error = %e, "event not handled");
                if *n >= MAX_ATTEMPTS {
                    failures.remove(&key);
                    metrics::counter!("subscriber_messages_dead_lettered_total", "reason" => "failed")
                        .increment(1);
                    d.reject(BasicRejectOptions { requeue: false }).await?;
                } else {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    d.nack(BasicNackOptions {
                        requeue: true,
                        multiple: false,
                    })
                    .await?;
                }
            }
        }
    }
    anyhow::bail!("the broker cancelled the consumer")
}

/// The events of one message ([`crate::batch`]), each of a version this release reads.
fn parse(payload: &[u8]) -> Result<Vec<Event>, String> {
    let events: Vec<Event> = crate::batch::decode(payload)?;
    if let Some(e) = events.iter().find(|e| e.version != VERSION) {
        return Err(format!("unknown envelope version {}", e.version));
    }
    Ok(events)
}

/// Why an event may not be handled as sent: its `source` is not one its publisher's
/// validated RabbitMQ user may speak for.
pub fn forged(publishers: &Publishers, d: &Delivery, e: &Event) -> Option<String> {
    if publishers.is_empty() {
        return None;
    }
    let user = d
        .properties
        .user_id()
        .as_ref()
        .map(|u| u.as_str().to_owned());
    let allowed = user
        .as_deref()
        .and_then(|u| publishers.get(u))
        .is_some_and(|sources| sources.contains(&e.source));
    (!allowed).then(|| {
        format!(
            "event {} of source '{}' published by {}",
            e.id,
            e.source,
            user.map_or_else(|| "no validated user".to_owned(), |u| format!("user '{u}'"))
        )
    })
}

/// The embedded default's subscription: the in-process bus hands it the events of the
/// routing keys it names (exact keys), once the writer has stored them.
pub struct InProcess {
    pub routing_keys: Vec<String>,
    pub handler: Arc<dyn Handler>,
}

#[async_trait::async_trait]
impl Sink for InProcess {
    async fn deliver(&self, routing_key: &str, payload: &[u8]) -> Result<(), BusError> {
        if !self.routing_keys.iter().any(|k| k == routing_key) {
            return Ok(());
        }
        for event in parse(payload).map_err(BusError)? {
            self.handler
                .handle(&event)
                .await
                .map_err(|e| BusError(e.to_string()))?;
        }
        Ok(())
    }
}
