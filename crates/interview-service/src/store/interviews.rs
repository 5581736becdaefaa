//! Interviews of a company and their interviewers.

use crate::domain::interview::{InterviewChange, InterviewStatus, NewInterview, ends_at};
use crate::entities::{interview, participant};
use auth_types::{CandidateId, CompanyId, InterviewId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, UpdateMany,
};
use std::collections::HashMap;
use time::OffsetDateTime;

#[derive(Debug, Default, Clone)]
pub struct InterviewFilter {
    pub status: Option<InterviewStatus>,
    pub candidate_id: Option<CandidateId>,
    pub interviewer_id: Option<UserId>,
    /// Interviews starting at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Interviews starting before this time.
    pub to: Option<OffsetDateTime>,
}

/// Takes a transaction-scoped lock per interviewer (PostgreSQL), so two requests cannot
/// both find a slot free and both book it. SQLite has one writer at a time anyway.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn lock_interviewers(txn: &impl ConnectionTrait, users: &[UserId]) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut sorted = users.to_vec();
    sorted.sort();
    for user in sorted {
        let (high, _) = user.0.as_u64_pair();
        let key = i64::from_be_bytes(high.to_be_bytes());
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn insert(
    db: &impl ConnectionTrait,
    company: CompanyId,
    created_by: UserId,
    new: &NewInterview,
) -> Result<interview::Model, DbErr> {
    let now = OffsetDateTime::now_utc();
    let id = InterviewId::new();
    let model = interview::ActiveModel {
        id: Set(id),
        company_id: Set(company),
        candidate_id: Set(new.candidate_id),
        title: Set(new.title.clone()),
        kind: Set(new.kind),
        scheduled_at: Set(new.scheduled_at),
        ends_at: Set(ends_at(new.scheduled_at, new.duration_minutes)),
        duration_minutes: Set(i32::try_from(new.duration_minutes).unwrap_or(i32::MAX)),
        location: Set(new.location.clone()),
        meeting_url: Set(new.meeting_url.clone()),
        status: Set(InterviewStatus::Scheduled),
        sequence: Set(0),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    replace_participants(db, company, id, &new.interviewer_ids).await?;
    Ok(model)
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn replace_participants(
    db: &impl ConnectionTrait,
    company: CompanyId,
    interview: InterviewId,
    users: &[UserId],
) -> Result<(), DbErr> {
    participant::Entity::delete_many()
        .filter(participant::Column::InterviewId.eq(interview))
        .exec(db)
        .await?;
    participant::Entity::insert_many(users.iter().map(|u| participant::ActiveModel {
        interview_id: Set(interview),
        user_id: Set(*u),
        company_id: Set(company),
    }))
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn find(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: InterviewId,
) -> Result<Option<interview::Model>, DbErr> {
    interview::Entity::find_by_id(id)
        .filter(interview::Column::CompanyId.eq(company))
        .one(db)
        .await
}

/// Every interview of a candidate, oldest first.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn of_candidate(
    db: &impl ConnectionTrait,
    company: CompanyId,
    candidate: CandidateId,
) -> Result<Vec<interview::Model>, DbErr> {
    interview::Entity::find()
        .filter(interview::Column::CompanyId.eq(company))
        .filter(interview::Column::CandidateId.eq(candidate))
        .order_by_asc(interview::Column::ScheduledAt)
        .all(db)
        .await
}

/// The interviewers of each interview, in a stable order.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn participants(
    db: &impl ConnectionTrait,
    interviews: &[InterviewId],
) -> Result<HashMap<InterviewId, Vec<UserId>>, DbErr> {
    let rows = participant::Entity::find()
        .filter(participant::Column::InterviewId.is_in(interviews.iter().copied()))
        .order_by_asc(participant::Column::UserId)
        .all(db)
        .await?;
    let mut map: HashMap<InterviewId, Vec<UserId>> = HashMap::new();
    for r in rows {
        map.entry(r.interview_id).or_default().push(r.user_id);
    }
    Ok(map)
}

fn with_interviewer(user: UserId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(participant::Column::InterviewId)
        .from(participant::Entity)
        .and_where(participant::Column::UserId.eq(user))
        .to_owned()
}

#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn list(
    db: &impl ConnectionTrait,
    company: CompanyId,
    filter: &InterviewFilter,
    skip: u64,
    limit: u64,
) -> Result<Vec<interview::Model>, DbErr> {
    let mut query = interview::Entity::find().filter(interview::Column::CompanyId.eq(company));
    if let Some(status) = filter.status {
        query = query.filter(interview::Column::Status.eq(status));
    }
    if let Some(candidate) = filter.candidate_id {
        query = query.filter(interview::Column::CandidateId.eq(candidate));
    }
    if let Some(user) = filter.interviewer_id {
        query = query.filter(interview::Column::Id.in_subquery(with_interviewer(user)));
    }
    if let Some(from) = filter.from {
        query = query.filter(interview::Column::ScheduledAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(interview::Column::ScheduledAt.lt(to));
    }
    query
        .order_by_asc(interview::Column::ScheduledAt)
        .order_by_asc(interview::Column::Id)
        .offset(skip)
        .limit(limit)
        .all(db)
        .await
}

/// The calendar-holding interviews of `company` that overlap `[start, end)` for any of
/// `users`, other than `exclude`; with the user each one clashes for.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn clashes(
    db: &impl ConnectionTrait,
    company: CompanyId,
    users: &[UserId],
    start: OffsetDateTime,
    end: OffsetDateTime,
    exclude: Option<InterviewId>,
) -> Result<Vec<(UserId, interview::Model)>, DbErr> {
    let busy = InterviewStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.blocks_calendar());
    let mut query = interview::Entity::find()
        .filter(interview::Column::CompanyId.eq(company))
        .filter(interview::Column::Status.is_in(busy))
        .filter(interview::Column::ScheduledAt.lt(end))
        .filter(interview::Column::EndsAt.gt(start))
        .filter(
            interview::Column::Id.in_subquery(
                Query::select()
                    .column(participant::Column::InterviewId)
                    .from(participant::Entity)
                    .and_where(participant::Column::UserId.is_in(users.iter().copied()))
                    .to_owned(),
            ),
        );
    if let Some(id) = exclude {
        query = query.filter(interview::Column::Id.ne(id));
    }
    let overlapping = query
        .order_by_asc(interview::Column::ScheduledAt)
        .all(db)
        .await?;
    let ids: Vec<InterviewId> = overlapping.iter().map(|i| i.id).collect();
    let who = participants(db, &ids).await?;
    Ok(overlapping
        .into_iter()
        .flat_map(|i| {
            let hit: Vec<UserId> = who
                .get(&i.id)
                .map(|ps| ps.iter().filter(|p| users.contains(p)).copied().collect())
                .unwrap_or_default();
            hit.into_iter().map(move |u| (u, i.clone()))
        })
        .collect())
}

