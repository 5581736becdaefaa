//! The audit-writer's one error type: the shared failures, which map to HTTP in
//! `service_runtime::error`, with the audit-writer's own refusals as constructors.

use auth_types::AccessDenied;
use service_runtime::error::{Failure, Failures};

service_runtime::failure_enum!(
    /// The shared kinds of failure.
    ApiError
);

impl ApiError {
    pub fn not_admin() -> Self {
        Self::forbidden("Only admins can read the audit log")
    }

    /// The caller lacks the page an endpoint needs.
    pub fn denied(e: AccessDenied) -> Self {
        Self::forbidden(e.to_string())
    }

    pub fn notification_not_found() -> Self {
        Self::not_found("Notification")
    }

    pub fn bad_cursor() -> Self {
        Failure::invalid("cursor", "is not a cursor this search gave").into()
    }
}
