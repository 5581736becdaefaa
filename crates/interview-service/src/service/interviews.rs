//! Interviews (page `interviews`): scheduling without double-booking, the lifecycle,
//! and the calendar file.

use super::{AppState, SOURCE};
use crate::domain::calendar::{self, Person};
use crate::domain::interview::{
    Action, InterviewChange, InterviewKind, InterviewStatus, NewInterview, ends_at,
};
use crate::domain::stored;
use crate::entities::{candidate, interview};
use crate::error::InterviewError;
use crate::store::candidates;
use crate::store::interviews::{self as store, InterviewFilter};
use auth_types::{CompanyId, Principal, UserId, UserRef};
use events::{Event, Notification, UnitOfWork};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use service_runtime::error::Failures;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use time::macros::format_description;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewView {
    pub id: Uuid,
    pub candidate_id: Uuid,
    pub interviewer_ids: Vec<Uuid>,
    pub title: String,
    pub kind: InterviewKind,
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_at: OffsetDateTime,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub meeting_url: Option<String>,
    pub status: InterviewStatus,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn view(i: interview::Model, interviewer_ids: Vec<Uuid>) -> Result<InterviewView, InterviewError> {
    Ok(InterviewView {
        kind: stored(&i.kind)?,
        status: stored(&i.status)?,
        id: i.id,
        candidate_id: i.candidate_id,
        interviewer_ids,
        title: i.title,
        scheduled_at: i.scheduled_at,
        duration_minutes: i.duration_minutes,
        location: i.location,
        meeting_url: i.meeting_url,
        created_by: i.created_by,
        created_at: i.created_at,
        updated_at: i.updated_at,
    })
}

fn not_found() -> InterviewError {
    InterviewError::not_found("Interview")
}

/// The interviewers as auth knows them; every one must be an active user of the company.
async fn interviewers(
    state: &AppState,
    company: CompanyId,
    ids: &[Uuid],
) -> Result<Vec<UserRef>, InterviewError> {
    let wanted: Vec<UserId> = ids.iter().copied().map(UserId::from).collect();
    let found = state.auth.lookup_users(company, &wanted).await?;
    let active: HashSet<UserId> = found.iter().filter(|u| u.is_active).map(|u| u.id).collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|id| !active.contains(id))
        .map(ToString::to_string)
        .collect();
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(InterviewError::invalid(
            "interviewer_ids",
            format!("not active users of your company: {}", missing.join(", ")),
        ))
    }
}

fn hhmm(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_default()
}

/// Locks the interviewers' calendars for this transaction and finds the first clash.
async fn first_clash(
    txn: &impl sea_orm::ConnectionTrait,
    company: CompanyId,
    ids: &[Uuid],
    start: OffsetDateTime,
    end: OffsetDateTime,
    exclude: Option<Uuid>,
) -> Result<Option<(Uuid, interview::Model)>, InterviewError> {
    store::lock_interviewers(txn, ids).await?;
    Ok(store::clashes(txn, company, ids, start, end, exclude)
        .await?
        .into_iter()
        .next())
}

/// 409 naming who is double-booked, by what, and when.
async fn clash(
    state: &AppState,
    company: CompanyId,
    user: Uuid,
    other: &interview::Model,
) -> InterviewError {
    let name = match state
        .auth
        .lookup_users(company, &[UserId::from(user)])
        .await
    {
        Ok(found) => found.into_iter().next().map(|u| u.full_name),
        Err(_) => None,
    };
    InterviewError::conflict(format!(
        "Interviewer {} is already booked for '{}' from {} to {} UTC (interview {})",
        name.unwrap_or_else(|| user.to_string()),
        other.title,
        hhmm(other.scheduled_at),
        hhmm(other.ends_at),
        other.id
    ))
}

pub async fn create(
    state: &AppState,
    caller: &Principal,
    new: NewInterview,
) -> Result<InterviewView, InterviewError> {
    let company = caller.company_id;
    if candidates::find(&state.db, company, new.candidate_id)
        .await?
        .is_none()
    {
        return Err(InterviewError::invalid(
            "candidate_id",
            "no such candidate in your company",
        ));
    }
    interviewers(state, company, &new.interviewer_ids).await?;
    let end = ends_at(new.scheduled_at, new.duration_minutes);
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if let Some((user, other)) = first_clash(
        &*txn,
        company,
        &new.interviewer_ids,
        new.scheduled_at,
        end,
        None,
    )
    .await?
    {
        drop(txn);
        return Err(clash(state, company, user, &other).await);
    }
    let created = store::insert(&*txn, company, caller.user_id, &new).await?;
    announce(
        &mut txn,
        caller,
        &created,
        &new.interviewer_ids,
        "INTERVIEW_SCHEDULED",
        Some("scheduled"),
    )
    .await?;
    txn.commit().await?;
    view(created, new.interviewer_ids)
}

