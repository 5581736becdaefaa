//! The OpenAPI document of the scoring service, generated from the handlers.

use crate::routes::{reports, rubrics, scorecards};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "AI Interviewer Platform: scoring service", description = "Rubrics, scorecards and candidate reports"),
    paths(
        rubrics::create, rubrics::list, rubrics::get, rubrics::update,
        scorecards::submit, scorecards::of_interview, scorecards::get, scorecards::amend,
        reports::report,
    ),
    modifiers(&BearerAuth),
    tags((name = "rubrics"), (name = "scorecards"), (name = "reports")),
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
