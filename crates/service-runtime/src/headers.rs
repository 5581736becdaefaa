//! Response headers for browsers: a content security policy (a strict one on the API, one
//! that lets the offline Swagger UI run on `/docs`), no caching of API answers (they carry
//! personal data), a permissions policy denying what an API never needs, and HSTS when an
//! operator turns it on.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};

/// Everything an API response may do in a browser: nothing.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// Swagger UI: its own scripts, styles (it sets some inline) and images, and fetching the
/// OpenAPI document from the same origin; nothing from elsewhere.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";
/// The password-reset page: its own script and style, and posting to its own origin.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), \
     usb=()";

/// What the headers depend on: HSTS is sent only when `HSTS_MAX_AGE_SECONDS` is set.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityHeaders {
    pub hsts_max_age: Option<u64>,
}

pub async fn apply(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let settings = req
        .app_data::<web::Data<SecurityHeaders>>()
        .map(|s| *s.get_ref())
        .unwrap_or_default();
    let path = req.path().to_owned();
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let docs = path == "/docs" || path.starts_with("/docs/");
    let page = path.starts_with("/reset-password");
    let csp = if docs {
        DOCS_CSP
    } else if page {
        PAGE_CSP
    } else {
        API_CSP
    };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if path.starts_with("/api/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(max_age) = settings.hsts_max_age
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={max_age}; includeSubDomains"))
    {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, value);
    }
    Ok(res)
}
