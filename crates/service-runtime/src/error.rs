//! The failures every service shares, each with exactly one HTTP answer and one gRPC
//! status. A service's own error enum wraps [`Failure`] for these and adds what is its
//! own (auth's credentials and rate limits); nothing else maps them.

use crate::extract::Rejection;
use crate::http::{FieldError, detail, internal_error, unavailable, validation_failed};
pub use actix_web::http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// What was asked for does not exist, or is another company's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The change conflicts with the current state (a duplicate, a lifecycle step).
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but invalid fields.
    #[error("Validation failed")]
    Validation(Vec<FieldError>),
    /// Refused at the edge: not JSON, malformed, text that cannot be stored.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A dependency did not answer; the client may retry.
    #[error("{dependency} is unavailable: {cause}")]
    Unavailable {
        dependency: &'static str,
        cause: String,
    },
    /// A bug: an opaque 500, the cause chain in the log.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl Failure {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn unavailable(dependency: &'static str, cause: impl Into<String>) -> Self {
        Self::Unavailable {
            dependency,
            cause: cause.into(),
        }
    }
}

impl From<Vec<FieldError>> for Failure {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::Validation(errors)
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::from_db(e, "database error")
    }
}

impl From<crate::db::StepFailed> for Failure {
    fn from(e: crate::db::StepFailed) -> Self {
        Self::from_db(e.source, e.step)
    }
}

impl Failure {
    /// A database error met while doing `step`, as the answer it deserves.
    fn from_db(e: sea_orm::DbErr, step: &'static str) -> Self {
        use crate::db::{DbFailure, classify};
        match classify(&e) {
            DbFailure::Unavailable => Self::unavailable("database", format!("{step}: {e}")),
            DbFailure::Conflict => {
                tracing::info!(error = %e, "constraint refused a change");
                Self::Conflict(
                    "The change conflicts with the current data; reload and retry".into(),
                )
            }
            DbFailure::InvalidValue => {
                tracing::info!(error = %e, "database refused a value");
                Self::invalid("body", "holds a value that cannot be stored")
            }
            DbFailure::Unexpected => Self::Unexpected(anyhow::Error::new(e).context(step)),
        }
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Rejected(r) => r.status(),
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Validation(errors) => validation_failed(errors),
            Self::Rejected(r) => r.error_response(),
            Self::Unavailable { dependency, cause } => unavailable(dependency, cause),
            Self::Unexpected(e) => internal_error(e),
            Self::NotFound(_) | Self::Forbidden(_) | Self::Conflict(_) => {
                detail(self.status_code(), self.to_string())
            }
        }
    }
}

impl From<Failure> for tonic::Status {
    fn from(e: Failure) -> Self {
        match e {
            Failure::NotFound(_) => tonic::Status::not_found(e.to_string()),
            Failure::Forbidden(_) => tonic::Status::permission_denied(e.to_string()),
            Failure::Conflict(_) => tonic::Status::failed_precondition(e.to_string()),
            Failure::Validation(_) | Failure::Rejected(_) => {
                tonic::Status::invalid_argument(e.to_string())
            }
            Failure::Unavailable { dependency, cause } => {
                tracing::warn!(dependency, cause = %cause, "dependency unavailable");
                tonic::Status::unavailable(format!("the {dependency} is not answering"))
            }
            Failure::Unexpected(cause) => {
                tracing::error!(error = ?cause, "unexpected error");
                tonic::Status::internal("internal error")
            }
        }
    }
}

/// The constructors of the shared failures, for every error type that wraps [`Failure`]:
/// `InterviewError::not_found("Candidate")`, `AuthError::conflict(...)`.
pub trait Failures: From<Failure> {
    fn not_found(what: &'static str) -> Self {
        Failure::NotFound(what).into()
    }

    fn forbidden(why: impl Into<String>) -> Self {
        Failure::Forbidden(why.into()).into()
    }

    fn conflict(why: impl Into<String>) -> Self {
        Failure::Conflict(why.into()).into()
    }

    fn invalid(field: &str, message: impl Into<String>) -> Self {
        Failure::invalid(field, message).into()
    }

    fn validation(errors: Vec<FieldError>) -> Self {
        Failure::Validation(errors).into()
    }

    fn unavailable(dependency: &'static str, cause: impl Into<String>) -> Self {
        Failure::unavailable(dependency, cause).into()
    }

    fn unexpected(cause: anyhow::Error) -> Self {
        Failure::Unexpected(cause).into()
    }
}

impl<T: From<Failure>> Failures for T {}

/// A service's error enum that is the shared failures and nothing else: the enum, the
/// conversions into it (`from: [...]` adds types that convert into [`Failure`]), and its
/// one HTTP and gRPC answer, all [`Failure`]'s. Needs `thiserror` in the using crate.
#[macro_export]
macro_rules! failure_enum {
    ($(#[$meta:meta])* $name:ident $(, from: [$($from:ty),* $(,)?])?) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            #[error(transparent)]
            Failure(#[from] $crate::error::Failure),
        }

        impl From<Vec<$crate::http::FieldError>> for $name {
            fn from(errors: Vec<$crate::http::FieldError>) -> Self {
                $crate::error::Failure::Validation(errors).into()
            }
        }

        impl From<$crate::db::DbErr> for $name {
            fn from(e: $crate::db::DbErr) -> Self {
                $crate::error::Failure::from(e).into()
            }
        }

        impl From<$crate::db::StepFailed> for $name {
            fn from(e: $crate::db::StepFailed) -> Self {
                $crate::error::Failure::from(e).into()
            }
        }

        impl From<$crate::error::AnyError> for $name {
            fn from(e: $crate::error::AnyError) -> Self {
                $crate::error::Failure::Unexpected(e).into()
            }
        }

        $($(
            impl From<$from> for $name {
                fn from(e: $from) -> Self {
                    $crate::error::Failure::from(e).into()
                }
            }
        )*)?

        impl $crate::error::ResponseError for $name {
            fn status_code(&self) -> $crate::error::StatusCode {
                match self {
                    Self::Failure(f) => f.status_code(),
                }
            }

            fn error_response(&self) -> $crate::error::HttpResponse {
                match self {
                    Self::Failure(f) => f.error_response(),
                }
            }
        }

        impl From<$name> for $crate::error::GrpcStatus {
            fn from(e: $name) -> Self {
                match e {
                    $name::Failure(f) => f.into(),
                }
            }
        }
    };
}

/// What [`failure_enum!`] names, so the using crate needs no more dependencies.
pub use actix_web::{HttpResponse, ResponseError};
pub use anyhow::Error as AnyError;
pub use tonic::Status as GrpcStatus;
