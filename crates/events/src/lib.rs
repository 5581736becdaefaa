//! Audit and notification events, end to end: the versioned envelope, the outbox every
//! service writes in the same transaction as its change, the relay that publishes the
//! outbox (deleting an entry only once the broker confirmed it), and the bus — RabbitMQ
//! for deployments, in-process for the embedded default.

pub mod bus;
pub mod envelope;
pub mod outbox;
pub mod rabbit;
pub mod relay;
pub mod settings;
pub mod unit;

pub use bus::{BusError, InProcessBus, Publisher, Sink};
pub use envelope::{Event, Notification};
pub use rabbit::{RabbitPublisher, Topology};
pub use relay::Relay;
pub use settings::BusSettings;
pub use unit::UnitOfWork;
