//! sea-orm entities of the interview service's tables (schema in `migrations/`).

pub mod candidate;
pub mod interview;
pub mod participant;
