//! The relay: publishes a service's outbox, oldest first, and deletes each entry only
//! after the bus took it. Failures back off exponentially per entry; nothing is lost.

use crate::bus::Publisher;
use crate::outbox;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Entries claimed and published at once: all in flight together on one channel.
const BATCH: u64 = 500;
const IDLE_POLL: Duration = Duration::from_millis(500);
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
    /// (a wake-up is kept until it is waited for). The depth gauges are read at most once
    /// a second, not after every batch.
    pub async fn run(self) {
        let mut reported: Option<tokio::time::Instant> = None;
        loop {
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
        }
    }

    /// Publishes one batch of due entries, all in flight at once (the broker confirms
    /// them as they land); deletes the confirmed ones together. How many were published.
    pub async fn pump(&self) -> Result<usize, sea_orm::DbErr> {
        let entries = outbox::claim(&self.db, self.source, BATCH, LEASE).await?;
        if entries.is_empty() {
            return Ok(0);
        }
        let publishes = entries.iter().map(|entry| {
            // Each entry continues the trace of the request that wrote it.
            let traceparent = serde_json::from_str::<serde_json::Value>(&entry.payload)
                .ok()
                .and_then(|v| v.get("traceparent").and_then(|t| t.as_str().map(str::to_owned)));
            let span = tracing::info_span!("outbox.publish", source = self.source, routing_key = %entry.routing_key);
            if let Some(tp) = &traceparent {
                service_runtime::telemetry::set_remote_parent(&span, |k| (k == "traceparent").then(|| tp.clone()));
            }
            let bus = self.bus.clone();
            let fut = async move {
                bus.publish(&entry.routing_key, entry.id, entry.payload.as_bytes(), traceparent.as_deref())
                    .await
            };
            tracing::Instrument::instrument(fut, span)
        });
        let results = futures_util::future::join_all(publishes).await;
        let mut confirmed = Vec::with_capacity(entries.len());
        for (entry, result) in entries.iter().zip(results) {
            match result {
                Ok(()) => confirmed.push(entry.id),
                Err(e) => {
                    let backoff = (1i64 << entry.attempts.clamp(0, 6)).min(MAX_BACKOFF_SECS);
                    outbox::postpone(&self.db, entry, time::Duration::seconds(backoff), &e.0)
                        .await?;
                    metrics::counter!("outbox_publish_failures_total", "source" => self.source)
                        .increment(1);
                    tracing::warn!(source = self.source, id = %entry.id, attempts = entry.attempts + 1, error = %e, "outbox: publish failed; will retry");
                }
            }
        }
        outbox::remove_many(&self.db, &confirmed).await?;
        metrics::counter!("outbox_published_total", "source" => self.source)
            .increment(u64::try_from(confirmed.len()).unwrap_or(u64::MAX));
        Ok(confirmed.len())
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
