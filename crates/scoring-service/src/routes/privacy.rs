//! This service's parts of a person's export (issue 14), which the auth service
//! (`GET /users/{id}/export`) and the interview service (`GET /candidates/{id}/export`)
//! gather with the caller's token.

use crate::error::ScoringError;
use crate::service::AppState;
use crate::service::privacy::{self as ops, CandidatePart, UserPart};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_types::{Caller, CandidateId, UserId};

#[utoipa::path(get, path = "/api/v1/export/users/{id}",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "The scorecards the user wrote and the rubrics they made (part of `GET /users/{id}/export`)", body = UserPart),
        (status = 403, description = "No access to user management")))]
pub async fn user_part(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
) -> Result<HttpResponse, ScoringError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ops::user_part(&state, &caller.0, *id).await?))
}

#[utoipa::path(get, path = "/api/v1/export/candidates/{id}",
    params(("id" = uuid::Uuid, Path, description = "The candidate's id")), tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "Every scorecard revision about the candidate (part of `GET /candidates/{id}/export`)", body = CandidatePart),
        (status = 403, description = "No access to the candidates page")))]
pub async fn candidate_part(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CandidateId>,
) -> Result<HttpResponse, ScoringError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ops::candidate_part(&state, &caller.0, *id).await?))
}
