//! Audit and notification events, end to end: the versioned envelope, the outbox every
//! service writes in the same transaction as its change, the relay that publishes the
//! outbox (deleting an entry only once the broker confirmed it), and the bus — RabbitMQ
//! for deployments, in-process for the embedded default.

pub mod batch;
pub mod bus;
pub mod envelope;
pub mod outbox;
pub mod rabbit;
pub mod relay;
pub mod revocation;
pub mod settings;
pub mod subscriber;
pub mod unit;

/// The closed set of event (and notification) types one service emits, as an enum
/// implementing [`EventType`]: each variant's wire name, and the service's `source`.
///
/// ```
/// events::event_types!(
///     /// What the example service records.
///     ExampleEvent from "example" {
///         Created => "EXAMPLE_CREATED",
///     }
/// );
/// let e = events::Event::new(ExampleEvent::Created);
/// assert_eq!((e.source.as_str(), e.kind.as_str()), ("example", "EXAMPLE_CREATED"));
/// ```
#[macro_export]
macro_rules! event_types {
    ($(#[$meta:meta])* $name:ident from $source:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }

        impl $crate::EventType for $name {
            const SOURCE: &'static str = $source;

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }
    };
}

pub use bus::{BusError, Fanout, InProcessBus, Publisher, Sink};
pub use envelope::{Event, EventType, Notification};
pub use rabbit::{RabbitPublisher, Topology};
pub use relay::Relay;
pub use settings::BusSettings;
pub use unit::UnitOfWork;
