//! The scoring service's one error type: the shared failures, mapped to HTTP and gRPC in
//! `service_runtime::error`.

use auth_types::IntrospectError;
use service_runtime::error::Failure;
use service_runtime::http::FieldError;

/// The shared kinds of [`Failure`], which map to HTTP and gRPC in one place.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl ScoringError {
    pub fn not_found(what: &'static str) -> Self {
        Failure::NotFound(what).into()
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        Failure::Forbidden(why.into()).into()
    }

    pub fn conflict(why: impl Into<String>) -> Self {
        Failure::Conflict(why.into()).into()
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Failure::invalid(field, message).into()
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Failure::Validation(errors).into()
    }

    pub fn unavailable(dependency: &'static str, cause: impl Into<String>) -> Self {
        Failure::unavailable(dependency, cause).into()
    }

    pub fn unexpected(cause: anyhow::Error) -> Self {
        Failure::Unexpected(cause).into()
    }
}

impl From<Vec<FieldError>> for ScoringError {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::validation(errors)
    }
}

impl From<sea_orm::DbErr> for ScoringError {
    fn from(e: sea_orm::DbErr) -> Self {
        Failure::from(e).into()
    }
}

impl From<anyhow::Error> for ScoringError {
    fn from(e: anyhow::Error) -> Self {
        Self::unexpected(e)
    }
}

impl From<IntrospectError> for ScoringError {
    fn from(e: IntrospectError) -> Self {
        match e {
            IntrospectError::Unavailable(cause) => {
                Self::unavailable("authentication service", cause)
            }
        }
    }
}

impl actix_web::ResponseError for ScoringError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            Self::Failure(f) => f.status_code(),
        }
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        match self {
            Self::Failure(f) => f.error_response(),
        }
    }
}
