//! sea-orm entities of the auth service's tables (schema in `migrations/`).

pub mod company;
pub mod session;
pub mod user;
pub mod user_page_access;
