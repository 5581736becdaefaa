//! The auth service's rules: valid values, passwords, tokens.

pub mod device;
pub mod password;
pub mod password_policy;
pub mod tokens;
pub mod totp;
pub mod user;

pub use service_runtime::email::Email;
