//! What the interview service holds about a person, read for their export and replaced
//! for a candidate's erasure (issue 14).

use crate::entities::{candidate, interview, participant};
use auth_types::{CompanyId, UserId};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use time::OffsetDateTime;

/// The interviews of the company a user interviews in or organised, oldest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn interviews_of_user(
    db: &impl ConnectionTrait,
    company: CompanyId,
    user: UserId,
) -> Result<Vec<interview::Model>, DbErr> {
    let taking_part = Query::select()
        .column(participant::Column::InterviewId)
        .from(participant::Entity)
        .and_where(participant::Column::UserId.eq(user))
        .to_owned();
    interview::Entity::find()
        .filter(interview::Column::CompanyId.eq(company))
        .filter(
            sea_orm::Condition::any()
                .add(interview::Column::CreatedBy.eq(user))
                .add(interview::Column::Id.in_subquery(taking_part)),
        )
        .order_by_asc(interview::Column::ScheduledAt)
        .all(db)
        .await
}

/// The candidates of the company a user added (deleted ones too).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn candidates_added_by(
    db: &impl ConnectionTrait,
    company: CompanyId,
    user: UserId,
) -> Result<Vec<candidate::Model>, DbErr> {
    candidate::Entity::find()
        .filter(candidate::Column::CompanyId.eq(company))
        .filter(candidate::Column::CreatedBy.eq(user))
        .order_by_asc(candidate::Column::CreatedAt)
        .all(db)
        .await
}

/// The name an erased candidate is shown with.
pub const ERASED_NAME: &str = "Erased candidate";

/// Replaces a candidate's personal data: name and email replaced, phone and notes gone.
/// False when another erasure got there first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn erase_candidate(
    db: &impl ConnectionTrait,
    c: &candidate::Model,
    now: OffsetDateTime,
) -> Result<bool, DbErr> {
    let done = candidate::Entity::update_many()
        .col_expr(candidate::Column::FullName, Expr::value(ERASED_NAME))
        .col_expr(
            candidate::Column::Email,
            Expr::value(service_runtime::export::erased_email(c.id)),
        )
        .col_expr(
            candidate::Column::Phone,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            candidate::Column::Notes,
            Expr::value(Option::<String>::None),
        )
        .col_expr(candidate::Column::ErasedAt, Expr::value(Some(now)))
        .col_expr(candidate::Column::UpdatedAt, Expr::value(now))
        .filter(candidate::Column::Id.eq(c.id))
        .filter(candidate::Column::CompanyId.eq(c.company_id))
        .filter(candidate::Column::ErasedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Sets an interview's title and location (an erased name taken out of them).
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn rewrite_interview(
    db: &impl ConnectionTrait,
    i: &interview::Model,
    title: String,
    location: Option<String>,
    now: OffsetDateTime,
) -> Result<(), DbErr> {
    interview::Entity::update_many()
        .col_expr(interview::Column::Title, Expr::value(title))
        .col_expr(interview::Column::Location, Expr::value(location))
        .col_expr(interview::Column::UpdatedAt, Expr::value(now))
        .filter(interview::Column::Id.eq(i.id))
        .exec(db)
        .await
        .map(|_| ())
}
