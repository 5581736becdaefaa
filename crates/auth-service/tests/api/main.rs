//! The auth service against the real PostgreSQL and Redis: every test gets its own
//! database and key prefix, and talks to the service over HTTP on a random port.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod helpers;

mod account;
mod edges;
mod errors;
mod grpc;
mod lockout;
mod login;
mod logout;
mod operations;
mod refresh;
mod sessions;
mod tokens;
mod users;
