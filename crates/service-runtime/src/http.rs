//! The error-to-HTTP mapping every service shares: `{"detail": ...}` for every error,
//! whether a handler, an extractor or the router produced it.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::error::{InternalError, PathError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;

/// Request bodies larger than this are refused with 413 unless a service says otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// A response `{"detail": ...}` with the given status.
/// Where a caller stands against a rate limit, as the `RateLimit-Limit`,
/// `RateLimit-Remaining` and `RateLimit-Reset` headers say it (IETF
/// draft-ietf-httpapi-ratelimit-headers): on allowed answers and on the 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed in the window.
    pub limit: u64,
    /// Requests left in it.
    pub remaining: u64,
    /// Seconds until the window starts over.
    pub reset: u64,
}

impl Quota {
    /// Of two limits the caller is under, the one closer to refusing.
    pub fn tighter(self, other: Option<Quota>) -> Quota {
        match other {
            Some(o) if o.remaining < self.remaining => o,
            Some(_) | None => self,
        }
    }

    /// Adds the three headers to `res`.
    pub fn apply(&self, res: &mut HttpResponse) {
        self.apply_to(res.headers_mut());
    }

    /// The standing a response's `RateLimit-*` headers already report.
    pub fn from_headers(headers: &header::HeaderMap) -> Option<Quota> {
        let read = |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.parse().ok() };
        Some(Quota {
            limit: read("ratelimit-limit")?,
            remaining: read("ratelimit-remaining")?,
            reset: read("ratelimit-reset")?,
        })
    }

    /// Sets the three headers in `headers`.
    pub fn apply_to(&self, headers: &mut header::HeaderMap) {
        for (name, value) in [
            ("ratelimit-limit", self.limit),
            ("ratelimit-remaining", self.remaining),
            ("ratelimit-reset", self.reset),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
                headers.insert(header::HeaderName::from_static(name), v);
            }
        }
    }
}

/// An answer with the rate-limit standing it was given under, if any.
#[derive(Debug)]
pub struct Limited<T> {
    pub value: T,
    pub quota: Option<Quota>,
}

/// `res` with the rate-limit headers, when there is a standing to tell.
pub fn with_quota(quota: Option<Quota>, mut res: HttpResponse) -> HttpResponse {
    if let Some(q) = quota {
        q.apply(&mut res);
    }
    res
}

pub fn detail(status: StatusCode, detail: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "detail": detail.into() }))
}

/// One failing field of a request that was well-formed but invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// 422 with a readable `detail` and the failing fields in `errors`.
pub fn validation_failed(errors: &[FieldError]) -> HttpResponse {
    let summary = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    HttpResponse::UnprocessableEntity().json(json!({
        "detail": format!("Validation failed: {summary}"),
        "errors": errors,
    }))
}

/// A path segment that cannot be an id names no resource: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req| {
        InternalError::from_response(err, detail(StatusCode::NOT_FOUND, "Not found")).into()
    })
}

/// The default service of an app: unknown routes are 404 `{"detail": "Not found"}`.
pub async fn not_found() -> HttpResponse {
    detail(StatusCode::NOT_FOUND, "Not found")
}

/// Middleware that gives every error response that is not already JSON a
/// `{"detail": ...}` body (405 from the router, 413 from the payload limits, ...).
/// Server errors never carry their cause to the client.
pub fn json_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(ensure_json_error)
}

fn ensure_json_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let status = res.status();
    // JSON bodies explain themselves, except a server error's, which may carry a cause.
    let keeps_body =
        is_json && (!status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE);
    if keeps_body {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        "Internal server error"
    } else {
        status.canonical_reason().unwrap_or("Request failed")
    };
    let (req, mut old) = res.into_parts();
    let mut new = detail(status, message);
    // Keep headers the router set (e.g. `Allow` on 405), drop the old body's framing.
    for (name, value) in old.headers_mut().drain() {
        if let Some(name) = name
            && name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
        {
            new.headers_mut().insert(name, value);
        }
    }
    new.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

/// 503 for a dependency that did not answer; the cause goes to the log, not the client.
pub fn unavailable(dependency: &str, cause: &str) -> HttpResponse {
    tracing::warn!(dependency, cause = %cause, "dependency unavailable");
    detail(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("Service temporarily unavailable: the {dependency} is not answering"),
    )
}

/// 500 with an opaque body; the whole cause chain goes to the log.
pub fn internal_error(cause: &anyhow::Error) -> HttpResponse {
    tracing::error!(error = ?cause, "unexpected error");
    detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
}
