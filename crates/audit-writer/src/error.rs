//! The audit-writer's one error type: the shared failures, which map to HTTP in
//! `service_runtime::error`, with the audit-writer's own refusals as constructors.

use service_runtime::error::Failure;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl ApiError {
    pub fn not_admin() -> Self {
        Failure::Forbidden("Only admins can read the audit log".into()).into()
    }

    pub fn notification_not_found() -> Self {
        Failure::NotFound("Notification").into()
    }

    pub fn bad_cursor() -> Self {
        Failure::invalid("cursor", "is not a cursor this search gave").into()
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        Failure::from(e).into()
    }
}

impl actix_web::ResponseError for ApiError {
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
