//! Passwords on the record: setting one (with when, and whether its user must change
//! it), the hashes of the recent ones (`PASSWORD_HISTORY`), and password-reset tokens,
//! kept only as digests.

use crate::entities::{password_history, password_reset, user};
use auth_types::{CompanyId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// Sets a user's password hash, when it was set, and whether they must change it at
/// their next sign-in; the one it replaces joins their history, of which the newest
/// `keep` stay.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn set(
    db: &impl ConnectionTrait,
    id: UserId,
    hash: String,
    change_required: bool,
    keep: usize,
) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    let previous: Option<String> = user::Entity::find_by_id(id)
        .select_only()
        .column(user::Column::PasswordHash)
        .into_tuple()
        .one(db)
        .await?;
    user::ActiveModel {
        id: Set(id),
        password_hash: Set(hash.clone()),
        password_changed_at: Set(Some(now)),
        password_change_required: Set(change_required),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await?;
    match previous {
        Some(old) => remember(db, id, old, keep).await,
        None => Ok(()),
    }
}

/// Adds a hash of a password the user had to their history and forgets all but the
/// newest `keep`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn remember(
    db: &impl ConnectionTrait,
    id: UserId,
    hash: String,
    keep: usize,
) -> Result<(), DbErr> {
    if keep == 0 {
        password_history::Entity::delete_many()
            .filter(password_history::Column::UserId.eq(id))
            .exec(db)
            .await?;
        return Ok(());
    }
    password_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(id),
        password_hash: Set(hash),
        created_at: Set(OffsetDateTime::now_utc()),
    }
    .insert(db)
    .await?;
    let stale: Vec<Uuid> = password_history::Entity::find()
        .select_only()
        .column(password_history::Column::Id)
        .filter(password_history::Column::UserId.eq(id))
        .order_by_desc(password_history::Column::CreatedAt)
        .order_by_desc(password_history::Column::Id)
        .offset(u64::try_from(keep).unwrap_or(u64::MAX))
        // SQLite takes no OFFSET without a LIMIT.
        .limit(10_000)
        .into_tuple()
        .all(db)
        .await?;
    if !stale.is_empty() {
        password_history::Entity::delete_many()
            .filter(password_history::Column::Id.is_in(stale))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The hashes of the user's newest `n` passwords, newest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn recent(db: &impl ConnectionTrait, id: UserId, n: usize) -> Result<Vec<String>, DbErr> {
    if n == 0 {
        return Ok(Vec::new());
    }
    password_history::Entity::find()
        .select_only()
        .column(password_history::Column::PasswordHash)
        .filter(password_history::Column::UserId.eq(id))
        .order_by_desc(password_history::Column::CreatedAt)
        .order_by_desc(password_history::Column::Id)
        .limit(u64::try_from(n).unwrap_or(u64::MAX))
        .into_tuple()
        .all(db)
        .await
}

pub struct NewReset<'a> {
    pub user: UserId,
    pub company: CompanyId,
    pub token_digest: String,
    pub ip_address: Option<&'a str>,
    pub expires_at: OffsetDateTime,
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn insert_reset(db: &impl ConnectionTrait, r: NewReset<'_>) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    password_reset::ActiveModel {
        id: Set(id),
        user_id: Set(r.user),
        company_id: Set(r.company),
        token_digest: Set(r.token_digest),
        ip_address: Set(r.ip_address.map(|ip| ip.chars().take(64).collect())),
        created_at: Set(OffsetDateTime::now_utc()),
        expires_at: Set(r.expires_at),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The unused, unexpired reset whose token has `digest`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find_live_reset(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<password_reset::Model>, DbErr> {
    let now = OffsetDateTime::now_utc();
    Ok(password_reset::Entity::find()
        .filter(password_reset::Column::TokenDigest.eq(digest))
        .one(db)
        .await?
        .filter(|r| r.used_at.is_none() && r.expires_at > now))
}

/// Uses the reset whose token has `digest`, if it is unused and unexpired: exactly one
/// of concurrent uses gets it.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn use_reset(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<password_reset::Model>, DbErr> {
    let now = OffsetDateTime::now_utc();
    let Some(found) = password_reset::Entity::find()
        .filter(password_reset::Column::TokenDigest.eq(digest))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if found.used_at.is_some() || found.expires_at <= now {
        return Ok(None);
    }
    let taken = password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, Expr::value(now))
        .filter(password_reset::Column::Id.eq(found.id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok((taken.rows_affected == 1).then_some(found))
}

/// Every other open reset of the user dies with a successful one, or a password change.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn void_resets(db: &impl ConnectionTrait, id: UserId) -> Result<(), DbErr> {
    password_reset::Entity::update_many()
        .col_expr(
            password_reset::Column::UsedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(password_reset::Column::UserId.eq(id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}
