//! `/api/v1/interviews*` (page `interviews`).

use crate::domain::interview::{Action, CreateInterview, InterviewStatus, UpdateInterview};
use crate::error::InterviewError;
use crate::service::AppState;
use crate::service::interviews::{self as ops, InterviewView};
use crate::store::interviews::InterviewFilter;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_types::Caller;
use auth_types::{CandidateId, InterviewId, UserId};
use serde::Deserialize;
use service_runtime::extract::{Json, Paging, Query};
use time::OffsetDateTime;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
pub struct InterviewQuery {
    pub status: Option<InterviewStatus>,
    pub candidate_id: Option<CandidateId>,
    pub interviewer_id: Option<UserId>,
    /// Starting at or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<OffsetDateTime>,
    /// Starting before (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<OffsetDateTime>,
}

#[utoipa::path(post, path = "/api/v1/interviews", tag = "interviews", request_body = CreateInterview,
    security(("bearer" = [])),
    responses((status = 201, body = InterviewView), (status = 409, description = "An interviewer is double-booked"),
        (status = 422, description = "Invalid fields, unknown candidate or interviewers")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateInterview>,
) -> Result<HttpResponse, InterviewError> {
    let new = body.into_inner().validate()?;
    let created = ops::create(&state, &caller.0, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/interviews/{}", created.id),
        ))
        .json(created))
}

#[utoipa::path(get, path = "/api/v1/interviews", tag = "interviews", params(InterviewQuery, Paging),
    security(("bearer" = [])), responses((status = 200, body = [InterviewView])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<InterviewQuery>,
    paging: Query<Paging>,
) -> Result<HttpResponse, InterviewError> {
    let InterviewQuery {
        status,
        candidate_id,
        interviewer_id,
        from,
        to,
    } = query.into_inner();
    let filter = InterviewFilter {
        status,
        candidate_id,
        interviewer_id,
        from,
        to,
    };
    Ok(HttpResponse::Ok()
        .json(ops::list(&state, &caller.0, &filter, paging.skip, paging.limit()).await?))
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}",
    params(("id" = uuid::Uuid, Path, description = "The interview's id")), tag = "interviews", security(("bearer" = [])),
    responses((status = 200, body = InterviewView), (status = 404, description = "No such interview in your company")))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
) -> Result<HttpResponse, InterviewError> {
    Ok(HttpResponse::Ok().json(ops::get(&state, &caller.0, *id).await?))
}

#[utoipa::path(patch, path = "/api/v1/interviews/{id}",
    params(("id" = uuid::Uuid, Path, description = "The interview's id")), tag = "interviews", request_body = UpdateInterview,
    security(("bearer" = [])),
    responses((status = 200, body = InterviewView), (status = 409, description = "Not scheduled, or double-booked")))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
    body: Json<UpdateInterview>,
) -> Result<HttpResponse, InterviewError> {
    let change = body.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(ops::update(&state, &caller.0, *id, change).await?))
}

async fn act(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
    action: Action,
) -> Result<HttpResponse, InterviewError> {
    Ok(HttpResponse::Ok().json(ops::act(&state, &caller.0, *id, action).await?))
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/start",
    params(("id" = uuid::Uuid, Path, description = "The interview's id")), tag = "interviews", security(("bearer" = [])),
    responses((status = 200, body = InterviewView), (status = 409, description = "Not allowed from the current status")))]
pub async fn start(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
) -> Result<HttpResponse, InterviewError> {
    act(state, caller, id, Action::Start).await
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/complete",
    params(("id" = uuid::Uuid, Path, description = "The interview's id")), tag = "interviews", security(("bearer" = [])),
    responses((status = 200, body = InterviewView), (status = 409, description = "Not allowed from the current status")))]
pub async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
) -> Result<HttpResponse, InterviewError> {
    act(state, caller, id, Action::Complete).await
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/cancel",
    params(("id" = uuid::Uuid, Path, description = "The interview's id")), tag = "interviews", security(("bearer" = [])),
    responses((status = 200, body = InterviewView), (status = 409, description = "Not allowed from the current status")))]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
) -> Result<HttpResponse, InterviewError> {
    act(state, caller, id, Action::Cancel).await
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/no-show",
    params(("id" = uuid::Uuid, Path, description = "The interview's id")), tag = "interviews", security(("bearer" = [])),
    responses((status = 200, body = InterviewView), (status = 409, description = "Not allowed from the current status")))]
pub async fn no_show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
) -> Result<HttpResponse, InterviewError> {
    act(state, caller, id, Action::NoShow).await
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}/calendar.ics",
    params(("id" = uuid::Uuid, Path, description = "The interview's id")), tag = "interviews", security(("bearer" = [])),
    responses((status = 200, description = "An RFC 5545 calendar with the interview", content_type = "text/calendar")))]
pub async fn calendar(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
) -> Result<HttpResponse, InterviewError> {
    let ics = ops::calendar(&state, &caller.0, *id).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"interview-{}.ics\"", *id),
        ))
        .body(ics))
}
