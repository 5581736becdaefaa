//! The caller's own account: password change, password reset by mail, TOTP MFA, and
//! the company's security policy.

use super::Authenticated;
use super::auth::{client_info, signed_in_response};
use crate::error::AuthError;
use crate::service::AppState;
use crate::service::auth::{self as flows, Caller};
use crate::service::mfa::{self, Enrolment, SecurityPolicy};
use crate::service::passwords;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use auth_types::TokenKind;
use auth_types::extract::bearer_token;
use futures_util::future::LocalBoxFuture;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use service_runtime::error::Failures;
use service_runtime::extract::Json;
use service_runtime::http::with_quota;
use utoipa::ToSchema;

/// A caller with a full access token or a token of kind `K` (a restricted one).
fn caller_of(
    req: &HttpRequest,
    kinds: &'static [TokenKind],
) -> LocalBoxFuture<'static, Result<Caller, AuthError>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer_token(req);
    Box::pin(async move {
        let state = state
            .ok_or_else(|| AuthError::unexpected(anyhow::anyhow!("application state missing")))?;
        let token = token.ok_or(AuthError::MissingToken)?;
        flows::authenticate_allowing(&state, &token, kinds).await
    })
}

/// The caller of the password-change endpoint: a full access token, or the restricted
/// token a sign-in answers with when the password must be changed.
pub struct PasswordChanger(pub Caller);

impl FromRequest for PasswordChanger {
    type Error = AuthError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller_of(req, &[TokenKind::PasswordChange]);
        Box::pin(async move { caller.await.map(Self) })
    }
}

/// The caller of the TOTP enrolment endpoints: a full access token, or the restricted
/// token of a sign-in whose company requires MFA of the user's role.
pub struct MfaEnroller(pub Caller);

impl FromRequest for MfaEnroller {
    type Error = AuthError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller_of(req, &[TokenKind::MfaEnrolment]);
        Box::pin(async move { caller.await.map(Self) })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(min_length = 1, max_length = 128, value_type = String)]
    pub current_password: SecretString,
    /// 8 to 128 characters with an upper-case letter, a lower-case letter and a digit;
    /// not a common password, not the email or name, not one of the last
    /// `PASSWORD_HISTORY` passwords.
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$",
        value_type = String
    )]
    pub new_password: SecretString,
}

/// A `code` field: a TOTP or recovery code is 1 to 64 characters.
fn code_field(code: &str) -> Result<(), AuthError> {
    if code.is_empty() || code.chars().count() > 64 {
        return Err(AuthError::invalid(
            "code",
            "must be 1 to 64 characters long",
        ));
    }
    Ok(())
}

fn bounded(field: &str, s: &SecretString) -> Result<(), AuthError> {
    use secrecy::ExposeSecret;
    let n = s.expose_secret().chars().count();
    if n == 0 || n > crate::domain::password::MAX_LEN {
        return Err(AuthError::invalid(
            field,
            format!(
                "must be 1 to {} characters long",
                crate::domain::password::MAX_LEN
            ),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/users/me/password", tag = "account", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every other session of the user ended"),
        (status = 400, description = "Current password is incorrect (counts toward lockout), or malformed JSON"),
        (status = 401, description = "Missing or invalid token"),
        (status = 422, description = "The new password breaks a rule; the detail names it"),
        (status = 429, description = "The account is locked after failed attempts; see Retry-After"),
    ))]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: PasswordChanger,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, AuthError> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    bounded("current_password", &current_password)?;
    bounded("new_password", &new_password)?;
    passwords::change(
        &state,
        &caller.0,
        current_password,
        new_password,
        &client_info(&state, &req),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedResponse {
    pub message: &'static str,
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "account",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Always the same answer: a known, active account gets a mail with a single-use link (at most 3 an hour)", body = AcceptedResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 422, description = "Not an email address"),
        (status = 429, description = "Too many requests from this address; see Retry-After"),
    ))]
