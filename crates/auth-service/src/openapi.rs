//! The OpenAPI document, generated from the handlers, and Swagger UI from files built
//! into the binary.

use crate::routes::{account, auth, users};
use service_runtime::server::BearerAuth;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "AI Interviewer Platform: auth service", description = "Sign-in, tokens, sessions and user management"),
    paths(
        auth::login, auth::refresh, auth::logout, account::mfa_verify,
        account::request_reset, account::confirm_reset, account::change_password,
        account::mfa_begin, account::mfa_confirm, account::mfa_disable,
        account::security_policy, account::set_security_policy,
        users::me, users::my_permissions, users::my_sessions, users::end_my_other_sessions,
        users::end_my_session, users::list, users::create, users::get,
        users::update, users::deactivate, users::unlock, users::user_sessions, users::end_user_sessions, users::permissions, users::set_permissions,
        users::export, users::erase,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Login, second factor, refresh, logout"), (name = "account", description = "The caller's password and MFA, password reset by mail, the company's security policy"), (name = "users", description = "Users and permissions"), (name = "privacy", description = "A person's data: export (right of access) and erasure (right to erasure)")),
)]
pub struct ApiDoc;

service_runtime::openapi_refs_test!(super::ApiDoc);
