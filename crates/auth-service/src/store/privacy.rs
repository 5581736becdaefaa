//! What the auth service holds about a person, read for their export and removed or
//! replaced for their erasure (issue 14).

use crate::entities::{
    mail_outbox, mfa_recovery_code, password_history, password_reset, session, user, user_mfa,
    user_page_access,
};
use auth_types::UserId;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use time::OffsetDateTime;

/// Every session of the user, ended ones too, newest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn sessions(db: &impl ConnectionTrait, id: UserId) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::UserId.eq(id))
        .order_by_desc(session::Column::CreatedAt)
        .all(db)
        .await
}

/// Every password-reset request of the user, newest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn resets(
    db: &impl ConnectionTrait,
    id: UserId,
) -> Result<Vec<password_reset::Model>, DbErr> {
    password_reset::Entity::find()
        .filter(password_reset::Column::UserId.eq(id))
        .order_by_desc(password_reset::Column::CreatedAt)
        .all(db)
        .await
}

/// How many earlier password hashes are kept for the history rule.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn history_len(db: &impl ConnectionTrait, id: UserId) -> Result<u64, DbErr> {
    password_history::Entity::find()
        .filter(password_history::Column::UserId.eq(id))
        .count(db)
        .await
}

/// The name an erased user is shown with.
pub const ERASED_NAME: &str = "Erased user";

/// Replaces the user's personal data in one transaction's worth of statements: name,
/// email and department replaced, the account inactive with an unknown password, no
/// second factor, no page overrides, no password history or resets, the sessions' client
/// addresses and agents blanked, and mail not yet sent to them dropped.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn erase(
    db: &impl ConnectionTrait,
    u: &user::Model,
    unknown_password_hash: String,
    now: OffsetDateTime,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::Email,
            Expr::value(service_runtime::export::erased_email(u.id)),
        )
        .col_expr(user::Column::FullName, Expr::value(ERASED_NAME))
        .col_expr(
            user::Column::Department,
            Expr::value(Option::<String>::None),
        )
        .col_expr(user::Column::IsActive, Expr::value(false))
        .col_expr(
            user::Column::PasswordHash,
            Expr::value(unknown_password_hash),
        )
        .col_expr(user::Column::PasswordChangeRequired, Expr::value(false))
        .col_expr(user::Column::MfaEnabled, Expr::value(false))
        .col_expr(user::Column::ErasedAt, Expr::value(Some(now)))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(u.id))
        .exec(db)
        .await?;
    user_page_access::Entity::delete_many()
        .filter(user_page_access::Column::UserId.eq(u.id))
        .exec(db)
        .await?;
    password_history::Entity::delete_many()
        .filter(password_history::Column::UserId.eq(u.id))
        .exec(db)
        .await?;
    password_reset::Entity::delete_many()
        .filter(password_reset::Column::UserId.eq(u.id))
        .exec(db)
        .await?;
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::UserId.eq(u.id))
        .exec(db)
        .await?;
    user_mfa::Entity::delete_many()
        .filter(user_mfa::Column::UserId.eq(u.id))
        .exec(db)
        .await?;
    session::Entity::update_many()
        .col_expr(
            session::Column::IpAddress,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            session::Column::UserAgent,
            Expr::value(Option::<String>::None),
        )
        .filter(session::Column::UserId.eq(u.id))
        .exec(db)
        .await?;
    mail_outbox::Entity::delete_many()
        .filter(mail_outbox::Column::Recipient.eq(u.email.as_str()))
        .exec(db)
        .await?;
    Ok(())
}
