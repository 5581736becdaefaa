//! The audit log (insert and search only: there is no update or delete path), the
//! personal data kept beside it (deleted by an erasure) and notifications.

pub mod audit;
pub mod notifications;
pub mod pii;
