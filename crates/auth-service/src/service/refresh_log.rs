//! Refreshes put on the record in groups. Every rotation touches its session and records
//! `TOKEN_REFRESHED` in the outbox, committed before the new pair goes out; doing that
//! in a transaction per refresh made the commit (a WAL flush each) the cost of a
//! refresh. Here the refreshes that arrive while a group is being committed wait for the
//! next one, and a group of up to a hundred is one statement on PostgreSQL (the sessions'
//! `UPDATE … FROM unnest(…)` as a data-modifying `WITH` of the outbox insert:
//! [`events::outbox::record_with_change`]), one round trip and one commit; on SQLite one
//! transaction. Nothing is delayed when refreshes come one at a time (a group is
//! whatever is waiting, never a timer), each refresh still answers only once its own
//! record is committed, and a group that fails fails every refresh in it, each taking
//! its rotation back.

use crate::store::sessions;
use auth_types::SessionId;
use events::{Event, Relay, UnitOfWork};
use sea_orm::{DatabaseConnection, DbBackend};
use service_runtime::db::{DbFailure, During, StepFailed, classify};
use service_runtime::error::Failure;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Refreshes one transaction records at most.
const MAX_GROUP: usize = 100;
/// Groups being committed at once by one log: while one commits, the next gathers. Each
/// HTTP worker has a log of its own.
const WRITERS: usize = 1;
/// Refreshes waiting for a group; a full queue holds the next one back (backpressure).
const QUEUE: usize = 4096;

/// One refresh to record: its session's new expiry and its `TOKEN_REFRESHED` event.
pub struct Touch {
    pub session: SessionId,
    pub expires_at: OffsetDateTime,
    pub event: Event,
}

struct Job {
    touch: Touch,
    done: oneshot::Sender<Result<(), Failure>>,
}

#[derive(Clone)]
pub struct RefreshLog {
    jobs: mpsc::Sender<Job>,
}

impl RefreshLog {
    /// Starts the writers; they stop when the last handle is dropped.
    pub fn start(db: DatabaseConnection, relay: Relay) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..WRITERS {
            tokio::spawn(write_groups(db.clone(), relay.clone(), Arc::clone(&queue)));
        }
        Self { jobs }
    }

    /// Records one refresh; returns once the group holding it has committed.
    pub async fn record(&self, mut touch: Touch) -> Result<(), Failure> {
        // The writer runs outside the request: the event takes the request's trace along.
        touch.event = events::outbox::with_trace(touch.event);
        let (done, committed) = oneshot::channel();
        let stopped = || Failure::unavailable("database", "the refresh log has stopped");
        self.jobs
            .send(Job { touch, done })
            .await
            .map_err(|_closed| stopped())?;
        committed.await.map_err(|_dropped| stopped())?
    }
}

async fn write_groups(
    db: DatabaseConnection,
    relay: Relay,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
) {
    loop {
        let mut group = Vec::new();
        {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            group.push(first);
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
        }
        let result = write(&db, &relay, &group).await;
        metrics::counter!("auth_refresh_groups_total").increment(1);
        metrics::counter!("auth_refresh_grouped_total")
            .increment(u64::try_from(group.len()).unwrap_or(u64::MAX));
        if let Err(e) = &result {
            tracing::error!(error = %e, refreshes = group.len(), "could not record a group of refreshes");
        }
        for job in group {
            // A refresh whose client went away no longer waits: nothing to tell it.
            let _ = job.done.send(result.as_ref().map(|_| ()).map_err(answer));
        }
    }
}

async fn write(db: &DatabaseConnection, relay: &Relay, group: &[Job]) -> Result<(), StepFailed> {
    let touched: Vec<_> = group
        .iter()
        .map(|job| (job.touch.session, job.touch.expires_at))
        .collect();
    let events: Vec<_> = group.iter().map(|job| job.touch.event.clone()).collect();
    // PostgreSQL: the touch and the events in one statement, one round trip.
    if db.get_database_backend() == DbBackend::Postgres {
        return UnitOfWork::change_alone(
            db,
            relay,
            sessions::touch_many_statement(&touched),
            &events,
        )
        .await;
    }
    let mut work = UnitOfWork::begin(db, relay).await?;
    sessions::touch_many(&*work, &touched)
        .await
        .during("touching the refreshed sessions")?;
    work.record_many(&events).await?;
    work.commit().await
}

/// What each refresh of a failed group answers: the database's outage is a 503 (the
/// client retries with the same token, its rotation taken back), anything else a 500.
fn answer(e: &StepFailed) -> Failure {
    match classify(&e.source) {
        DbFailure::Unavailable => Failure::unavailable("database", e.to_string()),
        DbFailure::Conflict | DbFailure::InvalidValue | DbFailure::Unexpected => {
            Failure::Unexpected(anyhow::anyhow!("{e}"))
        }
    }
}
