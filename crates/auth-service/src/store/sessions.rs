//! The record of login sessions (refresh-token families): who, from where, when last
//! used, and whether and why revoked.

use crate::entities::session;
use auth_types::{CompanyId, SessionId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set, Statement, Value,
};
use time::OffsetDateTime;

pub struct NewSession<'a> {
    pub id: SessionId,
    pub user: UserId,
    pub company: CompanyId,
    pub user_agent: Option<&'a str>,
    pub ip_address: Option<&'a str>,
    pub expires_at: OffsetDateTime,
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn insert(db: &impl ConnectionTrait, s: NewSession<'_>) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    session::ActiveModel {
        id: Set(s.id),
        user_id: Set(s.user),
        company_id: Set(s.company),
        user_agent: Set(s.user_agent.map(|ua| ua.chars().take(512).collect())),
        ip_address: Set(s.ip_address.map(|ip| ip.chars().take(64).collect())),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(s.expires_at),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    }
    .insert(db)
    .await
    .map(|_| ())
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn touch(
    db: &impl ConnectionTrait,
    id: SessionId,
    expires_at: OffsetDateTime,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(
            session::Column::LastUsedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .col_expr(session::Column::ExpiresAt, Expr::value(expires_at))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// [`touch`] for many sessions at once: on PostgreSQL one statement
/// ([`touch_many_statement`]); on SQLite (the embedded default, one connection) a
/// statement each.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn touch_many(
    db: &impl ConnectionTrait,
    sessions: &[(SessionId, OffsetDateTime)],
) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        for (id, expires_at) in sessions {
            touch(db, *id, *expires_at).await?;
        }
        return Ok(());
    }
    db.execute_raw(touch_many_statement(sessions))
        .await
        .map(|_| ())
}

/// The PostgreSQL statement touching `sessions` now, each with its new expiry: one
/// `UPDATE … FROM unnest(…)`, its text the same for any number (prepared once).
pub fn touch_many_statement(sessions: &[(SessionId, OffsetDateTime)]) -> Statement {
    let (ids, expiries): (Vec<uuid::Uuid>, Vec<OffsetDateTime>) = sessions
        .iter()
        .map(|(id, expires_at)| (uuid::Uuid::from(*id), *expires_at))
        .unzip();
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE sessions SET last_used_at = $1, expires_at = v.expires_at \
         FROM unnest($2::uuid[], $3::timestamptz[]) AS v(id, expires_at) WHERE sessions.id = v.id",
        [
            Value::from(OffsetDateTime::now_utc()),
            ids.into(),
            expiries.into(),
        ],
    )
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn revoke(db: &impl ConnectionTrait, id: SessionId, reason: &str) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(
            session::Column::RevokedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Revokes every open session of a user; gives their ids, so the token store can
/// revoke the families too.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn revoke_all_of_user(
    db: &impl ConnectionTrait,
    user: UserId,
    reason: &str,
) -> Result<Vec<SessionId>, DbErr> {
    let open: Vec<SessionId> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    session::Entity::update_many()
        .col_expr(
            session::Column::RevokedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.is_in(open.clone()))
        .exec(db)
        .await?;
    Ok(open)
}

/// A user's live sessions (not revoked, not expired), newest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn live_of_user(
    db: &impl ConnectionTrait,
    company: CompanyId,
    user: UserId,
) -> Result<Vec<session::Model>, DbErr> {
    use sea_orm::QueryOrder;
    session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::CompanyId.eq(company))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(OffsetDateTime::now_utc()))
        .order_by_desc(session::Column::CreatedAt)
        .order_by_desc(session::Column::Id)
        .all(db)
        .await
}