pub async fn list(
    state: &AppState,
    caller: &Principal,
    filter: &InterviewFilter,
    skip: u64,
    limit: u64,
) -> Result<Vec<InterviewView>, InterviewError> {
    let rows = store::list(&state.db, caller.company_id, filter, skip, limit).await?;
    let ids: Vec<Uuid> = rows.iter().map(|i| i.id).collect();
    let mut who = store::participants(&state.db, &ids).await?;
    rows.into_iter()
        .map(|i| {
            let people = who.remove(&i.id).unwrap_or_default();
            view(i, people)
        })
        .collect()
}

/// The interview with its interviewers.
pub async fn load(
    state: &AppState,
    company: CompanyId,
    id: Uuid,
) -> Result<(interview::Model, Vec<Uuid>), InterviewError> {
    let i = store::find(&state.db, company, id)
        .await?
        .ok_or_else(not_found)?;
    let people = store::participants(&state.db, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok((i, people))
}

pub async fn get(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
) -> Result<InterviewView, InterviewError> {
    let (i, people) = load(state, caller.company_id, id).await?;
    view(i, people)
}

pub async fn update(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
    change: InterviewChange,
) -> Result<InterviewView, InterviewError> {
    let company = caller.company_id;
    let (current, current_people) = load(state, company, id).await?;
    let status: InterviewStatus = stored(&current.status)?;
    if status != InterviewStatus::Scheduled {
        return Err(InterviewError::conflict(format!(
            "Only a scheduled interview can be changed; this one is {status}"
        )));
    }
    let moves = change.moves();
    let start = change.scheduled_at.unwrap_or(current.scheduled_at);
    let minutes = change
        .duration_minutes
        .unwrap_or_else(|| u32::try_from(current.duration_minutes).unwrap_or(0));
    let end = ends_at(start, minutes);
    let people_ids = change
        .interviewer_ids
        .clone()
        .unwrap_or_else(|| current_people.clone());
    if let Some(ids) = &change.interviewer_ids {
        interviewers(state, company, ids).await?;
    }

    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let rebooks = change.interviewer_ids.is_some()
        || change.scheduled_at.is_some()
        || change.duration_minutes.is_some();
    if rebooks
        && let Some((user, other)) =
            first_clash(&*txn, company, &people_ids, start, end, Some(id)).await?
    {
        drop(txn);
        return Err(clash(state, company, user, &other).await);
    }
    // Only the changed columns; the status and the sequence are decided in the statement.
    let mut model = interview::ActiveModel::default();
    if let Some(v) = change.title {
        model.title = Set(v);
    }
    if let Some(v) = change.kind {
        model.kind = Set(v.as_str().to_owned());
    }
    if let Some(v) = change.location {
        model.location = Set(v);
    }
    if let Some(v) = change.meeting_url {
        model.meeting_url = Set(v);
    }
    model.scheduled_at = Set(start);
    model.ends_at = Set(end);
    model.duration_minutes = Set(i32::try_from(minutes).unwrap_or(i32::MAX));
    model.updated_at = Set(OffsetDateTime::now_utc());
    let Some(saved) = store::update_scheduled(&*txn, company, id, model, moves).await? else {
        drop(txn);
        return Err(InterviewError::conflict(
            "Only a scheduled interview can be changed; this one was just started, \
             completed or cancelled",
        ));
    };
    if let Some(ids) = &change.interviewer_ids {
        store::replace_participants(&*txn, company, id, ids).await?;
    }
    let notice = moves.then_some("moved");
    announce(
        &mut txn,
        caller,
        &saved,
        &people_ids,
        "INTERVIEW_UPDATED",
        notice,
    )
    .await?;
    txn.commit().await?;
    view(saved, people_ids)
}

/// A lifecycle action. The status is compared and set in one statement, so of two
/// concurrent actions on one interview only one can win.
pub async fn act(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
    action: Action,
) -> Result<InterviewView, InterviewError> {
    let company = caller.company_id;
    let (current, people) = load(state, company, id).await?;
    let from: InterviewStatus = stored(&current.status)?;
    let to = from.apply(action).map_err(InterviewError::conflict)?;
    let mut update = interview::Entity::update_many()
        .col_expr(interview::Column::Status, Expr::value(to.as_str()))
        .col_expr(
            interview::Column::UpdatedAt,
            Expr::value(OffsetDateTime::now_utc()),
        );
    if to == InterviewStatus::Cancelled {
        update = update.col_expr(
            interview::Column::Sequence,
            Expr::col(interview::Column::Sequence).add(1),
        );
    }
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let result = update
        .filter(interview::Column::Id.eq(id))
        .filter(interview::Column::CompanyId.eq(Uuid::from(company)))
        .filter(interview::Column::Status.eq(from.as_str()))
        .exec(&*txn)
        .await?;
    if result.rows_affected == 0 {
        drop(txn);
        let now: InterviewStatus = match store::find(&state.db, company, id).await? {
            Some(i) => stored(&i.status)?,
            None => return Err(not_found()),
        };
        return Err(InterviewError::conflict(format!(
            "Cannot {} an interview that is {now}",
            action.as_str()
        )));
    }
    let kind = format!("INTERVIEW_{}", to.as_str().to_ascii_uppercase());
    let notice = (to == InterviewStatus::Cancelled).then_some("cancelled");
    announce(&mut txn, caller, &current, &people, &kind, notice).await?;
    txn.commit().await?;
    let (saved, _) = load(state, company, id).await?;
    view(saved, people)
}

/// Records the event, and tells each interviewer when `notice` says what happened
/// (scheduled, moved or cancelled).
async fn announce(
    txn: &mut UnitOfWork,
    caller: &Principal,
    i: &interview::Model,
    interviewers: &[Uuid],
    kind: &str,
    notice: Option<&str>,
) -> Result<(), InterviewError> {
    let event = Event::new(SOURCE, kind)
        .company(caller.company_id)
        .actor(caller.user_id)
        .resource("interview", i.id)
        .details(serde_json::json!({
            "candidate_id": i.candidate_id,
            "interviewer_ids": interviewers,
            "scheduled_at": i.scheduled_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "duration_minutes": i.duration_minutes,
        }));
    txn.record(&event).await?;
    let Some(what) = notice else { return Ok(()) };
    let when = hhmm(i.scheduled_at);
    for user in interviewers {
        let n = Notification::new(
            caller.company_id,
            *user,
            &format!("INTERVIEW_{}", what.to_ascii_uppercase()),
            format!("Interview {what}: {}", i.title),
            format!(
                "'{}' is {what}; it is set for {when} UTC ({} minutes).",
                i.title, i.duration_minutes
            ),
        )
        .resource("interview", i.id)
        .concerning(i.id, i.candidate_id);
        txn.notify(&n).await?;
    }
    Ok(())
}

/// The interview as an iCalendar file, with the interviewers as attendees.
pub async fn calendar(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
) -> Result<String, InterviewError> {
    let company = caller.company_id;
    let (i, people) = load(state, company, id).await?;
    // A deleted candidate still has a name in the calendars that already hold the event.
    let candidate = candidate::Entity::find_by_id(i.candidate_id)
        .filter(candidate::Column::CompanyId.eq(Uuid::from(company)))
        .one(&state.db)
        .await?;
    let mut ids: Vec<UserId> = people.iter().copied().map(UserId::from).collect();
    ids.push(UserId::from(i.created_by));
    let users: HashMap<UserId, UserRef> = state
        .auth
        .lookup_users(company, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let person = |id: &Uuid| {
        users.get(&UserId::from(*id)).map(|u| Person {
            name: u.full_name.clone(),
            email: u.email.clone(),
        })
    };
    let kind: InterviewKind = stored(&i.kind)?;
    let status: InterviewStatus = stored(&i.status)?;
    let description = match &candidate {
        Some(c) => format!(
            "{} interview with {}{}",
            kind,
            c.full_name,
            c.position
                .as_deref()
                .map(|p| format!(" for {p}"))
                .unwrap_or_default()
        ),
        None => format!("{kind} interview"),
    };
    Ok(calendar::to_ics(&calendar::Event {
        id: i.id,
        title: &i.title,
        description: &description,
        start: i.scheduled_at,
        end: i.ends_at,
        location: i.location.as_deref(),
        url: i.meeting_url.as_deref(),
        cancelled: status == InterviewStatus::Cancelled,
        sequence: i.sequence,
        stamp: i.updated_at,
        organizer: person(&i.created_by),
        attendees: people.iter().filter_map(person).collect(),
    }))
}
