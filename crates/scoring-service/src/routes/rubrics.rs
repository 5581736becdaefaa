//! `/api/v1/rubrics*`.

use crate::domain::rubric::{CreateRubric, UpdateRubric};
use crate::error::ScoringError;
use crate::service::AppState;
use crate::service::rubrics::{self as ops, RubricView};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_types::Caller;
use auth_types::RubricId;
use serde::Deserialize;
use service_runtime::extract::{Json, Paging, Query};
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
pub struct RubricQuery {
    pub position: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct VersionQuery {
    /// An older version (default: the current one).
    pub version: Option<i32>,
}

#[utoipa::path(post, path = "/api/v1/rubrics", tag = "rubrics", request_body = CreateRubric, security(("bearer" = [])),
    responses((status = 201, body = RubricView), (status = 403, description = "Not an admin or manager"),
        (status = 422, description = "Invalid fields")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateRubric>,
) -> Result<HttpResponse, ScoringError> {
    let new = body.into_inner().validate()?;
    let created = ops::create(&state, &caller.0, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/rubrics/{}", created.id)))
        .json(created))
}

#[utoipa::path(get, path = "/api/v1/rubrics", tag = "rubrics", params(RubricQuery, Paging), security(("bearer" = [])),
    responses((status = 200, body = [RubricView])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<RubricQuery>,
    paging: Query<Paging>,
) -> Result<HttpResponse, ScoringError> {
    let rubrics = ops::list(
        &state,
        &caller.0,
        query.position.as_deref(),
        paging.skip,
        paging.limit(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(rubrics))
}

#[utoipa::path(get, path = "/api/v1/rubrics/{id}", tag = "rubrics", params(("id" = uuid::Uuid, Path, description = "The rubric's id"), VersionQuery), security(("bearer" = [])),
    responses((status = 200, body = RubricView), (status = 404, description = "No such rubric or version")))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<RubricId>,
    query: Query<VersionQuery>,
) -> Result<HttpResponse, ScoringError> {
    Ok(HttpResponse::Ok().json(ops::get(&state, &caller.0, *id, query.version).await?))
}

#[utoipa::path(patch, path = "/api/v1/rubrics/{id}",
    params(("id" = uuid::Uuid, Path, description = "The rubric's id")), tag = "rubrics", request_body = UpdateRubric, security(("bearer" = [])),
    responses((status = 200, description = "New criteria make a new version", body = RubricView)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<RubricId>,
    body: Json<UpdateRubric>,
) -> Result<HttpResponse, ScoringError> {
    let change = body.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(ops::update(&state, &caller.0, *id, change).await?))
}
