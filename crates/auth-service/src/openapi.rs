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
        users::me, users::my_permissions, users::list, users::create, users::get,
        users::update, users::deactivate, users::unlock, users::permissions, users::set_permissions,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Login, refresh, logout"), (name = "users", description = "Users and permissions")),
)]
pub struct ApiDoc;

#[cfg(test)]
mod openapi_tests {
    use super::ApiDoc;
    use utoipa::OpenApi;

    #[test]
    fn every_schema_the_document_refers_to_is_in_it() {
        let dangling = service_runtime::server::dangling_refs(&ApiDoc::openapi());
        assert!(dangling.is_empty(), "{dangling:?}");
    }
}
