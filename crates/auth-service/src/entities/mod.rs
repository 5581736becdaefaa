//! sea-orm entities of the auth service's tables (schema in `migrations/`).

pub mod company;
pub mod mail_outbox;
pub mod mfa_recovery_code;
pub mod password_history;
pub mod password_reset;
pub mod session;
pub mod user;
pub mod user_mfa;
pub mod user_page_access;
