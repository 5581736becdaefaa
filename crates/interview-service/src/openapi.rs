//! The OpenAPI document of the interview service, generated from the handlers.

use crate::routes::{candidates, interviews};
use service_runtime::server::BearerAuth;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "AI Interviewer Platform: interview service", description = "Candidates and interviews"),
    paths(
        candidates::create, candidates::list, candidates::get, candidates::update, candidates::delete,
        interviews::create, interviews::list, interviews::get, interviews::update, interviews::start,
        interviews::complete, interviews::cancel, interviews::no_show, interviews::calendar,
    ),
    modifiers(&BearerAuth),
    tags((name = "candidates", description = "The hiring pipeline"), (name = "interviews", description = "Scheduling and lifecycle")),
)]
pub struct ApiDoc;

service_runtime::openapi_refs_test!(super::ApiDoc);