/// When an interview starts and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub start: OffsetDateTime,
    pub minutes: u32,
}

/// Moves a lifecycle step: the status is compared and set in one statement, so of two
/// concurrent actions on one interview only one can win (false: the status was no longer
/// `from`). A cancellation bumps the calendar `SEQUENCE`.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn transition(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: InterviewId,
    from: InterviewStatus,
    to: InterviewStatus,
) -> Result<bool, DbErr> {
    let mut update = interview::Entity::update_many()
        .col_expr(interview::Column::Status, Expr::value(to))
        .col_expr(
            interview::Column::UpdatedAt,
            Expr::value(OffsetDateTime::now_utc()),
        );
    if to == InterviewStatus::Cancelled {
        update = next_sequence(update);
    }
    Ok(apply_if(db, update, company, id, from).await? > 0)
}

/// The calendar `SEQUENCE` goes up by one in the same statement: the event changed.
fn next_sequence(update: UpdateMany<interview::Entity>) -> UpdateMany<interview::Entity> {
    update.col_expr(
        interview::Column::Sequence,
        Expr::col(interview::Column::Sequence).add(1),
    )
}

/// Runs `update` on the interview only while it is `status`: the rows changed (0 when a
/// concurrent change moved it on first).
async fn apply_if(
    db: &impl ConnectionTrait,
    update: UpdateMany<interview::Entity>,
    company: CompanyId,
    id: InterviewId,
    status: InterviewStatus,
) -> Result<u64, DbErr> {
    let result = update
        .filter(interview::Column::Id.eq(id))
        .filter(interview::Column::CompanyId.eq(company))
        .filter(interview::Column::Status.eq(status))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Applies the fields set in `change` to a still-scheduled interview, in `slot`, bumping
/// its calendar `SEQUENCE` in the same statement when it moves. `None` when the interview is no longer
/// scheduled (a concurrent cancel or start won the race): nothing was changed.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn update_scheduled(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: InterviewId,
    change: &InterviewChange,
    slot: Slot,
) -> Result<Option<interview::Model>, DbErr> {
    // Only the changed columns; the status and the sequence are decided in the statement.
    let mut model = <interview::ActiveModel as Default>::default();
    if let Some(v) = &change.title {
        model.title = Set(v.clone());
    }
    if let Some(v) = change.kind {
        model.kind = Set(v);
    }
    if let Some(v) = &change.location {
        model.location = Set(v.clone());
    }
    if let Some(v) = &change.meeting_url {
        model.meeting_url = Set(v.clone());
    }
    model.scheduled_at = Set(slot.start);
    model.ends_at = Set(ends_at(slot.start, slot.minutes));
    model.duration_minutes = Set(i32::try_from(slot.minutes).unwrap_or(i32::MAX));
    model.updated_at = Set(OffsetDateTime::now_utc());
    let mut update = interview::Entity::update_many().set(model);
    if change.moves() {
        update = next_sequence(update);
    }
    if apply_if(db, update, company, id, InterviewStatus::Scheduled).await? == 0 {
        return Ok(None);
    }
    interview::Entity::find_by_id(id).one(db).await
}
