//! Turning delivered messages into rows: events into the audit log, notifications into
//! the recipients' lists. Used by the RabbitMQ consumer and, in process, as the embedded
//! default's bus sink.

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

pub fn parse(routing_key: &str, payload: &[u8]) -> Result<Message, Poison> {
    let poison = |reason: String| Poison {
        routing_key: routing_key.to_owned(),
        reason,
    };
    if routing_key.starts_with("event.") {
        let e: Event = serde_json::from_slice(payload).map_err(|e| poison(e.to_string()))?;
        if e.version != events::envelope::VERSION {
            return Err(poison(format!("unknown envelope version {}", e.version)));
        }
        Ok(Message::Event(e))
    } else if routing_key.starts_with("notification.") {
        serde_json::from_slice(payload)
            .map(Message::Notification)
            .map_err(|e| poison(e.to_string()))
    } else {
        Err(poison("not an event or a notification".into()))
    }
}

/// Stores a batch in one transaction: all of it or none.
pub async fn store(db: &DatabaseConnection, batch: &[Message]) -> Result<(), DbErr> {
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
    audit::append(&txn, &evs).await?;
    notifications::append(&txn, &notes).await?;
    txn.commit().await?;
    metrics::counter!("audit_events_stored_total").increment(evs.len() as u64);
    metrics::counter!("notifications_stored_total").increment(notes.len() as u64);
    Ok(())
}

/// The in-process writer: a publish is done once the row is committed.
pub struct InProcessWriter {
    pub db: DatabaseConnection,
}

#[async_trait::async_trait]
impl Sink for InProcessWriter {
    async fn deliver(&self, routing_key: &str, payload: &[u8]) -> Result<(), BusError> {
        let message = parse(routing_key, payload).map_err(|e| {
            metrics::counter!("audit_messages_dead_lettered_total").increment(1);
            BusError(e.to_string())
        })?;
        store(&self.db, &[message])
            .await
            .map_err(|e| BusError(e.to_string()))
    }
}
