//! Interviews (page `interviews`): scheduling without double-booking, the lifecycle,
//! and the calendar file.

use super::{AppState, InterviewEvent};
use crate::domain::calendar::{self, Person};
use crate::domain::interview::{
    Action, InterviewChange, InterviewKind, InterviewStatus, NewInterview, ends_at,
};
use crate::entities::interview;
use crate::error::InterviewError;
use crate::store::candidates;
use crate::store::interviews::{self as store, InterviewFilter, Slot};
use auth_types::{CandidateId, CompanyId, InterviewId, Principal, UserId, UserRef};
use events::{Event, Notification, UnitOfWork};
use serde::Serialize;
use service_runtime::error::Failures;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use time::macros::format_description;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewView {
    pub id: InterviewId,
    pub candidate_id: CandidateId,
    pub interviewer_ids: Vec<UserId>,
    pub title: String,
    pub kind: InterviewKind,
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_at: OffsetDateTime,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub meeting_url: Option<String>,
    pub status: InterviewStatus,
    pub created_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub(crate) fn view(i: interview::Model, interviewer_ids: Vec<UserId>) -> InterviewView {
    InterviewView {
        kind: i.kind,
        status: i.status,
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
    }
}

fn not_found() -> InterviewError {
    InterviewError::not_found("Interview")
}

/// The interviewers as auth knows them; every one must be an active user of the company.
async fn interviewers(
    state: &AppState,
    company: CompanyId,
    ids: &[UserId],
) -> Result<Vec<UserRef>, InterviewError> {
    let found = state.auth.lookup_users(company, ids).await?;
    let active: HashSet<UserId> = found.iter().filter(|u| u.is_active).map(|u| u.id).collect();
    let missing: Vec<String> = ids
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
    ids: &[UserId],
    start: OffsetDateTime,
    end: OffsetDateTime,
    exclude: Option<InterviewId>,
) -> Result<Option<(UserId, interview::Model)>, InterviewError> {
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
    user: UserId,
    other: &interview::Model,
) -> InterviewError {
    let name = match state.auth.lookup_users(company, &[user]).await {
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
        InterviewEvent::InterviewScheduled,
        Some(Notice::Scheduled),
    )
    .await?;
    txn.commit().await?;
    Ok(view(created, new.interviewer_ids))
}

pub async fn list(
    state: &AppState,
    caller: &Principal,
    filter: &InterviewFilter,
    skip: u64,
    limit: u64,
) -> Result<Vec<InterviewView>, InterviewError> {
    let rows = store::list(&state.db, caller.company_id, filter, skip, limit).await?;
    let ids: Vec<InterviewId> = rows.iter().map(|i| i.id).collect();
    let mut who = store::participants(&state.db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|i| {
            let people = who.remove(&i.id).unwrap_or_default();
            view(i, people)
        })
        .collect())
}

/// The interview with its interviewers.
pub async fn load(
    state: &AppState,
    company: CompanyId,
    id: InterviewId,
) -> Result<(interview::Model, Vec<UserId>), InterviewError> {
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
    id: InterviewId,
) -> Result<InterviewView, InterviewError> {
    let (i, people) = load(state, caller.company_id, id).await?;
    Ok(view(i, people))
}

pub async fn update(
    state: &AppState,
    caller: &Principal,
    id: InterviewId,
    change: InterviewChange,
) -> Result<InterviewView, InterviewError> {
    let company = caller.company_id;
    let (current, current_people) = load(state, company, id).await?;
    let status = current.status;
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
    let slot = Slot { start, minutes };
    let Some(saved) = store::update_scheduled(&*txn, company, id, &change, slot).await? else {
        drop(txn);
        return Err(InterviewError::conflict(
            "Only a scheduled interview can be changed; this one was just started, \
             completed or cancelled",
        ));
    };
    if let Some(ids) = &change.interviewer_ids {
        store::replace_participants(&*txn, company, id, ids).await?;
    }
    let notice = moves.then_some(Notice::Moved);
    announce(
        &mut txn,
        caller,
        &saved,
        &people_ids,
        InterviewEvent::InterviewUpdated,
        notice,
    )
    .await?;
    txn.commit().await?;
    Ok(view(saved, people_ids))
}

/// A lifecycle action. The status is compared and set in one statement, so of two
/// concurrent actions on one interview only one can win.
pub async fn act(
    state: &AppState,
    caller: &Principal,
    id: InterviewId,
    action: Action,
) -> Result<InterviewView, InterviewError> {
    let company = caller.company_id;
    let (current, people) = load(state, company, id).await?;
    let from = current.status;
    let to = from.apply(action).map_err(InterviewError::conflict)?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if !store::transition(&*txn, company, id, from, to).await? {
        drop(txn);
        let now = match store::find(&state.db, company, id).await? {
            Some(i) => i.status,
            None => return Err(not_found()),
        };
        return Err(InterviewError::conflict(format!(
            "Cannot {} an interview that is {now}",
            action.as_str()
        )));
    }
    let kind = match to {
        InterviewStatus::InProgress => InterviewEvent::InterviewInProgress,
        InterviewStatus::Completed => InterviewEvent::InterviewCompleted,
        InterviewStatus::Cancelled => InterviewEvent::InterviewCancelled,
        InterviewStatus::NoShow => InterviewEvent::InterviewNoShow,
        InterviewStatus::Scheduled => InterviewEvent::InterviewUpdated,
    };
    let notice = (to == InterviewStatus::Cancelled).then_some(Notice::Cancelled);
    announce(&mut txn, caller, &current, &people, kind, notice).await?;
    txn.commit().await?;
    let (saved, _) = load(state, company, id).await?;
    Ok(view(saved, people))
}

/// What the interviewers are told.
#[derive(Clone, Copy, Debug)]
enum Notice {
    Scheduled,
    Moved,
    Cancelled,
}

impl Notice {
    fn kind(self) -> InterviewEvent {
        match self {
            Notice::Scheduled => InterviewEvent::InterviewScheduled,
            Notice::Moved => InterviewEvent::InterviewMoved,
            Notice::Cancelled => InterviewEvent::InterviewCancelled,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Notice::Scheduled => "scheduled",
            Notice::Moved => "moved",
            Notice::Cancelled => "cancelled",
        }
    }
}

/// Records the event, and tells each interviewer when there is a `notice` for them.
async fn announce(
    txn: &mut UnitOfWork,
    caller: &Principal,
    i: &interview::Model,
    interviewers: &[UserId],
    kind: InterviewEvent,
    notice: Option<Notice>,
) -> Result<(), InterviewError> {
    let event = Event::new(kind)
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
    let Some(notice) = notice else { return Ok(()) };
    let what = notice.word();
    let when = hhmm(i.scheduled_at);
    for user in interviewers {
        let n = Notification::new(
            caller.company_id,
            *user,
            notice.kind(),
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
    id: InterviewId,
) -> Result<String, InterviewError> {
    let company = caller.company_id;
    let (i, people) = load(state, company, id).await?;
    // A deleted candidate still has a name in the calendars that already hold the event.
    let candidate = candidates::find_even_deleted(&state.db, company, i.candidate_id).await?;
    let mut ids = people.clone();
    ids.push(i.created_by);
    let users: HashMap<UserId, UserRef> = state
        .auth
        .lookup_users(company, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let person = |id: &UserId| {
        users.get(id).map(|u| Person {
            name: u.full_name.clone(),
            email: u.email.clone(),
        })
    };
    let kind: InterviewKind = i.kind;
    let status = i.status;
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
