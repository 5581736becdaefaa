//! The relay: publishes a service's outbox, oldest first, and deletes each entry only
//! after the bus took it. Failures back off exponentially per entry; nothing is lost.

use crate::batch;
use crate::bus::{BusError, Publisher};
use crate::outbox;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Entries claimed and published at once: all in flight together on one channel.
const BATCH: u64 = 500;
const IDLE_POLL: Duration = Duration::from_millis(500);
/// The least time between the starts of two batches that follow a wake-up: under load the
/// entries committed meanwhile go out together (a handful of statements and one message
/// for many entries, not for each commit), while an entry written after a quiet spell is
/// published at once.
const GATHER: Duration = Duration::from_millis(10);
/// How often the relay reads the outbox's depth for its gauges.
const DEPTH_EVERY: Duration = Duration::from_secs(1);
const MAX_BACKOFF_SECS: i64 = 60;
/// How long a claimed batch is this relay's to publish.
const LEASE: time::Duration = time::Duration::seconds(30);

#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    source: &'static str,
    bus: Arc<dyn Publisher>,
    wake: Arc<Notify>,
}

impl Relay {
    pub fn new(db: DatabaseConnection, source: &'static str, bus: Arc<dyn Publisher>) -> Self {
        Self {
            db,
            source,
            bus,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The service whose outbox this relay publishes.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Call after committing a transaction that wrote to the outbox: publishes at once
    /// instead of at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until the task is dropped. A full batch is followed by the next at once; a
    /// shorter one means nothing else was due, and what commits meanwhile wakes it again
    /// (a wake-up is kept until it is waited for), at most every [`GATHER`]. The depth gauges are read at most once
    /// a second, not after every batch.
    pub async fn run(self) {
        let mut reported: Option<tokio::time::Instant> = None;
        loop {
            let started = tokio::time::Instant::now();
            match self.pump().await {
                Ok(n) if u64::try_from(n).is_ok_and(|n| n >= BATCH) => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(source = self.source, error = %e, "outbox relay: database error")
                }
            }
            if reported.is_none_or(|at| at.elapsed() >= DEPTH_EVERY) {
                self.report_depth().await;
                reported = Some(tokio::time::Instant::now());
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
            tokio::time::sleep_until(started + GATHER).await;
        }
    }

    /// Publishes one batch of due entries: those of one routing key together, up to
    /// [`batch::MAX_PER_MESSAGE`] a message ([`batch`]), every message in flight at once
    /// (the broker confirms them as they land); deletes the confirmed entries together.
    /// How many were published.
    pub async fn pump(&self) -> Result<usize, sea_orm::DbErr> {
        let entries = outbox::claim(&self.db, self.source, BATCH, LEASE).await?;
        if entries.is_empty() {
            return Ok(0);
        }
        let mut by_key: Vec<(&str, Vec<&outbox::Entry>)> = Vec::new();
        for entry in &entries {
            match by_key.iter_mut().find(|(key, _)| *key == entry.routing_key) {
                Some((_, group)) => group.push(entry),
                None => by_key.push((&entry.routing_key, vec![entry])),
            }
        }
        let messages: Vec<&[&outbox::Entry]> = by_key
            .iter()
            .flat_map(|(_, group)| group.chunks(batch::MAX_PER_MESSAGE))
            .collect();
        let publishes = messages.iter().map(|message| self.publish(message));
        let results = futures_util::future::join_all(publishes).await;
        let mut confirmed = Vec::with_capacity(entries.len());
        for (message, result) in messages.iter().zip(results) {
            match result {
                Ok(()) => confirmed.extend(message.iter().map(|e| e.id)),
                Err(e) => {
                    for entry in message.iter() {
                        let backoff = (1i64 << entry.attempts.clamp(0, 6)).min(MAX_BACKOFF_SECS);
                        outbox::postpone(&self.db, entry, time::Duration::seconds(backoff), &e.0)
                            .await?;
                        tracing::warn!(source = self.source, id = %entry.id, attempts = entry.attempts + 1, error = %e, "outbox: publish failed; will retry");
                    }
                    metrics::counter!("outbox_publish_failures_total", "source" => self.source)
                        .increment(u64::try_from(message.len()).unwrap_or(u64::MAX));
                }
            }
        }
        outbox::remove_many(&self.db, &confirmed).await?;
        metrics::counter!("outbox_published_total", "source" => self.source)
            .increment(u64::try_from(confirmed.len()).unwrap_or(u64::MAX));
        Ok(confirmed.len())
    }

    /// One message: a lone entry continues the trace of the request that wrote it (its
    /// `traceparent` also rides as a header); several go as one array.
    async fn publish(&self, message: &[&outbox::Entry]) -> Result<(), BusError> {
        let Some(routing_key) = message.first().map(|e| e.routing_key.as_str()) else {
            return Ok(());
        };
        if let [entry] = message {
            let traceparent = serde_json::from_str::<serde_json::Value>(&entry.payload)
                .ok()
                .and_then(|v| {
                    v.get("traceparent")
                        .and_then(|t| t.as_str().map(str::to_owned))
                });
            let span = tracing::info_span!("outbox.publish", source = self.source, routing_key = %routing_key);
            if let Some(tp) = &traceparent {
                service_runtime::telemetry::set_remote_parent(&span, |k| {
                    (k == "traceparent").then(|| tp.clone())
                });
            }
            let publish = self.bus.publish(
                routing_key,
                entry.id,
                entry.payload.as_bytes(),
                traceparent.as_deref(),
            );
            return tracing::Instrument::instrument(publish, span).await;
        }
        let span = tracing::info_span!("outbox.publish", source = self.source, routing_key = %routing_key, entries = message.len());
        let entries: Vec<(uuid::Uuid, &str)> =
            message.iter().map(|e| (e.id, e.payload.as_str())).collect();
        tracing::Instrument::instrument(self.bus.publish_many(routing_key, &entries), span).await
    }

    #[expect(
        clippy::as_conversions,
        reason = "a gauge is an f64; a depth beyond 2^53 entries need not be exact"
    )]
    async fn report_depth(&self) {
        if let Ok((n, age)) = outbox::depth(&self.db, self.source).await {
            metrics::gauge!("outbox_depth", "source" => self.source).set(n as f64);
            metrics::gauge!("outbox_oldest_age_seconds", "source" => self.source).set(age);
        }
    }
}
