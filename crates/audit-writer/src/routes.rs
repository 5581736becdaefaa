//! HTTP: audit search (admins, their company only), the caller's notifications, and the
//! audit-writer's parts of a user's or a candidate's data export.

use crate::error::ApiError;
use crate::store::{audit, notifications};
use actix_web::{HttpRequest, HttpResponse, web};
use auth_types::{Caller, Page, Role};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use service_runtime::error::Failures;
use service_runtime::extract::Query;
use time::OffsetDateTime;
use utoipa::IntoParams;
use uuid::Uuid;

pub const MAX_LIMIT: u64 = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(web::resource("/audit-logs").route(web::get().to(search)))
            .service(web::resource("/audit-logs/verify").route(web::get().to(verify)))
            .service(web::resource("/audit-logs/report").route(web::get().to(report)))
            .service(web::resource("/notifications").route(web::get().to(my_notifications)))
            .service(web::resource("/notifications/{id}/read").route(web::post().to(read)))
            .service(web::resource("/export/users/{id}").route(web::get().to(export_user)))
            .service(
                web::resource("/export/candidates/{id}").route(web::get().to(export_candidate)),
            ),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchQuery {
    pub user_id: Option<Uuid>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// At or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<OffsetDateTime>,
    /// Before (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<OffsetDateTime>,
    /// Default 50, at most 200.
    #[serde(default, deserialize_with = "service_runtime::extract::limit_value")]
    #[param(minimum = 1)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn encode_cursor(at: OffsetDateTime, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", at.unix_timestamp_nanos()))
}

/// The cursor's time and id; whatever is wrong with it, the answer is the same 400.
fn decode_cursor(raw: &str) -> Result<(OffsetDateTime, Uuid), ApiError> {
    let parse = || {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
        let (nanos, id) = text.split_once(':')?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
        Some((at, id.parse().ok()?))
    };
    parse().ok_or_else(ApiError::bad_cursor)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (or an RFC 3339 time: its UTC day); default 29 days
    /// before `to`.
    pub from: Option<String>,
    /// Last day, included; default today (UTC).
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The longest report, in days (the TRD's two years of retention).
pub const MAX_REPORT_DAYS: i64 = 731;

fn report_day(field: &str, raw: &str) -> Result<time::Date, ApiError> {
    let raw = raw.trim();
    let ymd = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, ymd)
        .or_else(|_| {
            OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .map(|t| t.to_offset(time::UtcOffset::UTC).date())
        })
        .map_err(|_not_a_date| {
            service_runtime::error::Failure::invalid(
                field,
                "must be a date (YYYY-MM-DD) or an RFC 3339 time",
            )
            .into()
        })
}

#[utoipa::path(get, path = "/api/v1/audit-logs/report", tag = "audit", params(ReportQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "Per day (UTC) of the range: successful and failed sign-ins, lockouts, password changes, reset requests and resets, permission and role changes, refresh-token reuse, MFA failures; with the totals. `format=csv`: the same, a row a day (`text/csv`)", body = crate::report::Report),
        (status = 401, description = "Missing or invalid token"),
        (status = 403, description = "Not an admin"),
        (status = 422, description = "A bad date, `from` after `to`, more than 731 days, or an unknown format"),
    ))]
pub async fn report(
    db: web::Data<DatabaseConnection>,
    caller: Caller,
    query: Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    if caller.0.role != Role::Admin {
        return Err(ApiError::not_admin());
    }
    let q = query.into_inner();
    let to = match q.to.as_deref() {
        Some(raw) => report_day("to", raw)?,
        None => OffsetDateTime::now_utc().date(),
    };
    let from = match q.from.as_deref() {
        Some(raw) => report_day("from", raw)?,
        None => to.saturating_sub(time::Duration::days(29)),
    };
    if from > to {
        return Err(
            service_runtime::error::Failure::invalid("from", "must not be after to").into(),
        );
    }
    if (to - from).whole_days() >= MAX_REPORT_DAYS {
        return Err(service_runtime::error::Failure::invalid(
            "to",
            format!("a report covers at most {MAX_REPORT_DAYS} days"),
        )
        .into());
    }
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(
                service_runtime::error::Failure::invalid("format", "must be json or csv").into(),
            );
        }
    };
    let report = crate::report::read(db.get_ref(), caller.0.company_id.into(), from, to).await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"security-report-{}-{}.csv\"",
                    report.from, report.to
                ),
            ))
            .body(crate::report::to_csv(&report))
    } else {
        HttpResponse::Ok().json(report)
    })
}

#[utoipa::path(get, path = "/api/v1/audit-logs/verify", tag = "audit", security(("bearer" = [])),
    responses(
        (status = 200, description = "The verdict on the caller's company's chain: every link recomputed, every row in its place, the last one matching the chain's head", body = crate::verify::Report),
        (status = 401, description = "Missing or invalid token"),
        (status = 403, description = "Not an admin"),
    ))]
pub async fn verify(
    db: web::Data<DatabaseConnection>,
    key: web::Data<crate::chain::ChainKey>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    if caller.0.role != Role::Admin {
        return Err(ApiError::not_admin());
    }
    let report = crate::verify::verify(
        db.get_ref(),
        key.get_ref(),
        Some(caller.0.company_id.into()),
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// A page of the audit search.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    /// Newest first.
    pub items: Vec<audit::Entry>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit-logs", tag = "audit", params(SearchQuery), security(("bearer" = [])),
    responses((status = 200, description = "Newest first, personal data merged back unless erased", body = SearchPage), (status = 403, description = "Not an admin")))]
