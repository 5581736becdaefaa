//! The OpenAPI document, generated from the handlers, and Swagger UI from files built
//! into the binary.

use crate::routes::{auth, users};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "AI Interviewer Platform: auth service", description = "Sign-in, tokens, sessions and user management"),
    paths(
        auth::login, auth::refresh, auth::logout,
        users::me, users::my_permissions, users::list, users::create, users::get,
        users::update, users::deactivate, users::permissions, users::set_permissions,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Login, refresh, logout"), (name = "users", description = "Users and permissions")),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
