//! The RabbitMQ consumer: manual acks within a prefetch window, batched inserts, acks
//! only after the commit. An unparseable message is dead-lettered at once; one that
//! cannot be stored is retried and dead-lettered after `max_attempts`. Reconnects
//! after any failure.

use crate::writer::{self, Message};
use events::Topology;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// The broker, credentials included: never in a log line or a `Debug` dump.
    pub url: SecretString,
    pub topology: Topology,
    /// At most this many messages a transaction.
    pub batch: usize,
    /// How long a batch waits to fill up once its first message arrived.
    pub batch_wait: Duration,
    /// Failed stores of one message before it goes to the dead letters.
    pub max_attempts: u32,
    /// The key events are chained under.
    pub chain: crate::chain::ChainKey,
    /// `AUDIT_PUBLISHERS`: the sources each RabbitMQ user may publish (empty: unchecked).
    pub publishers: crate::settings::Publishers,
}

/// Why an event may not be stored as its publisher sent it: its `source` is not one the
/// publisher's validated RabbitMQ user (`user_id`) may speak for.
fn forged(s: &ConsumerSettings, d: &Delivery, m: &Message) -> Option<String> {
    match m {
        Message::Event(e) => events::subscriber::forged(&s.publishers, d, e),
        Message::Notification(_) => None,
    }
}

/// Consumes until the task is dropped.
pub async fn run(db: DatabaseConnection, settings: ConsumerSettings) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match session(&db, &settings).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(error = %e, "audit consumer: connection lost; reconnecting");
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

