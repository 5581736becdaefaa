//! The actix extractor that turns `Authorization: Bearer ...` into the principal, and
//! counts the request toward the caller's `API_RATE_LIMIT_PER_MINUTE`.

use crate::error::AuthError;
use crate::service::{AppState, auth};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use auth_types::Principal;
use auth_types::extract::bearer_token;
use futures_util::future::LocalBoxFuture;
use service_runtime::error::Failures;

/// The authenticated caller of a handler.
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = AuthError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                AuthError::unexpected(anyhow::anyhow!("application state missing"))
            })?;
            let token = token.ok_or(AuthError::MissingToken)?;
            let principal = auth::authenticate(&state, &token).await?;
            principal.record_on_span();
            let quota = state
                .api_rate_limit
                .check(&principal.user_id)
                .await
                .map_err(|e| AuthError::RateLimited {
                    what: "requests",
                    seconds: e.retry_after,
                    limit: e.limit,
                })?;
            service_runtime::ratelimit::remember(&req, quota);
            Ok(Self(principal))
        })
    }
}
