//! The interview service against the real PostgreSQL and Redis, with real gRPC to a real
//! auth service: both run on random ports; every test has its own database and prefix.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod helpers;

mod access;
mod calendar;
mod candidates;
mod edges;
mod grpc;
mod interviews;
mod ratelimit;
mod revocation;
