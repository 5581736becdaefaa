//! `/api/v1/candidates*` (page `candidates`).

use crate::domain::candidate::{CandidateStatus, CreateCandidate, UpdateCandidate};
use crate::error::InterviewError;
use crate::service::AppState;
use crate::service::candidates::{self as ops, CandidateView};
use crate::store::candidates::CandidateFilter;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_types::Caller;
use auth_types::CandidateId;
use serde::Deserialize;
use service_runtime::extract::{Json, Paging, Query};
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
pub struct CandidateQuery {
    pub status: Option<CandidateStatus>,
    /// Exact position, case-insensitive.
    pub position: Option<String>,
    /// Free text in the name or the email, case-insensitive.
    pub q: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/candidates", tag = "candidates", request_body = CreateCandidate,
    security(("bearer" = [])),
    responses((status = 201, body = CandidateView), (status = 422, description = "Invalid fields")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateCandidate>,
) -> Result<HttpResponse, InterviewError> {
    let new = body.into_inner().validate()?;
    let created = ops::create(&state, &caller.0, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/candidates/{}", created.id),
        ))
        .json(created))
}

#[utoipa::path(get, path = "/api/v1/candidates", tag = "candidates", params(CandidateQuery, Paging),
    security(("bearer" = [])), responses((status = 200, body = [CandidateView])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CandidateQuery>,
    paging: Query<Paging>,
) -> Result<HttpResponse, InterviewError> {
    let CandidateQuery {
        status,
        position,
        q,
    } = query.into_inner();
    let filter = CandidateFilter {
        status,
        position,
        q,
    };
    Ok(HttpResponse::Ok()
        .json(ops::list(&state, &caller.0, &filter, paging.skip, paging.limit()).await?))
}

#[utoipa::path(get, path = "/api/v1/candidates/{id}",
    params(("id" = uuid::Uuid, Path, description = "The candidate's id")), tag = "candidates", security(("bearer" = [])),
    responses((status = 200, body = CandidateView), (status = 404, description = "No such candidate in your company")))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CandidateId>,
) -> Result<HttpResponse, InterviewError> {
    Ok(HttpResponse::Ok().json(ops::get(&state, &caller.0, *id).await?))
}

#[utoipa::path(patch, path = "/api/v1/candidates/{id}",
    params(("id" = uuid::Uuid, Path, description = "The candidate's id")), tag = "candidates", request_body = UpdateCandidate,
    security(("bearer" = [])), responses((status = 200, body = CandidateView)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CandidateId>,
    body: Json<UpdateCandidate>,
) -> Result<HttpResponse, InterviewError> {
    let change = body.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(ops::update(&state, &caller.0, *id, change).await?))
}

#[utoipa::path(delete, path = "/api/v1/candidates/{id}",
    params(("id" = uuid::Uuid, Path, description = "The candidate's id")), tag = "candidates", security(("bearer" = [])),
    responses((status = 204, description = "Deleted: gone from reads and lists")))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CandidateId>,
) -> Result<HttpResponse, InterviewError> {
    ops::delete(&state, &caller.0, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
