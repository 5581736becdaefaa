//! `/api/v1/candidates/{id}/report`, as JSON or CSV.

use crate::domain::report::{Report, to_csv};
use crate::error::ScoringError;
use crate::service::AppState;
use crate::service::reports as ops;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_types::Caller;
use auth_types::CandidateId;
use serde::Deserialize;
use service_runtime::extract::Query;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FormatQuery {
    /// `json` (default) or `csv`.
    pub format: Option<Format>,
}

#[utoipa::path(get, path = "/api/v1/candidates/{id}/report", tag = "reports", params(("id" = uuid::Uuid, Path, description = "The candidate's id"), FormatQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Report), (status = 404, description = "No such candidate in your company")))]
pub async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CandidateId>,
    query: Query<FormatQuery>,
) -> Result<HttpResponse, ScoringError> {
    let r = ops::report(&state, &caller.0, *id).await?;
    Ok(match query.format.unwrap_or(Format::Json) {
        Format::Json => HttpResponse::Ok().json(r),
        Format::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"report-{}.csv\"", *id),
            ))
            .body(to_csv(&r)),
    })
}
