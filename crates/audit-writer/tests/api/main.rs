//! The event pipeline through the real RabbitMQ into the real PostgreSQL: services write
//! events in their transactions, relays publish them with confirms, the audit-writer
//! stores them; and what happens when pieces fail.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod helpers;

mod batches;
mod chain;
mod edges;
mod faults;
mod gdpr;
mod pipeline;
mod publishers;
mod replicas;
mod report;
mod retention;
mod roles;
mod rotation;
