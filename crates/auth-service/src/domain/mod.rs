//! The auth service's rules: valid values, passwords, tokens.

pub mod email;
pub mod password;
pub mod tokens;
pub mod user;

pub use email::Email;
