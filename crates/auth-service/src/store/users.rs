//! Users and their page overrides. Every query that a client's request drives is
//! scoped to the caller's company.

use crate::domain::Email;
use crate::entities::{user, user_page_access};
use auth_types::{CompanyId, Page, Role, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub struct InsertUser<'a> {
    pub company: CompanyId,
    pub email: &'a Email,
    pub password_hash: String,
    pub full_name: &'a str,
    pub department: Option<&'a str>,
    pub role: Role,
    /// Set by an admin: the user must choose their own at the next sign-in.
    pub password_change_required: bool,
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn insert(db: &impl ConnectionTrait, u: InsertUser<'_>) -> Result<user::Model, DbErr> {
    let now = OffsetDateTime::now_utc();
    user::ActiveModel {
        id: Set(UserId::new()),
        company_id: Set(u.company),
        email: Set(u.email.as_str().to_owned()),
        password_hash: Set(u.password_hash),
        full_name: Set(u.full_name.to_owned()),
        department: Set(u.department.map(str::to_owned)),
        role: Set(u.role),
        is_active: Set(true),
        password_changed_at: Set(Some(now)),
        password_change_required: Set(u.password_change_required),
        mfa_enabled: Set(false),
        erased_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await
}

/// The user, only if it belongs to `company`: another tenant's id is "not found".
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find_in_company(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: UserId,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id)
        .filter(user::Column::CompanyId.eq(company))
        .one(db)
        .await
}

/// The users of `company` among `ids`; ids of other companies or of nobody are left out.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find_many_in_company(
    db: &impl ConnectionTrait,
    company: CompanyId,
    ids: Vec<UserId>,
) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::CompanyId.eq(company))
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn list(
    db: &impl ConnectionTrait,
    company: CompanyId,
    skip: u64,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::CompanyId.eq(company))
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .offset(skip)
        .limit(limit)
        .all(db)
        .await
}

/// Serialises changes that can take away a company's last admin: the first such change
/// holds the company's row until it commits, the second then counts what the first left.
/// (SQLite, the embedded default, has one connection: its transactions are serial anyway.)
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn lock_company_admins(
    db: &impl ConnectionTrait,
    company: CompanyId,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id FROM companies WHERE id = $1 FOR UPDATE",
        [company.into()],
    ))
    .await
    .map(|_| ())
}

/// The company's active admins, for notices they must see.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn active_admins(
    db: &impl ConnectionTrait,
    company: CompanyId,
) -> Result<Vec<UserId>, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::CompanyId.eq(company))
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::IsActive.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// Active admins of the company who can manage users (no override takes user management
/// away from them), other than `except`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn count_managing_admins(
    db: &impl ConnectionTrait,
    company: CompanyId,
    except: UserId,
) -> Result<u64, DbErr> {
    let denied = user_page_access::Entity::find()
        .select_only()
        .column(user_page_access::Column::UserId)
        .filter(user_page_access::Column::PageName.eq(Page::UserManagement.as_str()))
        .filter(user_page_access::Column::HasAccess.eq(false))
        .into_query();
    user::Entity::find()
        .filter(user::Column::CompanyId.eq(company))
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::Id.ne(except))
        .filter(user::Column::Id.not_in_subquery(denied))
        .count(db)
        .await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: UserId,
    hash: String,
) -> Result<(), DbErr> {
    user::ActiveModel {
        id: Set(id),
        password_hash: Set(hash),
        updated_at: Set(OffsetDateTime::now_utc()),
        ..Default::default()
    }
    .update(db)
    .await
    .map(|_| ())
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn update(
    db: &impl ConnectionTrait,
    model: user::ActiveModel,
) -> Result<user::Model, DbErr> {
    model.update(db).await
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn overrides(db: &impl ConnectionTrait, id: UserId) -> Result<Vec<(Page, bool)>, DbErr> {
    let rows = user_page_access::Entity::find()
        .filter(user_page_access::Column::UserId.eq(id))
        .all(db)
        .await?;
    // A page name this build does not know (written by a newer one) is ignored.
    Ok(rows
        .into_iter()
        .filter_map(|r| r.page_name.parse().ok().map(|p| (p, r.has_access)))
        .collect())
}

/// Sets (`Some`) or drops (`None`) the override of one page.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn set_override(
    db: &impl ConnectionTrait,
    id: UserId,
    page: Page,
    access: Option<bool>,
) -> Result<(), DbErr> {
    let by_page = sea_orm::Condition::all()
        .add(user_page_access::Column::UserId.eq(id))
        .add(user_page_access::Column::PageName.eq(page.as_str()));
    let Some(has_access) = access else {
        user_page_access::Entity::delete_many()
            .filter(by_page)
            .exec(db)
            .await?;
        return Ok(());
    };
    let now = OffsetDateTime::now_utc();
    user_page_access::Entity::insert(user_page_access::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(id),
        page_name: Set(page.as_str().to_owned()),
        has_access: Set(has_access),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            user_page_access::Column::UserId,
            user_page_access::Column::PageName,
        ])
        .update_columns([
            user_page_access::Column::HasAccess,
            user_page_access::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec(db)
    .await
    .map(|_| ())
}