async fn session(db: &DatabaseConnection, s: &ConsumerSettings) -> anyhow::Result<()> {
    let connection =
        Connection::connect(s.url.expose_secret(), ConnectionProperties::default()).await?;
    // A channel per queue: each delivers in the order of its delivery tags, so a batch
    // that holds a channel's deliveries up to a tag is acknowledged with one frame.
    let channel = connection.create_channel().await?;
    s.topology.declare(&channel).await?;
    let notes_channel = connection.create_channel().await?;
    let prefetch = u16::try_from(s.batch.saturating_mul(2)).unwrap_or(u16::MAX);
    for c in [&channel, &notes_channel] {
        c.basic_qos(prefetch, BasicQosOptions::default()).await?;
    }
    let audit = channel
        .basic_consume(
            s.topology.audit_queue().into(),
            "audit-writer".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let notes = notes_channel
        .basic_consume(
            s.topology.notification_queue().into(),
            "audit-writer-notifications".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %s.topology.audit_queue(), "audit consumer connected");
    let mut deliveries = futures_util::stream::select(audit, notes);
    let mut failures: HashMap<String, u32> = HashMap::new();
    loop {
        let Some(first) = deliveries.next().await else {
            anyhow::bail!("the broker cancelled the consumer");
        };
        // A batch is counted in entries (a message may carry many: `events::batch`).
        let mut batch = vec![Received::from(first?)];
        let mut entries = batch[0].entries();
        let deadline = tokio::time::Instant::now() + s.batch_wait;
        while entries < s.batch {
            match tokio::time::timeout_at(deadline, deliveries.next()).await {
                Ok(Some(d)) => {
                    let received = Received::from(d?);
                    entries += received.entries();
                    batch.push(received);
                }
                Ok(None) | Err(_) => break,
            }
        }
        handle(db, s, batch, &mut failures).await?;
    }
}

/// A delivery and its entries, parsed (or why it never will be).
struct Received {
    delivery: Delivery,
    parsed: Result<Vec<Message>, writer::Poison>,
}

impl From<Delivery> for Received {
    fn from(delivery: Delivery) -> Self {
        let parsed = writer::parse(delivery.routing_key.as_str(), &delivery.data);
        Self { delivery, parsed }
    }
}

impl Received {
    fn entries(&self) -> usize {
        self.parsed.as_ref().map_or(1, Vec::len)
    }
}

/// Acknowledges a stored batch: per queue (channel), every delivery up to the newest with
/// one `multiple` ack. The batch holds all of that channel's deliveries not yet settled
/// up to it (batches are settled one after the other, and a channel delivers in order).
async fn ack_all(stored: impl Iterator<Item = Delivery>) -> anyhow::Result<()> {
    let (mut events, mut notes): (Option<Delivery>, Option<Delivery>) = (None, None);
    for d in stored {
        let newest = if d.routing_key.as_str().starts_with("notification.") {
            &mut notes
        } else {
            &mut events
        };
        if newest
            .as_ref()
            .is_none_or(|n| n.delivery_tag < d.delivery_tag)
        {
            *newest = Some(d);
        }
    }
    for d in [events, notes].into_iter().flatten() {
        d.ack(BasicAckOptions { multiple: true }).await?;
    }
    Ok(())
}

/// What counts a message's failed stores across redeliveries: the envelope id of its first
/// entry, which every parsed message has (a delivery tag changes with each redelivery, and
/// a publisher need not set an AMQP message id).
fn key(messages: &[Message]) -> String {
    match messages.first() {
        Some(Message::Event(e)) => format!("event:{}", e.id),
        Some(Message::Notification(n)) => format!("notification:{}", n.id),
        None => "empty".to_owned(),
    }
}

async fn handle(
    db: &DatabaseConnection,
    s: &ConsumerSettings,
    batch: Vec<Received>,
    failures: &mut HashMap<String, u32>,
) -> anyhow::Result<()> {
    let mut good: Vec<(Delivery, Vec<Message>)> = Vec::with_capacity(batch.len());
    for Received {
        delivery: d,
        parsed,
    } in batch
    {
        match parsed {
            Ok(messages) => {
                if let Some(why) = messages.iter().find_map(|m| forged(s, &d, m)) {
                    tracing::error!(reason = %why, "dead-lettering an event its publisher may not send");
                    metrics::counter!("audit_messages_dead_lettered_total", "reason" => "source_mismatch")
                        .increment(1);
                    d.reject(BasicRejectOptions { requeue: false }).await?;
                } else {
                    good.push((d, messages));
                }
            }
            Err(poison) => {
                tracing::error!(error = %poison, "dead-lettering a message that cannot be parsed");
                metrics::counter!("audit_messages_dead_lettered_total").increment(1);
                d.reject(BasicRejectOptions { requeue: false }).await?;
            }
        }
    }
    if good.is_empty() {
        return Ok(());
    }
    let messages: Vec<Message> = good.iter().flat_map(|(_, m)| m.iter().cloned()).collect();
    match writer::store(db, &s.chain, &messages).await {
        Ok(()) => {
            metrics::counter!("audit_messages_consumed_total")
                .increment(u64::try_from(messages.len()).unwrap_or(u64::MAX));
            for (_, m) in &good {
                failures.remove(&key(m));
            }
            ack_all(good.into_iter().map(|(d, _)| d)).await?;
        }
        Err(e) => {
            tracing::warn!(error = %e, size = messages.len(), "audit batch not stored");
            if db.ping().await.is_err() {
                // The database is away: nothing is wrong with the messages. Put them back
                // uncounted and wait, however long it takes.
                for (d, _) in good {
                    d.nack(BasicNackOptions {
                        requeue: true,
                        multiple: false,
                    })
                    .await?;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Ok(());
            }
            // The database answers but refused the batch: find the messages it refuses.
            for (d, m) in good {
                let Err(e) = store_alone(db, s, &m).await else {
                    failures.remove(&key(&m));
                    d.ack(BasicAckOptions::default()).await?;
                    continue;
                };
                let k = key(&m);
                let n = failures.entry(k.clone()).or_insert(0);
                *n += 1;
                if *n >= s.max_attempts {
                    failures.remove(&k);
                    metrics::counter!("audit_messages_dead_lettered_total").increment(1);
                    tracing::error!(message = %k, error = %e, "dead-lettering a message that could not be stored");
                    d.reject(BasicRejectOptions { requeue: false }).await?;
                } else {
                    d.nack(BasicNackOptions {
                        requeue: true,
                        multiple: false,
                    })
                    .await?;
                }
            }
        }
    }
    Ok(())
}

/// One message's entries by themselves: together, or when that fails, each on its own so
/// every entry that can be stored is (a message redelivered or replayed from the dead
/// letters then stores only the rest: entries are stored by id). The first refusal, if any.
async fn store_alone(
    db: &DatabaseConnection,
    s: &ConsumerSettings,
    messages: &[Message],
) -> Result<(), sea_orm::DbErr> {
    let Err(e) = writer::store(db, &s.chain, messages).await else {
        return Ok(());
    };
    if messages.len() == 1 {
        return Err(e);
    }
    let mut refused = None;
    for m in messages {
        if let Err(e) = writer::store(db, &s.chain, std::slice::from_ref(m)).await {
            refused.get_or_insert(e);
        }
    }
    refused.map_or(Ok(()), Err)
}
