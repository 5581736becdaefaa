//! The OpenAPI document of the scoring service, generated from the handlers.

use crate::routes::{privacy, reports, rubrics, scorecards};
use service_runtime::server::BearerAuth;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "AI Interviewer Platform: scoring service", description = "Rubrics, scorecards and candidate reports"),
    paths(
        rubrics::create, rubrics::list, rubrics::get, rubrics::update,
        scorecards::submit, scorecards::of_interview, scorecards::get, scorecards::amend,
        reports::report, privacy::user_part, privacy::candidate_part,
    ),
    components(schemas(reports::Format, scorecards::Revisions)),
    modifiers(&BearerAuth),
    tags((name = "rubrics"), (name = "scorecards"), (name = "reports"), (name = "privacy", description = "This service's parts of a person's export")),
)]
pub struct ApiDoc;

service_runtime::openapi_refs_test!(super::ApiDoc);
