//! One unit of work for a change with events: the change, its outbox rows and the relay's
//! wake-up go together, so no call site can forget the wake or record outside the
//! transaction.

use crate::envelope::{Event, Notification};
use crate::{Relay, outbox};
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use service_runtime::db::{During, StepFailed};
use std::ops::Deref;

/// A database transaction that records events. Dereferences to the transaction, so the
/// stores take `&*work` (or `&work` where a `&DatabaseTransaction` is asked for).
pub struct UnitOfWork {
    txn: DatabaseTransaction,
    relay: Relay,
    recorded: bool,
}

impl UnitOfWork {
    pub async fn begin(db: &DatabaseConnection, relay: &Relay) -> Result<Self, StepFailed> {
        Ok(Self {
            txn: db.begin().await.during("beginning a transaction")?,
            relay: relay.clone(),
            recorded: false,
        })
    }

    /// An event that changes nothing else (a failed sign-in): recorded and published.
    pub async fn record_alone(
        db: &DatabaseConnection,
        relay: &Relay,
        event: &Event,
    ) -> Result<(), StepFailed> {
        outbox::record(db, event)
            .await
            .during("recording the event in the outbox")?;
        relay.wake();
        Ok(())
    }

    /// A change that is one statement (PostgreSQL) with its events, as one statement
    /// ([`outbox::record_with_change`]): committed together, then the relay woken.
    pub async fn change_alone(
        db: &DatabaseConnection,
        relay: &Relay,
        change: sea_orm::Statement,
        events: &[Event],
    ) -> Result<(), StepFailed> {
        outbox::record_with_change(db, change, events)
            .await
            .during("making the change and recording its events")?;
        if !events.is_empty() {
            relay.wake();
        }
        Ok(())
    }

    /// Records an event in this transaction's outbox.
    pub async fn record(&mut self, event: &Event) -> Result<(), StepFailed> {
        outbox::record(&self.txn, event)
            .await
            .during("recording the event in the outbox")?;
        self.recorded = true;
        Ok(())
    }

    /// Records several events in this transaction's outbox, a statement per hundred; each
    /// keeps the trace context it carries ([`outbox::with_trace`]).
    pub async fn record_many(&mut self, events: &[Event]) -> Result<(), StepFailed> {
        outbox::record_many(&self.txn, events)
            .await
            .during("recording the events in the outbox")?;
        self.recorded |= !events.is_empty();
        Ok(())
    }

    /// Records a notification in this transaction's outbox, as the relay's source.
    pub async fn notify(&mut self, notification: &Notification) -> Result<(), StepFailed> {
        outbox::notify(&self.txn, self.relay.source(), notification)
            .await
            .during("recording the notification in the outbox")?;
        self.recorded = true;
        Ok(())
    }

    /// Commits the change with its events, then wakes the relay to publish them at once.
    pub async fn commit(self) -> Result<(), StepFailed> {
        self.txn.commit().await.during("committing the change")?;
        if self.recorded {
            self.relay.wake();
        }
        Ok(())
    }
}

impl Deref for UnitOfWork {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
