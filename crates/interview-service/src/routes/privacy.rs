//! A person's data (issue 14): `GET /candidates/{id}/export`, `POST /candidates/{id}/erase`
//! (page candidates), and this service's part of a user's export, `GET /export/users/{id}`
//! (page user management), which the auth service gathers.

use crate::error::InterviewError;
use crate::service::AppState;
use crate::service::privacy::{self as ops, CandidateExport, Erased, UserPart};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_types::{Caller, CandidateId, UserId};
use service_runtime::error::Failures;

fn bearer(req: &HttpRequest) -> Result<String, InterviewError> {
    auth_types::extract::bearer_token(req)
        .ok_or_else(|| InterviewError::forbidden("The export needs a bearer token"))
}

#[utoipa::path(get, path = "/api/v1/candidates/{id}/export",
    params(("id" = uuid::Uuid, Path, description = "The candidate's id")), tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "Everything the platform holds about the candidate, from every service (deleted candidates too)", body = CandidateExport),
        (status = 403, description = "No access to the candidates page"),
        (status = 404, description = "No such candidate in your company"),
        (status = 503, description = "A service holding part of the data did not answer; nothing partial is returned")))]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CandidateId>,
) -> Result<HttpResponse, InterviewError> {
    let doc = ops::export_candidate(&state, &caller.0, &bearer(&req)?, *id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(doc))
}

#[utoipa::path(post, path = "/api/v1/candidates/{id}/erase",
    params(("id" = uuid::Uuid, Path, description = "The candidate's id")), tag = "privacy", security(("bearer" = [])),
    responses((status = 202, description = "Erased here; the scoring service and the audit log erase their copies from the outbox (`CANDIDATE_ERASED`)", body = Erased),
        (status = 403, description = "Only admins erase personal data"),
        (status = 404, description = "No such candidate in your company")))]
pub async fn erase(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CandidateId>,
) -> Result<HttpResponse, InterviewError> {
    Ok(HttpResponse::Accepted().json(ops::erase_candidate(&state, &caller.0, *id).await?))
}

#[utoipa::path(get, path = "/api/v1/export/users/{id}",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "This service's part of a user's export (`GET /users/{id}/export` on the auth service gathers it)", body = UserPart),
        (status = 403, description = "No access to user management")))]
pub async fn user_part(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
) -> Result<HttpResponse, InterviewError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ops::user_part(&state, &caller.0, *id).await?))
}
