//! The failures every service shares, each with exactly one HTTP answer and one gRPC
//! status. A service's own error enum wraps [`Failure`] for these and adds what is its
//! own (auth's credentials and rate limits); nothing else maps them.

use crate::extract::Rejection;
use crate::http::{FieldError, detail, internal_error, unavailable, validation_failed};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

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
        use crate::db::{DbFailure, classify};
        match classify(&e) {
            DbFailure::Unavailable => Self::unavailable("database", e.to_string()),
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
            DbFailure::Unexpected => {
                Self::Unexpected(anyhow::Error::new(e).context("database error"))
            }
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