pub async fn request_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<ResetRequest>,
) -> Result<HttpResponse, AuthError> {
    let answer =
        passwords::request_reset(&state, &body.into_inner().email, &client_info(&state, &req))
            .await?;
    Ok(with_quota(
        answer.quota,
        HttpResponse::Accepted().json(AcceptedResponse {
            message: "If the address belongs to an account, a reset link is on its way",
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
    /// The token from the mailed link.
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$",
        value_type = String
    )]
    pub new_password: SecretString,
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "account",
    request_body = ResetConfirmRequest,
    responses(
        (status = 204, description = "Password set; every session and any lockout ended"),
        (status = 400, description = "Invalid or expired reset token (used, expired or unknown), or malformed JSON"),
        (status = 422, description = "The new password breaks a rule; the detail names it (the token stays usable)"),
    ))]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    body: Json<ResetConfirmRequest>,
) -> Result<HttpResponse, AuthError> {
    let ResetConfirmRequest {
        token,
        new_password,
    } = body.into_inner();
    bounded("new_password", &new_password)?;
    passwords::confirm_reset(&state, &token, new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaVerifyRequest {
    #[schema(min_length = 1, max_length = 2000)]
    pub mfa_token: String,
    /// A 6-digit TOTP code, or one of the recovery codes.
    #[schema(min_length = 1, max_length = 64, example = "123456")]
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "auth",
    request_body = MfaVerifyRequest,
    responses(
        (status = 200, description = "Signed in: the token pair and cookie (or, if the password must be changed first, a token for that only)", body = super::auth::SignInAnswer),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Invalid authentication code (counts toward lockout), or an invalid, expired or used mfa_token"),
        (status = 422, description = "A field of the wrong form"),
        (status = 429, description = "Too many codes tried with this mfa_token or from this address"),
    ))]
pub async fn mfa_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<MfaVerifyRequest>,
) -> Result<HttpResponse, AuthError> {
    let MfaVerifyRequest { mfa_token, code } = body.into_inner();
    code_field(&code)?;
    let answer = mfa::verify(&state, &mfa_token, &code, &client_info(&state, &req)).await?;
    Ok(signed_in_response(&state, answer))
}

#[utoipa::path(post, path = "/api/v1/users/me/mfa/totp", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "A new secret to add to an authenticator app; MFA is on once a code from it is confirmed", body = Enrolment),
        (status = 401, description = "Missing or invalid token"),
        (status = 409, description = "MFA is already on"),
    ))]
pub async fn mfa_begin(
    state: web::Data<AppState>,
    caller: MfaEnroller,
) -> Result<HttpResponse, AuthError> {
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(mfa::begin(&state, &caller.0).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[schema(min_length = 1, max_length = 64, example = "123456")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes for when the authenticator is lost; shown this once.
    pub recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/users/me/mfa/totp/confirm", tag = "account", security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "MFA is on", body = RecoveryCodes),
        (status = 400, description = "Invalid authentication code, or malformed JSON"),
        (status = 401, description = "Missing or invalid token"),
        (status = 409, description = "No enrolment started, or MFA already on"),
    ))]
pub async fn mfa_confirm(
    state: web::Data<AppState>,
    caller: MfaEnroller,
    body: Json<CodeRequest>,
) -> Result<HttpResponse, AuthError> {
    let code = body.into_inner().code;
    code_field(&code)?;
    let recovery_codes = mfa::confirm(&state, &caller.0, &code).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(RecoveryCodes { recovery_codes }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableMfaRequest {
    #[schema(min_length = 1, max_length = 128, value_type = String)]
    pub password: SecretString,
    /// A TOTP code or a recovery code.
    #[schema(min_length = 1, max_length = 64)]
    pub code: String,
}

#[utoipa::path(delete, path = "/api/v1/users/me/mfa/totp", tag = "account", security(("bearer" = [])),
    request_body = DisableMfaRequest,
    responses(
        (status = 204, description = "MFA is off; the recovery codes are gone"),
        (status = 400, description = "Password is incorrect or invalid authentication code (both count toward lockout), or malformed JSON"),
        (status = 401, description = "Missing or invalid token"),
        (status = 409, description = "MFA is not on, or the company requires it of your role"),
        (status = 429, description = "The account is locked after failed attempts"),
    ))]
pub async fn mfa_disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authenticated,
    body: Json<DisableMfaRequest>,
) -> Result<HttpResponse, AuthError> {
    let DisableMfaRequest { password, code } = body.into_inner();
    bounded("password", &password)?;
    code_field(&code)?;
    mfa::disable(&state, &user.0, password, &code, &client_info(&state, &req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/company/security", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, body = SecurityPolicy),
        (status = 401, description = "Missing or invalid token"),
        (status = 403, description = "Only admins manage the security policy"),
    ))]
pub async fn security_policy(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<HttpResponse, AuthError> {
    Ok(HttpResponse::Ok().json(mfa::policy(&state, &user.0).await?))
}

#[utoipa::path(put, path = "/api/v1/company/security", tag = "account", security(("bearer" = [])),
    request_body = SecurityPolicy,
    responses(
        (status = 200, body = SecurityPolicy),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing or invalid token"),
        (status = 403, description = "Only admins manage the security policy"),
        (status = 422, description = "An unknown role"),
    ))]
pub async fn set_security_policy(
    state: web::Data<AppState>,
    user: Authenticated,
    body: Json<SecurityPolicy>,
) -> Result<HttpResponse, AuthError> {
    Ok(HttpResponse::Ok().json(mfa::set_policy(&state, &user.0, body.into_inner()).await?))
}
