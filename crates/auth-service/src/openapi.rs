//! The OpenAPI document, generated from the handlers, and Swagger UI from files built
//! into the binary.

use crate::routes::{auth, users};
use service_runtime::server::BearerAuth;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "AI Interviewer Platform: auth service", description = "Sign-in, tokens, sessions and user management"),
    paths(
        auth::login, auth::refresh, auth::logout,
        users::me, users::my_permissions, users::my_sessions, users::end_my_other_sessions,
        users::end_my_session, users::list, users::create, users::get,
        users::update, users::deactivate, users::unlock, users::user_sessions, users::end_user_sessions, users::permissions, users::set_permissions,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Login, refresh, logout"), (name = "users", description = "Users and permissions")),
)]
pub struct ApiDoc;

service_runtime::openapi_refs_test!(super::ApiDoc);
