//! The seam between the relay and wherever events go: one trait, two implementations
//! (RabbitMQ in `rabbit`, and the in-process bus of the embedded default here).

use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, thiserror::Error)]
#[error("event bus: {0}")]
pub struct BusError(pub String);

/// Hands one message to the bus; `Ok` only once it is safely taken (a broker confirm,
/// or the in-process writer's commit), so the relay may then drop it from the outbox.
#[async_trait::async_trait]
pub trait Publisher: Send + Sync {
    async fn publish(
        &self,
        routing_key: &str,
        message_id: Uuid,
        payload: &[u8],
        traceparent: Option<&str>,
    ) -> Result<(), BusError>;

    /// Hands several entries of one routing key to the bus, all or none `Ok`: by default
    /// one message each; the broker takes them as one message ([`crate::batch`]).
    async fn publish_many(
        &self,
        routing_key: &str,
        entries: &[(Uuid, &str)],
    ) -> Result<(), BusError> {
        for (id, payload) in entries {
            self.publish(routing_key, *id, payload.as_bytes(), None)
                .await?;
        }
        Ok(())
    }
}

/// What consumes messages in process (the audit-writer of the embedded default).
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    async fn deliver(&self, routing_key: &str, payload: &[u8]) -> Result<(), BusError>;
}

/// The embedded default's bus: publishing is delivering to the in-process writer and
/// waiting for it to commit.
#[derive(Clone)]
pub struct InProcessBus {
    sink: Arc<dyn Sink>,
}

impl InProcessBus {
    pub fn new(sink: Arc<dyn Sink>) -> Self {
        Self { sink }
    }
}

#[async_trait::async_trait]
impl Publisher for InProcessBus {
    async fn publish(
        &self,
        routing_key: &str,
        _message_id: Uuid,
        payload: &[u8],
        _traceparent: Option<&str>,
    ) -> Result<(), BusError> {
        self.sink.deliver(routing_key, payload).await
    }
}

/// The embedded default's consumers in a row: the writer first, then each subscription
/// (the scoring service's erasure). A failure fails the publish, so the relay hands the
/// message to all of them again; each is idempotent.
pub struct Fanout(pub Vec<Arc<dyn Sink>>);

#[async_trait::async_trait]
impl Sink for Fanout {
    async fn deliver(&self, routing_key: &str, payload: &[u8]) -> Result<(), BusError> {
        for sink in &self.0 {
            sink.deliver(routing_key, payload).await?;
        }
        Ok(())
    }
}
