//! TOTP factors and recovery codes on the record.

use crate::entities::{mfa_recovery_code, user, user_mfa};
use auth_types::UserId;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};
use time::OffsetDateTime;
use uuid::Uuid;

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find(
    db: &impl ConnectionTrait,
    user: UserId,
) -> Result<Option<user_mfa::Model>, DbErr> {
    user_mfa::Entity::find_by_id(user).one(db).await
}

/// Marks the user's record with whether they have a confirmed factor.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn set_enabled(db: &impl ConnectionTrait, id: UserId, on: bool) -> Result<(), DbErr> {
    user::ActiveModel {
        id: Set(id),
        mfa_enabled: Set(on),
        updated_at: Set(OffsetDateTime::now_utc()),
        ..Default::default()
    }
    .update(db)
    .await
    .map(|_| ())
}

/// Starts (or restarts) an enrolment: a new, unconfirmed secret. Never replaces a
/// confirmed one (the caller checks; the condition holds it against a race).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn begin(db: &impl ConnectionTrait, user: UserId, sealed: String) -> Result<bool, DbErr> {
    let now = OffsetDateTime::now_utc();
    let res = user_mfa::Entity::insert(user_mfa::ActiveModel {
        user_id: Set(user),
        secret_sealed: Set(sealed),
        confirmed_at: Set(None),
        last_used_step: Set(None),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(user_mfa::Column::UserId)
            .update_columns([
                user_mfa::Column::SecretSealed,
                user_mfa::Column::LastUsedStep,
                user_mfa::Column::CreatedAt,
            ])
            .action_and_where(
                Expr::col((user_mfa::Entity, user_mfa::Column::ConfirmedAt)).is_null(),
            )
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(res == 1)
}

/// Accepts a code of time step `step`, once: only if no code of this step or a later one
/// was accepted before (RFC 6238 §5.2). Atomic in the database, so two replicas shown
/// the same code accept it once. With `confirm`, the factor is confirmed by it.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn accept_step(
    db: &impl ConnectionTrait,
    user: UserId,
    step: i64,
    confirm: bool,
) -> Result<bool, DbErr> {
    let mut update = user_mfa::Entity::update_many()
        .col_expr(user_mfa::Column::LastUsedStep, Expr::value(step))
        .filter(user_mfa::Column::UserId.eq(user))
        .filter(
            Condition::any()
                .add(user_mfa::Column::LastUsedStep.is_null())
                .add(user_mfa::Column::LastUsedStep.lt(step)),
        );
    if confirm {
        update = update
            .col_expr(
                user_mfa::Column::ConfirmedAt,
                Expr::value(OffsetDateTime::now_utc()),
            )
            .filter(user_mfa::Column::ConfirmedAt.is_null());
    } else {
        update = update.filter(user_mfa::Column::ConfirmedAt.is_not_null());
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Turns the factor off: the secret and every recovery code go.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn remove(db: &impl ConnectionTrait, user: UserId) -> Result<(), DbErr> {
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::UserId.eq(user))
        .exec(db)
        .await?;
    user_mfa::Entity::delete_by_id(user)
        .exec(db)
        .await
        .map(|_| ())
}

/// Replaces the user's recovery codes by these digests.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn set_recovery_codes(
    db: &impl ConnectionTrait,
    user: UserId,
    digests: &[String],
) -> Result<(), DbErr> {
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::UserId.eq(user))
        .exec(db)
        .await?;
    let now = OffsetDateTime::now_utc();
    for digest in digests {
        mfa_recovery_code::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user),
            digest: Set(digest.clone()),
            used_at: Set(None),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Uses one recovery code: true for exactly one of concurrent uses of an unused code.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn use_recovery_code(
    db: &impl ConnectionTrait,
    user: UserId,
    digest: &str,
) -> Result<bool, DbErr> {
    let res = mfa_recovery_code::Entity::update_many()
        .col_expr(
            mfa_recovery_code::Column::UsedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(mfa_recovery_code::Column::UserId.eq(user))
        .filter(mfa_recovery_code::Column::Digest.eq(digest))
        .filter(mfa_recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Whether the user has this recovery code unused.
pub async fn has_recovery_code(
    db: &impl ConnectionTrait,
    user: UserId,
    digest: &str,
) -> Result<bool, DbErr> {
    Ok(mfa_recovery_code::Entity::find()
        .filter(mfa_recovery_code::Column::UserId.eq(user))
        .filter(mfa_recovery_code::Column::Digest.eq(digest))
        .filter(mfa_recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?
        > 0)
}

/// Recovery codes the user has left.
pub async fn recovery_codes_left(db: &impl ConnectionTrait, user: UserId) -> Result<u64, DbErr> {
    mfa_recovery_code::Entity::find()
        .filter(mfa_recovery_code::Column::UserId.eq(user))
        .filter(mfa_recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}