pub async fn search(
    db: web::Data<DatabaseConnection>,
    caller: Caller,
    query: Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    if caller.0.role != Role::Admin {
        return Err(ApiError::not_admin());
    }
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let filter = audit::Filter {
        user_id: q.user_id,
        action: q.action,
        resource_type: q.resource_type,
        resource_id: q.resource_id,
        from: q.from,
        to: q.to,
        after: q.cursor.as_deref().map(decode_cursor).transpose()?,
    };
    // One more than asked tells whether there is a next page.
    let mut items =
        audit::search(db.get_ref(), caller.0.company_id.into(), &filter, limit + 1).await?;
    let next_cursor = if u64::try_from(items.len()).unwrap_or(u64::MAX) > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(|e| encode_cursor(e.created_at, e.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(SearchPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct NotificationQuery {
    #[serde(default)]
    pub unread: bool,
    #[serde(default, deserialize_with = "service_runtime::extract::skip_value")]
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub skip: u64,
    /// Default 50, at most 200.
    #[serde(default, deserialize_with = "service_runtime::extract::limit_value")]
    #[param(minimum = 1)]
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationQuery),
    security(("bearer" = [])), responses((status = 200, body = [notifications::View])))]
pub async fn my_notifications(
    db: web::Data<DatabaseConnection>,
    caller: Caller,
    query: Query<NotificationQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let list = notifications::of_user(
        db.get_ref(),
        caller.0.user_id.into(),
        query.unread,
        query.skip,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = notifications::View), (status = 404, description = "Not one of yours")))]
pub async fn read(
    db: web::Data<DatabaseConnection>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let n = notifications::mark_read(db.get_ref(), caller.0.user_id.into(), *id)
        .await?
        .ok_or_else(ApiError::notification_not_found)?;
    Ok(HttpResponse::Ok().json(n))
}

/// The audit-writer's part of a person's data export (the services gather the parts).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportPart {
    /// Newest first.
    pub notifications: Vec<notifications::View>,
    /// Newest first, personal data merged back unless erased.
    pub audit_entries: Vec<audit::Entry>,
}

/// The most interviews one candidate export names.
pub const MAX_EXPORT_INTERVIEWS: usize = 500;

fn parse_id(field: &str, raw: &str) -> Result<Uuid, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_not_a_uuid| ApiError::invalid(field, "must be a UUID"))
}

#[utoipa::path(get, path = "/api/v1/export/users/{id}", tag = "export", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user")),
    responses(
        (status = 200, description = "The user's notifications, and the caller's company's audit entries done by or to the user", body = ExportPart),
        (status = 401, description = "Missing or invalid token"),
        (status = 403, description = "No access to the user management page"),
        (status = 422, description = "`id` is not a UUID"),
    ))]
pub async fn export_user(
    db: web::Data<DatabaseConnection>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller
        .0
        .require_page(Page::UserManagement)
        .map_err(ApiError::denied)?;
    let user = parse_id("id", &id)?;
    let company = caller.0.company_id.into();
    let part = ExportPart {
        notifications: notifications::to_user(db.get_ref(), company, user).await?,
        audit_entries: audit::about(db.get_ref(), company, audit::about_user(user)).await?,
    };
    Ok(HttpResponse::Ok().json(part))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CandidateExportQuery {
    /// The candidate's interviews: comma-separated ids, at most 500.
    pub interviews: Option<String>,
}

/// The interview ids of `?interviews=`, each once.
fn interview_ids(raw: Option<&str>) -> Result<Vec<Uuid>, ApiError> {
    let parts: Vec<&str> = raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > MAX_EXPORT_INTERVIEWS {
        return Err(ApiError::invalid(
            "interviews",
            format!("at most {MAX_EXPORT_INTERVIEWS} ids"),
        ));
    }
    let mut ids = parts
        .into_iter()
        .map(|p| {
            p.parse::<Uuid>().map_err(|_not_a_uuid| {
                ApiError::invalid(
                    "interviews",
                    "must be comma-separated interview ids (UUIDs)",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[utoipa::path(get, path = "/api/v1/export/candidates/{id}", tag = "export", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The candidate"), CandidateExportQuery),
    responses(
        (status = 200, description = "The caller's company's notifications and audit entries about the candidate and the interviews given", body = ExportPart),
        (status = 401, description = "Missing or invalid token"),
        (status = 403, description = "No access to the candidates page"),
        (status = 422, description = "`id` or an interview id is not a UUID, or more than 500 interviews"),
    ))]
pub async fn export_candidate(
    db: web::Data<DatabaseConnection>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller
        .0
        .require_page(Page::Candidates)
        .map_err(ApiError::denied)?;
    let candidate = parse_id("id", &id)?;
    // Not the shared `Query`: 500 ids are longer than it lets one parameter be.
    let query = web::Query::<CandidateExportQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid("query", e.to_string()))?;
    let interviews = interview_ids(query.interviews.as_deref())?;
    let company = caller.0.company_id.into();
    let part = ExportPart {
        notifications: notifications::about_candidate(
            db.get_ref(),
            company,
            candidate,
            &interviews,
        )
        .await?,
        audit_entries: audit::about(
            db.get_ref(),
            company,
            audit::about_candidate(candidate, &interviews),
        )
        .await?,
    };
    Ok(HttpResponse::Ok().json(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interview_ids_are_uuids_and_no_more_than_500() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let ids = interview_ids(Some(&format!(" {b}, {a},,{b} "))).unwrap_or_default();
        assert_eq!(ids, vec![a, b]);
        assert!(matches!(interview_ids(None), Ok(v) if v.is_empty()));
        assert!(interview_ids(Some("x")).is_err());
        let many = vec![a.to_string(); MAX_EXPORT_INTERVIEWS + 1].join(",");
        assert!(interview_ids(Some(&many)).is_err());
        let most = vec![a.to_string(); MAX_EXPORT_INTERVIEWS].join(",");
        assert!(interview_ids(Some(&most)).is_ok());
    }
}
