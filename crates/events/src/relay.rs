//! The relay: publishes a service's outbox, oldest first, and deletes each entry only
//! after the bus took it. Failures back off exponentially per entry; nothing is lost. On
//! PostgreSQL the outbox rotates through slots ([`outbox::slot_of`]) and the relay
//! empties the drained one by `TRUNCATE`, so deleted entries never pile up as dead rows
//! in front of its scans.

use crate::batch;
use crate::bus::{BusError, Publisher};
use crate::outbox;
use sea_orm::{DatabaseConnection, DbBackend, TransactionTrait};
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
/// How long a batch leased on the embedded SQLite is this relay's to publish.
const LEASE: time::Duration = time::Duration::seconds(30);

/// How long an entry waits after its `attempts`-th failure: 1, 2, 4 … up to
/// [`MAX_BACKOFF_SECS`] seconds.
fn backoff(entry: &outbox::Entry) -> time::Duration {
    time::Duration::seconds((1i64 << entry.attempts.clamp(0, 6)).min(MAX_BACKOFF_SECS))
}

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
    /// (a wake-up is kept until it is waited for), at most every [`GATHER`]. Once a second
    /// at most, not after every batch (full ones included), it reads the depth gauges and
    /// (PostgreSQL) empties the outbox's drained slot.
    pub async fn run(self) {
        let mut reported: Option<tokio::time::Instant> = None;
        loop {
            let started = tokio::time::Instant::now();
            let full = match self.pump().await {
                Ok(n) => u64::try_from(n).is_ok_and(|n| n >= BATCH),
                Err(e) => {
                    tracing::warn!(source = self.source, error = %e, "outbox relay: database error");
                    false
                }
            };
            // Also while a backlog drains in full batches: the slots it empties are
            // truncated as they are drained, not once it is all gone.
            if reported.is_none_or(|at| at.elapsed() >= DEPTH_EVERY) {
                self.report_depth().await;
                self.truncate_drained_slot().await;
                reported = Some(tokio::time::Instant::now());
            }
            if full {
                continue;
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
    /// (the broker confirms them as they land). On PostgreSQL the batch is taken out of the
    /// outbox in a transaction ([`outbox::take`]) that commits once the broker answered,
    /// with what it did not confirm put back for a later attempt; on the embedded SQLite it
    /// is leased ([`outbox::claim`]) and the confirmed entries deleted together. How many
    /// were published.
    pub async fn pump(&self) -> Result<usize, sea_orm::DbErr> {
        if self.db.get_database_backend() == DbBackend::Postgres {
            let due = outbox::due_slots(&self.db, self.source).await?;
            if due.is_empty() {
                return Ok(0);
            }
            let txn = self.db.begin().await?;
            let mut entries = Vec::new();
            for slot in due {
                let left = BATCH.saturating_sub(u64::try_from(entries.len()).unwrap_or(BATCH));
                if left == 0 {
                    break;
                }
                entries.extend(outbox::take(&txn, self.source, slot, left).await?);
            }
            if entries.is_empty() {
                txn.rollback().await?;
                return Ok(0);
            }
            let (confirmed, failed) = self.publish_all(&entries).await;
            for (message, error) in &failed {
                let delays: Vec<_> = message.iter().map(|e| (*e, backoff(e))).collect();
                outbox::put_back(&txn, self.source, &delays, error).await?;
            }
            txn.commit().await?;
            return Ok(self.published(confirmed.len()));
        }
        let entries = outbox::claim(&self.db, self.source, BATCH, LEASE).await?;
        if entries.is_empty() {
            return Ok(0);
        }
        let (confirmed, failed) = self.publish_all(&entries).await;
        for (message, error) in &failed {
            for entry in message {
                outbox::postpone(&self.db, entry, backoff(entry), error).await?;
            }
        }
        outbox::remove_many(&self.db, &confirmed).await?;
        Ok(self.published(confirmed.len()))
    }

    fn published(&self, n: usize) -> usize {
        metrics::counter!("outbox_published_total", "source" => self.source)
            .increment(u64::try_from(n).unwrap_or(u64::MAX));
        n
    }

    /// Publishes `entries` grouped by routing key into messages, all in flight at once:
    /// the ids the broker confirmed, and the messages it did not with their error (logged
    /// and counted here).
    async fn publish_all<'e>(
        &self,
        entries: &'e [outbox::Entry],
    ) -> (Vec<uuid::Uuid>, Vec<(Vec<&'e outbox::Entry>, String)>) {
        let mut by_key: Vec<(&str, Vec<&outbox::Entry>)> = Vec::new();
        for entry in entries {
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
        let mut failed = Vec::new();
        for (message, result) in messages.iter().zip(results) {
            match result {
                Ok(()) => confirmed.extend(message.iter().map(|e| e.id)),
                Err(e) => {
                    for entry in message.iter() {
                        tracing::warn!(source = self.source, id = %entry.id, attempts = entry.attempts + 1, error = %e, "outbox: publish failed; will retry");
                    }
                    metrics::counter!("outbox_publish_failures_total", "source" => self.source)
                        .increment(u64::try_from(message.len()).unwrap_or(u64::MAX));
                    failed.push((message.to_vec(), e.0));
                }
            }
        }
        (confirmed, failed)
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

    /// On PostgreSQL: empties the outbox's slot written two turns ago once it is drained
    /// ([`outbox::truncate_drained_slot`]); any relay may, and one that finds it busy or
    /// not yet empty leaves it for the next second.
    async fn truncate_drained_slot(&self) {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return;
        }
        match outbox::truncate_drained_slot(&self.db).await {
            Ok(true) => metrics::counter!("outbox_slots_emptied_total").increment(1),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(source = self.source, error = %e, "outbox relay: could not empty a drained slot")
            }
        }
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
