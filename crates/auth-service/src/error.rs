//! The auth service's one error type: its own answers (credentials, tokens, rate limits)
//! and the shared failures, which map to HTTP and gRPC in `service_runtime::error`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use auth_types::AccessDenied;
use service_runtime::error::{Failure, Failures};
use service_runtime::http::detail;

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
    /// A wrong second factor at sign-in (401, like a wrong password).
    #[error("Invalid authentication code")]
    InvalidMfaCode,
    /// 429 with `Retry-After`: `what` was done too often (e.g. "login attempts").
    #[error("Too many {what}; try again in {seconds} seconds")]
    RateLimited {
        what: &'static str,
        seconds: u64,
        /// The limit that was exceeded, for `RateLimit-Limit`.
        limit: u64,
    },
    /// 503 with `Retry-After`: too many sign-ins at once for the hashing pool.
    #[error("Too many sign-ins at once; try again in {seconds} second(s)")]
    Overloaded { seconds: u64 },
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<AccessDenied> for AuthError {
    fn from(e: AccessDenied) -> Self {
        Self::forbidden(e.to_string())
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        Failure::unavailable("token store", e.0).into()
    }
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(e: sea_orm::DbErr) -> Self {
        Failure::from(e).into()
    }
}

impl From<service_runtime::db::StepFailed> for AuthError {
    fn from(e: service_runtime::db::StepFailed) -> Self {
        Failure::from(e).into()
    }
}

impl From<service_runtime::extract::Rejection> for AuthError {
    fn from(e: service_runtime::extract::Rejection) -> Self {
        Failure::from(e).into()
    }
}

impl From<anyhow::Error> for AuthError {
    fn from(e: anyhow::Error) -> Self {
        Self::unexpected(e)
    }
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Overloaded { seconds: 1 },
            HashError::Hash(_) | HashError::Lost | HashError::Closed => {
                Self::unexpected(anyhow::Error::new(e))
            }
        }
    }
}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid => Self::InvalidToken,
            TokenError::Signing(cause) => Self::unexpected(anyhow::Error::new(cause)),
        }
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::MissingToken
            | Self::InvalidToken
            | Self::InvalidMfaCode => StatusCode::UNAUTHORIZED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Failure(f) => f.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Failure(f) => f.error_response(),
            Self::Overloaded { seconds } => self.retry_after(*seconds),
            Self::RateLimited { seconds, limit, .. } => service_runtime::ratelimit::Exceeded {
                limit: *limit,
                retry_after: *seconds,
            }
            .response(self.to_string()),
            Self::MissingToken | Self::InvalidToken => {
                let mut res = detail(self.status_code(), self.to_string());
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                res
            }
            Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::InvalidMfaCode
            | Self::BadRequest(_) => detail(self.status_code(), self.to_string()),
        }
    }
}

impl AuthError {
    /// The `{"detail"}` answer with `Retry-After: seconds`.
    fn retry_after(&self, seconds: u64) -> HttpResponse {
        let mut res = detail(self.status_code(), self.to_string());
        if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

impl From<AuthError> for tonic::Status {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials
            | AuthError::InvalidRefreshToken
            | AuthError::MissingToken
            | AuthError::InvalidToken
            | AuthError::InvalidMfaCode => tonic::Status::unauthenticated(e.to_string()),
            AuthError::RateLimited { .. } => tonic::Status::resource_exhausted(e.to_string()),
            AuthError::Overloaded { .. } => tonic::Status::unavailable(e.to_string()),
            AuthError::BadRequest(_) => tonic::Status::invalid_argument(e.to_string()),
            AuthError::Failure(f) => f.into(),
        }
    }
}
