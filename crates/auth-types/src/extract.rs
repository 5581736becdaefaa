//! The actix extractor that turns `Authorization: Bearer …` into the principal, asking
//! auth (through the cached client). The page an endpoint belongs to is declared where
//! the endpoint is registered, with `.app_data(RequiredPage(Page::…))`; reads (GET, HEAD)
//! need the page, anything else needs the page and a role that writes. Each request of
//! an authenticated user counts toward the service's `API_RATE_LIMIT_PER_MINUTE`, when
//! the service registers its [`ApiRateLimit`] as app data.

use crate::client::IntrospectionClient;
use crate::{AccessDenied, Page, Principal};
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use service_runtime::http::detail;
use service_runtime::ratelimit::{self, ApiRateLimit, Exceeded};

/// The page of the endpoints it is registered on.
#[derive(Clone, Copy, Debug)]
pub struct RequiredPage(pub Page);

/// The authenticated caller, already checked against the endpoint's page.
#[derive(Clone, Debug)]
pub struct Caller(pub Principal);

#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    #[error("Not authenticated")]
    MissingToken,
    #[error("Invalid token")]
    InvalidToken,
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    #[error("Authentication service unavailable")]
    Unavailable,
    #[error("Introspection client is not configured")]
    NotConfigured,
    #[error("Too many requests; try again in {} seconds", .0.retry_after)]
    RateLimited(Exceeded),
}

impl ResponseError for CallerError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::Denied(_) => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::RateLimited(exceeded) = self {
            return exceeded.response(self.to_string());
        }
        let mut res = detail(self.status_code(), self.to_string());
        if matches!(self, Self::MissingToken | Self::InvalidToken) {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Whether a request only reads.
fn reads(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequest for Caller {
    type Error = CallerError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let client = req.app_data::<web::Data<IntrospectionClient>>().cloned();
        let limit = req.app_data::<web::Data<ApiRateLimit>>().cloned();
        let req = req.clone();
        let token = bearer_token(&req);
        let page = req.app_data::<RequiredPage>().copied();
        let read_only = reads(req.method());
        Box::pin(async move {
            let client = client.ok_or(CallerError::NotConfigured)?;
            let token = token.ok_or(CallerError::MissingToken)?;
            let principal = client
                .introspect(&token)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "token introspection failed");
                    CallerError::Unavailable
                })?
                .ok_or(CallerError::InvalidToken)?;
            principal.record_on_span();
            if let Some(limit) = limit {
                let quota = limit
                    .check(&principal.user_id)
                    .await
                    .map_err(CallerError::RateLimited)?;
                ratelimit::remember(&req, quota);
            }
            if let Some(RequiredPage(page)) = page {
                if read_only {
                    principal.require_page(page)?;
                } else {
                    principal.require_write(page)?;
                }
            }
            Ok(Self(principal))
        })
    }
}
