//! Persistence: sea-orm queries over the auth tables, and the token store.

pub mod companies;
pub mod mail;
pub mod mfa;
pub mod passwords;
pub mod privacy;
pub mod sessions;
pub mod tokens;
pub mod users;

pub use service_runtime::db::is_unique_violation;
