//! `/api/v1/interviews/{id}/scorecards`, `/api/v1/scorecards*`.

use crate::domain::scorecard::{AmendScorecard, SubmitScorecard};
use crate::error::ScoringError;
use crate::service::AppState;
use crate::service::scorecards::{self as ops, ScorecardView};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_types::Caller;
use auth_types::{InterviewId, ScorecardId};
use serde::Deserialize;
use service_runtime::extract::{Json, Query};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Revisions {
    Latest,
    All,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RevisionQuery {
    /// `latest` (default): each evaluator's newest revision; `all`: every revision.
    pub revisions: Option<Revisions>,
}

fn created(s: ScorecardView) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/scorecards/{}", s.id)))
        .json(s)
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/scorecards",
    params(("id" = uuid::Uuid, Path, description = "The interview's id")), tag = "scorecards", request_body = SubmitScorecard,
    security(("bearer" = [])),
    responses((status = 201, body = ScorecardView), (status = 403, description = "Not an interviewer, admin or manager"),
        (status = 409, description = "Already submitted, or the interview is not started or completed")))]
pub async fn submit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
    body: Json<SubmitScorecard>,
) -> Result<HttpResponse, ScoringError> {
    Ok(created(
        ops::submit(&state, &caller.0, *id, body.into_inner()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}/scorecards", tag = "scorecards", params(("id" = uuid::Uuid, Path, description = "The interview's id"), RevisionQuery),
    security(("bearer" = [])), responses((status = 200, body = [ScorecardView])))]
pub async fn of_interview(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<InterviewId>,
    query: Query<RevisionQuery>,
) -> Result<HttpResponse, ScoringError> {
    let all = query.revisions == Some(Revisions::All);
    Ok(HttpResponse::Ok().json(ops::of_interview(&state, &caller.0, *id, all).await?))
}

#[utoipa::path(get, path = "/api/v1/scorecards/{id}",
    params(("id" = uuid::Uuid, Path, description = "The scorecard's id")), tag = "scorecards", security(("bearer" = [])),
    responses((status = 200, body = ScorecardView), (status = 404, description = "No such scorecard in your company")))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ScorecardId>,
) -> Result<HttpResponse, ScoringError> {
    Ok(HttpResponse::Ok().json(ops::get(&state, &caller.0, *id).await?))
}

#[utoipa::path(post, path = "/api/v1/scorecards/{id}/amendments",
    params(("id" = uuid::Uuid, Path, description = "The scorecard's id")), tag = "scorecards", request_body = AmendScorecard,
    security(("bearer" = [])),
    responses((status = 201, description = "The next revision; the amended one stays", body = ScorecardView),
        (status = 403, description = "Not the evaluator"), (status = 409, description = "Not the latest revision")))]
pub async fn amend(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<ScorecardId>,
    body: Json<AmendScorecard>,
) -> Result<HttpResponse, ScoringError> {
    Ok(created(
        ops::amend(&state, &caller.0, *id, body.into_inner()).await?,
    ))
}
