//! `/api/v1/auth/*`: login, refresh, logout (TRD §4.1).

use super::Authenticated;
use crate::domain::tokens::IssuedPair;
use crate::error::AuthError;
use crate::service::AppState;
use crate::service::auth::{self as flows, ClientInfo, SignedIn};
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use service_runtime::error::Failures;
use service_runtime::extract::Json;
use service_runtime::extract::Rejection;
use service_runtime::http::{Limited, with_quota};
use service_runtime::server::AllowedOrigins;
use utoipa::ToSchema;

pub const REFRESH_COOKIE: &str = "refresh_token";

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(format = Email, min_length = 3, max_length = 254, example = "emma.rodriguez@nextgenai.com")]
    pub email: String,
    #[schema(min_length = 1, max_length = 128, example = "SecurePassword123!", value_type = String)]
    pub password: SecretString,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// Optional: without it the `refresh_token` cookie is used.
    pub refresh_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: &'static str,
}

pub(super) fn client_info(state: &AppState, req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        // Bounded: it goes into the session and the append-only audit log.
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
        // The socket's peer; behind a proxy listed in TRUSTED_PROXIES, the client it
        // forwarded for (never a header an untrusted peer wrote).
        ip_address: state
            .trusted_proxies
            .client_ip(req)
            .map(|ip| ip.to_string()),
    }
}

/// A refresh's answer, success or refusal, with the caller's standing against the rate
/// limits it passed.
fn limited_response(
    state: &AppState,
    answer: Limited<Result<IssuedPair, AuthError>>,
) -> HttpResponse {
    let res = match answer.value {
        Ok(pair) => token_response(state, pair),
        Err(e) => e.error_response(),
    };
    with_quota(answer.quota, res)
}

/// A sign-in step's answer (password, or second factor): the tokens and cookie, or what
/// must come first, never with a cookie.
pub(super) fn signed_in_response(
    state: &AppState,
    answer: Limited<Result<SignedIn, AuthError>>,
) -> HttpResponse {
    let res = match answer.value {
        Ok(SignedIn::Tokens(pair)) => token_response(state, *pair),
        Ok(SignedIn::MfaRequired { token, expires_in }) => no_store().json(MfaRequiredResponse {
            mfa_required: true,
            mfa_token: token,
            expires_in,
        }),
        Ok(SignedIn::MfaEnrolmentRequired { token, expires_in }) => {
            no_store().json(RestrictedResponse {
                mfa_enrolment_required: Some(true),
                password_change_required: None,
                access_token: token,
                token_type: "bearer",
                expires_in,
            })
        }
        Ok(SignedIn::PasswordChangeRequired { token, expires_in }) => {
            no_store().json(RestrictedResponse {
                mfa_enrolment_required: None,
                password_change_required: Some(true),
                access_token: token,
                token_type: "bearer",
                expires_in,
            })
        }
        Err(e) => e.error_response(),
    };
    with_quota(answer.quota, res)
}

fn no_store() -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    res
}

/// What a sign-in step answers with 200: one of three shapes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SignInAnswer {
    Tokens(TokenResponse),
    MfaRequired(MfaRequiredResponse),
    Restricted(RestrictedResponse),
}

/// A sign-in whose password was right, for an account with a second factor: no session
/// yet, no cookie; `mfa_token` goes to `POST /api/v1/auth/mfa/verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequiredResponse {
    /// Always `true`.
    pub mfa_required: bool,
    /// Single-use; valid for `expires_in` seconds.
    pub mfa_token: String,
    pub expires_in: u64,
}

/// A sign-in that must do one thing before it gets a session: change the password
/// (`password_change_required`: the token works only on `POST /api/v1/users/me/password`)
/// or enrol a TOTP authenticator the company requires (`mfa_enrolment_required`: only on
/// `POST /api/v1/users/me/mfa/totp` and `.../confirm`). Then sign in again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestrictedResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_change_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_enrolment_required: Option<bool>,
    /// A token of restricted use, sent as `Authorization: Bearer`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    pub expires_in: u64,
}

fn token_response(state: &AppState, pair: IssuedPair) -> HttpResponse {
    let max_age = i64::try_from(state.issuer.refresh_ttl().as_secs()).unwrap_or(i64::MAX);
    let cookie = Cookie::build(REFRESH_COOKIE, pair.refresh_token.clone())
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(CookieDuration::seconds(max_age))
        .finish();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .json(TokenResponse {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "bearer",
            expires_in: state.issuer.access_ttl().as_secs(),
        })
}

#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (the refresh token is also set as an HttpOnly cookie); or, with no session yet, the step that must come first: a second factor (`mfa_required`), enrolling one (`mfa_enrolment_required`) or a password change (`password_change_required`)", body = TokenResponse),
        (status = 400, description = "Malformed JSON or a missing field"),
        (status = 401, description = "Invalid email or password"),
        (status = 422, description = "Email or password of the wrong form"),
        (status = 429, description = "Too many attempts from this address (at this account, or across accounts); see Retry-After and the RateLimit-* headers"),
        (status = 503, description = "Too many sign-ins at once for the password-hashing pool; retry after Retry-After"),
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, AuthError> {
    let LoginRequest { email, password } = body.into_inner();
    let answer = flows::login(&state, &email, password, &client_info(&state, &req)).await?;
    Ok(signed_in_response(&state, answer))
}

#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body(content = RefreshRequest, description = "Optional; the cookie is used without it"),
    responses(
        (status = 200, description = "A new pair; the presented refresh token is dead", body = TokenResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Invalid refresh token"),
        (status = 429, description = "Too many refreshes of this session or from this address; see Retry-After"),
    )
)]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AuthError> {
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        // A body is JSON like every other (415 otherwise: no cross-site text/plain POST).
        if !service_runtime::extract::is_json(&req) {
            return Err(Rejection::not_json().into());
        }
        service_runtime::extract::parse_json::<RefreshRequest>(&body)?.refresh_token
    };
    let token = match from_body {
        Some(token) => token,
        None => {
            let cookie = req
                .cookie(REFRESH_COOKIE)
                .ok_or(AuthError::InvalidRefreshToken)?;
            // A cookie travels with any request the browser makes: from a page of another
            // origin it is cross-site request forgery.
            let allowed = req.app_data::<AllowedOrigins>();
            if !allowed.is_some_and(|a| a.permits(&req)) {
                return Err(AuthError::forbidden(
                    "Origin not allowed to refresh with the session cookie",
                ));
            }
            cookie.value().to_owned()
        }
    };
    let answer = flows::refresh(&state, &token, &client_info(&state, &req)).await?;
    Ok(limited_response(&state, answer))
}

#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Session and access token revoked; cookie cleared", body = MessageResponse),
        (status = 401, description = "Missing or invalid token"),
    )
)]
pub async fn logout(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<HttpResponse, AuthError> {
    flows::logout(&state, &user.0).await?;
    // The TRD's `refresh_token=; Max-Age=0; Path=/`, with the attributes it was set with,
    // so every browser matches and drops the same cookie.
    let clear = Cookie::build(REFRESH_COOKIE, "")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(CookieDuration::ZERO)
        .finish();
    Ok(HttpResponse::Ok()
        .cookie(clear)
        .json(json!(MessageResponse {
            message: "Logged out successfully"
        })))
}
