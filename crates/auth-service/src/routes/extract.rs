//! The actix extractor that turns `Authorization: Bearer ...` into the principal.

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
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                AuthError::unexpected(anyhow::anyhow!("application state missing"))
            })?;
            let token = token.ok_or(AuthError::MissingToken)?;
            let principal = auth::authenticate(&state, &token).await?;
            tracing::Span::current().record("user_id", tracing::field::display(principal.user_id));
            Ok(Self(principal))
        })
    }
}
