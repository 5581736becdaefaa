//! The auth service's one error type, mapped to HTTP exactly once.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use auth_types::AccessDenied;
use service_runtime::http::{FieldError, detail, internal_error, unavailable, validation_failed};

use crate::domain::password::HashError;
use crate::domain::tokens::TokenError;
use crate::store::tokens::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Invalid email or password")]
    InvalidCredentials,
    #[error("Invalid refresh token")]
    InvalidRefreshToken,
    #[error("Not authenticated")]
    MissingToken,
    #[error("Invalid token")]
    InvalidToken,
    #[error(transparent)]
    Forbidden(#[from] AccessDenied),
    #[error("{0}")]
    ForbiddenAction(&'static str),
    #[error("Too many login attempts; try again in {0} seconds")]
    RateLimited(u64),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("Validation failed")]
    Validation(Vec<FieldError>),
    /// A dependency did not answer; the client may retry.
    #[error("{dependency} is unavailable: {cause}")]
    Unavailable {
        dependency: &'static str,
        cause: String,
    },
    /// The request itself was refused at the edge (not JSON, malformed, unstorable text).
    #[error(transparent)]
    Rejected(#[from] service_runtime::extract::Rejection),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AuthError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable {
            dependency: "token store",
            cause: e.0,
        }
    }
}

impl From<sea_orm::DbErr> for AuthError {
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

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        Self::Unexpected(anyhow::Error::new(e))
    }
}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid => Self::InvalidToken,
            TokenError::Signing(cause) => Self::Unexpected(anyhow::Error::new(cause)),
        }
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::MissingToken
            | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::ForbiddenAction(_) => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Rejected(r) => r.status(),
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Validation(errors) => validation_failed(errors),
            Self::Unavailable { dependency, cause } => unavailable(dependency, cause),
            Self::Unexpected(e) => internal_error(e),
            Self::Rejected(r) => r.error_response(),
            Self::RateLimited(seconds) => {
                let mut res = detail(self.status_code(), self.to_string());
                if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            Self::MissingToken | Self::InvalidToken => {
                let mut res = detail(self.status_code(), self.to_string());
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                res
            }
            Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::Forbidden(_)
            | Self::ForbiddenAction(_)
            | Self::NotFound(_)
            | Self::Conflict(_)
            | Self::BadRequest(_) => detail(self.status_code(), self.to_string()),
        }
    }
}
