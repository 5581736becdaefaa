//! The scoring service's one error type: the shared failures, which map to HTTP and gRPC in
//! `service_runtime::error` (constructors: `service_runtime::error::Failures`).

service_runtime::failure_enum!(
    /// The shared kinds of failure, nothing of its own.
    ScoringError,
    from: [auth_types::IntrospectError, service_runtime::extract::Rejection]
);
