//! The scoring service against the real PostgreSQL and Redis, with real gRPC to real
//! auth and interview services, all on random ports with a database of their own.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod helpers;

mod access;
mod edges;
mod privacy;
mod reports;
mod rubrics;
mod scorecards;
