//! The audit log (insert and search only: there is no update or delete path) and
//! notifications.

pub mod audit;
pub mod notifications;
