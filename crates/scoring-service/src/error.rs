//! The scoring service's one error type, mapped to HTTP exactly once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use auth_types::IntrospectError;
use service_runtime::http::{FieldError, detail, internal_error, unavailable, validation_failed};

#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("Validation failed")]
    Validation(Vec<FieldError>),
    #[error("{dependency} is unavailable: {cause}")]
    Unavailable {
        dependency: &'static str,
        cause: String,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<Vec<FieldError>> for ScoringError {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::Validation(errors)
    }
}

impl From<sea_orm::DbErr> for ScoringError {
    fn from(e: sea_orm::DbErr) -> Self {
        use service_runtime::db::{DbFailure, classify};
        match classify(&e) {
            DbFailure::Unavailable => Self::Unavailable {
                dependency: "database",
                cause: e.to_string(),
            },
            DbFailure::Conflict => {
                tracing::info!(error = %e, "constraint refused a change");
                Self::Conflict(
                    "The change conflicts with the current data; reload and retry".into(),
                )
            }
            DbFailure::InvalidValue => {
                tracing::info!(error = %e, "database refused a value");
                Self::Validation(vec![FieldError::new(
                    "body",
                    "holds a value that cannot be stored",
                )])
            }
            DbFailure::Unexpected => {
                Self::Unexpected(anyhow::Error::new(e).context("database error"))
            }
        }
    }
}

impl From<IntrospectError> for ScoringError {
    fn from(e: IntrospectError) -> Self {
        match e {
            IntrospectError::Unavailable(cause) => Self::Unavailable {
                dependency: "authentication service",
                cause,
            },
        }
    }
}

impl ResponseError for ScoringError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Validation(errors) => validation_failed(errors),
            Self::Unavailable { dependency, cause } => unavailable(dependency, cause),
            Self::Unexpected(e) => internal_error(e),
            Self::NotFound(_) | Self::Forbidden(_) | Self::Conflict(_) => {
                detail(self.status_code(), self.to_string())
            }
        }
    }
}
