//! The OpenAPI document of the interview service, generated from the handlers.

use crate::routes::{candidates, interviews, privacy};
use service_runtime::server::BearerAuth;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "AI Interviewer Platform: interview service", description = "Candidates and interviews"),
    paths(
        candidates::create, candidates::list, candidates::get, candidates::update, candidates::delete,
        interviews::create, interviews::list, interviews::get, interviews::update, interviews::start,
        interviews::complete, interviews::cancel, interviews::no_show, interviews::calendar,
        privacy::export, privacy::erase, privacy::user_part,
    ),
    modifiers(&BearerAuth),
    tags((name = "candidates", description = "The hiring pipeline"), (name = "interviews", description = "Scheduling and lifecycle"), (name = "privacy", description = "A person's data: export (right of access) and erasure (right to erasure)")),
)]
pub struct ApiDoc;

service_runtime::openapi_refs_test!(super::ApiDoc);
