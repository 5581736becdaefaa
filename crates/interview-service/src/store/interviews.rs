//! Interviews of a company and their interviewers.

use crate::domain::interview::{InterviewStatus, NewInterview, ends_at};
use crate::entities::{interview, participant};
use auth_types::{CompanyId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Default, Clone)]
pub struct InterviewFilter {
    pub status: Option<InterviewStatus>,
    pub candidate_id: Option<Uuid>,
    pub interviewer_id: Option<Uuid>,
    /// Interviews starting at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Interviews starting before this time.
    pub to: Option<OffsetDateTime>,
}

/// Takes a transaction-scoped lock per interviewer (PostgreSQL), so two requests cannot
/// both find a slot free and both book it. SQLite has one writer at a time anyway.
pub async fn lock_interviewers(txn: &impl ConnectionTrait, users: &[Uuid]) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut sorted = users.to_vec();
    sorted.sort();
    for user in sorted {
        let (high, _) = user.as_u64_pair();
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

pub async fn insert(
    db: &impl ConnectionTrait,
    company: CompanyId,
    created_by: UserId,
    new: &NewInterview,
) -> Result<interview::Model, DbErr> {
    let now = OffsetDateTime::now_utc();
    let id = Uuid::now_v7();
    let model = interview::ActiveModel {
        id: Set(id),
        company_id: Set(company.into()),
        candidate_id: Set(new.candidate_id),
        title: Set(new.title.clone()),
        kind: Set(new.kind.as_str().to_owned()),
        scheduled_at: Set(new.scheduled_at),
        ends_at: Set(ends_at(new.scheduled_at, new.duration_minutes)),
        duration_minutes: Set(i32::try_from(new.duration_minutes).unwrap_or(i32::MAX)),
        location: Set(new.location.clone()),
        meeting_url: Set(new.meeting_url.clone()),
        status: Set(InterviewStatus::Scheduled.as_str().to_owned()),
        sequence: Set(0),
        created_by: Set(created_by.into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    replace_participants(db, company, id, &new.interviewer_ids).await?;
    Ok(model)
}

pub async fn replace_participants(
    db: &impl ConnectionTrait,
    company: CompanyId,
    interview: Uuid,
    users: &[Uuid],
) -> Result<(), DbErr> {
    participant::Entity::delete_many()
        .filter(participant::Column::InterviewId.eq(interview))
        .exec(db)
        .await?;
    participant::Entity::insert_many(users.iter().map(|u| participant::ActiveModel {
        interview_id: Set(interview),
        user_id: Set(*u),
        company_id: Set(company.into()),
    }))
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

pub async fn find(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: Uuid,
) -> Result<Option<interview::Model>, DbErr> {
    interview::Entity::find_by_id(id)
        .filter(interview::Column::CompanyId.eq(Uuid::from(company)))
        .one(db)
        .await
}

/// Every interview of a candidate, oldest first.
pub async fn of_candidate(
    db: &impl ConnectionTrait,
    company: CompanyId,
    candidate: Uuid,
) -> Result<Vec<interview::Model>, DbErr> {
    interview::Entity::find()
        .filter(interview::Column::CompanyId.eq(Uuid::from(company)))
        .filter(interview::Column::CandidateId.eq(candidate))
        .order_by_asc(interview::Column::ScheduledAt)
        .all(db)
        .await
}

/// The interviewers of each interview, in a stable order.
pub async fn participants(
    db: &impl ConnectionTrait,
    interviews: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>, DbErr> {
    let rows = participant::Entity::find()
        .filter(participant::Column::InterviewId.is_in(interviews.iter().copied()))
        .order_by_asc(participant::Column::UserId)
        .all(db)
        .await?;
    let mut map: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        map.entry(r.interview_id).or_default().push(r.user_id);
    }
    Ok(map)
}

fn with_interviewer(user: Uuid) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(participant::Column::InterviewId)
        .from(participant::Entity)
        .and_where(participant::Column::UserId.eq(user))
        .to_owned()
}

pub async fn list(
    db: &impl ConnectionTrait,
    company: CompanyId,
    filter: &InterviewFilter,
    skip: u64,
    limit: u64,
) -> Result<Vec<interview::Model>, DbErr> {
    let mut query =
        interview::Entity::find().filter(interview::Column::CompanyId.eq(Uuid::from(company)));
    if let Some(status) = filter.status {
        query = query.filter(interview::Column::Status.eq(status.as_str()));
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
pub async fn clashes(
    db: &impl ConnectionTrait,
    company: CompanyId,
    users: &[Uuid],
    start: OffsetDateTime,
    end: OffsetDateTime,
    exclude: Option<Uuid>,
) -> Result<Vec<(Uuid, interview::Model)>, DbErr> {
    let busy: Vec<&str> = [InterviewStatus::Scheduled, InterviewStatus::InProgress]
        .iter()
        .map(|s| s.as_str())
        .collect();
    let mut query = interview::Entity::find()
        .filter(interview::Column::CompanyId.eq(Uuid::from(company)))
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
    let ids: Vec<Uuid> = overlapping.iter().map(|i| i.id).collect();
    let who = participants(db, &ids).await?;
    Ok(overlapping
        .into_iter()
        .flat_map(|i| {
            let hit: Vec<Uuid> = who
                .get(&i.id)
                .map(|ps| ps.iter().filter(|p| users.contains(p)).copied().collect())
                .unwrap_or_default();
            hit.into_iter().map(move |u| (u, i.clone()))
        })
        .collect())
}

/// Applies the fields set in `change` to a still-scheduled interview, bumping its calendar
/// `SEQUENCE` in the same statement when it `moves`. `None` when the interview is no longer
/// scheduled (a concurrent cancel or start won the race): nothing was changed.
pub async fn update_scheduled(
    db: &impl ConnectionTrait,
    company: CompanyId,
    id: Uuid,
    change: interview::ActiveModel,
    moves: bool,
) -> Result<Option<interview::Model>, DbErr> {
    let mut update = interview::Entity::update_many().set(change);
    if moves {
        update = update.col_expr(
            interview::Column::Sequence,
            Expr::col(interview::Column::Sequence).add(1),
        );
    }
    let result = update
        .filter(interview::Column::Id.eq(id))
        .filter(interview::Column::CompanyId.eq(Uuid::from(company)))
        .filter(interview::Column::Status.eq(InterviewStatus::Scheduled.as_str()))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    interview::Entity::find_by_id(id).one(db).await
}
