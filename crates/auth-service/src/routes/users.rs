//! `/api/v1/users*`: the caller's own profile, and user management within the caller's
//! company (page `user_management`).

use super::Authenticated;
use crate::domain::user::{CreateUserRequest, UpdateUserRequest};
use crate::error::AuthError;
use crate::service::AppState;
use crate::service::privacy::{self, Erased, UserExport};
use crate::service::sessions::{self, SessionView};
use crate::service::users::{self as ops, UserView};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use auth_types::{PagePermissions, SessionId, UserId};
use serde::Deserialize;
use service_runtime::extract::{Json, Paging, Query};
use service_runtime::http::{Limited, with_quota};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Page → `true` (grant), `false` (deny) or `null` (back to the role's default).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct PermissionChanges(BTreeMap<String, Option<bool>>);

#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, description = "Missing or invalid token")))]
pub async fn me(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<HttpResponse, AuthError> {
    Ok(HttpResponse::Ok().json(ops::me(&state, &user.0).await?))
}

#[utoipa::path(get, path = "/api/v1/users/me/permissions", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "The effective page map", body = PagePermissions)))]
pub async fn my_permissions(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(&user.0.permissions)
}

#[utoipa::path(get, path = "/api/v1/users/me/sessions", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "The caller's live sessions, newest first", body = [SessionView])))]
pub async fn my_sessions(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<HttpResponse, AuthError> {
    Ok(HttpResponse::Ok().json(sessions::mine(&state, &user.0).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/me/sessions", tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Every other session of the caller ended; the current one lives on")))]
pub async fn end_my_other_sessions(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<HttpResponse, AuthError> {
    sessions::end_my_others(&state, &user.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/users/me/sessions/{id}",
    params(("id" = uuid::Uuid, Path, description = "The session's id")), tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "The session ended: its refresh and access tokens stop working"),
        (status = 404, description = "No such live session of yours")))]
pub async fn end_my_session(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<SessionId>,
) -> Result<HttpResponse, AuthError> {
    sessions::end_mine(&state, &user.0, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/users/{id}/sessions",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "The user's live sessions, newest first", body = [SessionView]),
        (status = 403, description = "No write access to user management, or the user is an admin and you are not"),
        (status = 404, description = "No such user in your company")))]
pub async fn user_sessions(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AuthError> {
    Ok(HttpResponse::Ok().json(sessions::of_user(&state, &user.0, *id).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Every session of the user ended"),
        (status = 403, description = "No write access to user management, or the user is an admin and you are not"),
        (status = 404, description = "No such user in your company")))]
pub async fn end_user_sessions(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AuthError> {
    sessions::end_all_of_user(&state, &user.0, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = [UserView]), (status = 403, description = "No access to user management"),
        (status = 422, description = "Bad paging parameters")))]
pub async fn list(
    state: web::Data<AppState>,
    user: Authenticated,
    paging: Query<Paging>,
) -> Result<HttpResponse, AuthError> {
    let users = ops::list(&state, &user.0, paging.skip, paging.limit()).await?;
    Ok(HttpResponse::Ok().json(users))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    security(("bearer" = [])),
    responses((status = 201, body = UserView), (status = 409, description = "Email already taken"),
        (status = 422, description = "Invalid fields"),
        (status = 429, description = "USER_CREATION_RATE_LIMIT_PER_HOUR reached for your company; see Retry-After and RateLimit-Reset")))]
pub async fn create(
    state: web::Data<AppState>,
    user: Authenticated,
    body: Json<CreateUserRequest>,
) -> Result<HttpResponse, AuthError> {
    let new = body.into_inner().validate()?;
    let Limited { value, quota } = ops::create(&state, &user.0, new).await?;
    let res = HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", value.id)))
        .json(value);
    Ok(with_quota(quota, res))
}

#[utoipa::path(get, path = "/api/v1/users/{id}",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 404, description = "No such user in your company")))]
pub async fn get(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AuthError> {
    Ok(HttpResponse::Ok().json(ops::get(&state, &user.0, *id).await?))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "users", request_body = UpdateUserRequest,
    security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 404, description = "No such user in your company"),
        (status = 409, description = "Email taken, or the change would leave no active admin")))]
pub async fn update(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
    body: Json<UpdateUserRequest>,
) -> Result<HttpResponse, AuthError> {
    let change = body.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(ops::update(&state, &user.0, *id, change).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Deactivated; the user's tokens stop working at once"),
        (status = 404, description = "No such user in your company")))]
pub async fn deactivate(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AuthError> {
    ops::deactivate(&state, &user.0, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/users/{id}/unlock",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Any lock of the account ended and its failed sign-ins forgotten"),
        (status = 403, description = "No access to user management"),
        (status = 404, description = "No such user in your company")))]
pub async fn unlock(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AuthError> {
    ops::unlock(&state, &user.0, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/users/{id}/permissions",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "The user's effective page map", body = PagePermissions)))]
pub async fn permissions(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AuthError> {
    user.0.require_page(auth_types::Page::UserManagement)?;
    Ok(HttpResponse::Ok().json(ops::permissions(&state, &user.0, *id).await?))
}

#[utoipa::path(put, path = "/api/v1/users/{id}/permissions",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "users", request_body = PermissionChanges,
    security(("bearer" = [])),
    responses((status = 200, description = "The effective page map after the change", body = PagePermissions),
        (status = 422, description = "An unknown page or a value that is not true, false or null")))]
pub async fn set_permissions(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
    body: Json<PermissionChanges>,
) -> Result<HttpResponse, AuthError> {
    let changes = ops::parse_permission_changes(body.into_inner().0)?;
    let effective = ops::set_permissions(&state, &user.0, *id, changes).await?;
    Ok(HttpResponse::Ok().json(effective))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/export",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "privacy", security(("bearer" = [])),
    responses((status = 200, description = "Everything the platform holds about the user, from every service", body = UserExport),
        (status = 403, description = "No access to user management (or an admin's data without being one)"),
        (status = 404, description = "No such user in your company"),
        (status = 503, description = "A service holding part of the data did not answer; nothing partial is returned")))]
pub async fn export(
    state: web::Data<AppState>,
    user: Authenticated,
    req: actix_web::HttpRequest,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AuthError> {
    let bearer = auth_types::extract::bearer_token(&req).ok_or(AuthError::MissingToken)?;
    let doc = privacy::export_user(&state, &user.0, &bearer, *id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(doc))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/erase",
    params(("id" = uuid::Uuid, Path, description = "The user's id")), tag = "privacy", security(("bearer" = [])),
    responses((status = 202, description = "Erased here; the other services erase their copies from the outbox (`USER_ERASED`)", body = Erased),
        (status = 403, description = "Only admins erase personal data"),
        (status = 404, description = "No such user in your company"),
        (status = 409, description = "Your own account, or the company's last active admin")))]
pub async fn erase(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AuthError> {
    Ok(HttpResponse::Accepted().json(privacy::erase_user(&state, &user.0, *id).await?))
}
