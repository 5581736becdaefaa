//! Turning delivered messages into rows: events into the audit log, notifications into
//! the recipients' lists. Used by the RabbitMQ consumer and, in process, as the embedded
//! default's bus sink.

use crate::chain::ChainKey;
use crate::store::{audit, notifications};
use events::{BusError, Event, Notification, Sink};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};

/// A parsed message.
#[derive(Debug, Clone)]
pub enum Message {
    Event(Event),
    Notification(Notification),
}

/// Why a message cannot be stored: it will never parse, so it goes to the dead letters.
#[derive(Debug, thiserror::Error)]
#[error("unparseable message on '{routing_key}': {reason}")]
pub struct Poison {
    pub routing_key: String,
    pub reason: String,
}

/// Text as a column of `max` characters takes it: without NUL (PostgreSQL refuses it in
/// text) and cut to length, so one overlong field never fails a batch.
fn fit(s: &str, max: usize) -> String {
    s.chars().filter(|c| *c != '\0').take(max).collect()
}

fn fit_opt(s: Option<String>, max: usize) -> Option<String> {
    s.map(|s| fit(&s, max))
}

/// The widths of the `audit_logs` and `notifications` columns (migrations).
pub(crate) mod width {
    pub const KIND: usize = 64;
    pub const RESOURCE_TYPE: usize = 64;
    pub const RESOURCE_ID: usize = 64;
    pub const SOURCE: usize = 32;
    pub const TRACEPARENT: usize = 128;
    pub const TITLE: usize = 300;
    /// Bodies are `text`; still bounded, so a flood cannot store megabytes a row.
    pub const BODY: usize = 10_000;
}

impl Message {
    /// The message with every text field fitted to its column.
    fn fitted(self) -> Self {
        match self {
            Message::Event(mut e) => {
                e.kind = fit(&e.kind, width::KIND);
                e.source = fit(&e.source, width::SOURCE);
                e.resource_type = fit_opt(e.resource_type, width::RESOURCE_TYPE);
                e.resource_id = fit_opt(e.resource_id, width::RESOURCE_ID);
                e.traceparent = fit_opt(e.traceparent, width::TRACEPARENT);
                Message::Event(e)
            }
            Message::Notification(mut n) => {
                n.kind = fit(&n.kind, width::KIND);
                n.title = fit(&n.title, width::TITLE);
                n.body = fit(&n.body, width::BODY);
                n.resource_type = fit_opt(n.resource_type, width::RESOURCE_TYPE);
                n.resource_id = fit_opt(n.resource_id, width::RESOURCE_ID);
                Message::Notification(n)
            }
        }
    }
}

/// A delivered message's entries (one envelope, or an array of them: [`events::batch`]),
/// parsed and fitted to the columns they go into; all of them or none.
pub fn parse(routing_key: &str, payload: &[u8]) -> Result<Vec<Message>, Poison> {
    parse_raw(routing_key, payload).map(|ms| ms.into_iter().map(Message::fitted).collect())
}

fn parse_raw(routing_key: &str, payload: &[u8]) -> Result<Vec<Message>, Poison> {
    let poison = |reason: String| Poison {
        routing_key: routing_key.to_owned(),
        reason,
    };
    if routing_key.starts_with("event.") {
        let events: Vec<Event> = events::batch::decode(payload).map_err(poison)?;
        if let Some(e) = events
            .iter()
            .find(|e| e.version != events::envelope::VERSION)
        {
            return Err(poison(format!("unknown envelope version {}", e.version)));
        }
        Ok(events.into_iter().map(Message::Event).collect())
    } else if routing_key.starts_with("notification.") {
        events::batch::decode(payload)
            .map(|ns| ns.into_iter().map(Message::Notification).collect())
            .map_err(poison)
    } else {
        Err(poison("not an event or a notification".into()))
    }
}

/// Stores a batch in one transaction: all of it or none; events are linked into their
/// chains under `chain`, and an erasure event stored erases its subject's personal data
/// ([`crate::erasure`]) after the batch's rows are in, so none of theirs is left behind.
pub async fn store(
    db: &DatabaseConnection,
    chain: &ChainKey,
    batch: &[Message],
) -> Result<(), DbErr> {
    let (mut evs, mut notes) = (Vec::new(), Vec::new());
    for m in batch {
        match m {
            Message::Event(e) => evs.push(e.clone()),
            Message::Notification(n) => notes.push(n.clone()),
        }
    }
    // One span per event, child of the request that caused it, covering this insert.
    let _spans: Vec<tracing::Span> = evs
        .iter()
        .map(|e| {
            let span = tracing::info_span!("audit.insert", otel.name = "audit.insert", action = %e.kind, event_id = %e.id);
            if let Some(tp) = &e.traceparent {
                service_runtime::telemetry::set_remote_parent(&span, |k| (k == "traceparent").then(|| tp.clone()));
            }
            span
        })
        .collect();
    let txn = db.begin().await?;
    let stored = audit::append(&txn, chain, &evs).await?;
    notifications::append(&txn, &notes).await?;
    for erasure in stored.into_iter().filter_map(crate::erasure::Erasure::of) {
        crate::erasure::apply(&txn, &erasure).await?;
    }
    txn.commit().await?;
    metrics::counter!("audit_events_stored_total")
        .increment(u64::try_from(evs.len()).unwrap_or(u64::MAX));
    metrics::counter!("notifications_stored_total")
        .increment(u64::try_from(notes.len()).unwrap_or(u64::MAX));
    Ok(())
}

/// The in-process writer: a publish is done once the row is committed.
pub struct InProcessWriter {
    pub db: DatabaseConnection,
    pub chain: ChainKey,
}

#[async_trait::async_trait]
impl Sink for InProcessWriter {
    async fn deliver(&self, routing_key: &str, payload: &[u8]) -> Result<(), BusError> {
        let messages = parse(routing_key, payload).map_err(|e| {
            metrics::counter!("audit_messages_dead_lettered_total").increment(1);
            BusError(e.to_string())
        })?;
        store(&self.db, &self.chain, &messages)
            .await
            .map_err(|e| BusError(e.to_string()))
    }
}
