//! The audit-writer: consumes the platform's events into the append-only audit log and
//! users' notifications, and serves the audit search, the notifications and their parts
//! of a person's data export (:8003).

pub mod chain;
pub mod consumer;
pub mod erasure;
pub mod error;
pub mod partitions;
pub mod pii;
pub mod report;
pub mod retention;
pub mod routes;
pub mod seed;
pub mod settings;
pub mod startup;
pub mod store;
pub mod verify;
pub mod writer;

pub use settings::{EmbeddedDefaults, Settings};
pub use startup::Application;
