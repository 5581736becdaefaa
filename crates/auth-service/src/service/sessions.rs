//! The sessions a user can see and end (TRD roadmap phase 4): where they are signed in,
//! from which device, and ending one or all but the current one.

use super::{AppState, AuthEvent};
use crate::domain::device;
use crate::entities::session;
use crate::error::AuthError;
use crate::store::sessions;
use auth_types::{CompanyId, Principal, SessionId, UserId};
use events::revocation::Revocation;
use events::{Event, UnitOfWork};
use serde::Serialize;
use serde_json::json;
use service_runtime::error::Failures;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// One live session as its user sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: SessionId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    /// The client address the session was signed in from.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The browser and operating system, read from the user agent ("Firefox on Linux").
    pub device: String,
    /// Whether this is the session of the token making the request.
    pub current: bool,
}

fn view(s: session::Model, current: SessionId) -> SessionView {
    SessionView {
        device: device::describe(s.user_agent.as_deref()),
        current: s.id == current,
        id: s.id,
        created_at: s.created_at,
        last_used_at: s.last_used_at,
        ip: s.ip_address,
        user_agent: s.user_agent,
    }
}

/// Why a session ended, as `SESSION_ENDED` records it.
#[derive(Debug, Clone, Copy)]
pub enum EndedBy {
    /// Its user ended it.
    User,
    /// An admin (user management) ended it.
    Admin,
    /// A new sign-in went past `MAX_SESSIONS_PER_USER`; the least recently used ended.
    Limit,
    /// Its user changed their password (every other session ends).
    PasswordChange,
    /// The password was reset from a mailed link (every session ends).
    PasswordReset,
    /// An admin erased the user's personal data (every session ends).
    Erasure,
}

impl EndedBy {
    fn reason(self) -> &'static str {
        match self {
            EndedBy::User => "user",
            EndedBy::Admin => "admin",
            EndedBy::Limit => "limit",
            EndedBy::PasswordChange => "password_change",
            EndedBy::PasswordReset => "password_reset",
            EndedBy::Erasure => "erasure",
        }
    }
}

/// Who ends sessions, and whose they are.
pub(crate) struct Ending {
    pub company: CompanyId,
    pub actor: UserId,
    pub owner: UserId,
    pub by: EndedBy,
}

/// The caller's live sessions, newest first.
pub async fn mine(state: &AppState, principal: &Principal) -> Result<Vec<SessionView>, AuthError> {
    Ok(
        sessions::live_of_user(&state.db, principal.company_id, principal.user_id)
            .await?
            .into_iter()
            .map(|s| view(s, principal.session_id))
            .collect(),
    )
}

fn own(principal: &Principal) -> Ending {
    Ending {
        company: principal.company_id,
        actor: principal.user_id,
        owner: principal.user_id,
        by: EndedBy::User,
    }
}

/// Ends one of the caller's live sessions (the current one too: that is a sign-out).
/// Another user's session, or one already ended, is 404.
pub async fn end_mine(
    state: &AppState,
    principal: &Principal,
    id: SessionId,
) -> Result<(), AuthError> {
    let live = sessions::live_of_user(&state.db, principal.company_id, principal.user_id).await?;
    if !live.iter().any(|s| s.id == id) {
        return Err(AuthError::not_found("Session"));
    }
    end(state, own(principal), vec![id]).await
}

/// Ends every live session of the caller but the current one.
pub async fn end_my_others(state: &AppState, principal: &Principal) -> Result<(), AuthError> {
    let others = sessions::live_of_user(&state.db, principal.company_id, principal.user_id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .filter(|id| *id != principal.session_id)
        .collect();
    end(state, own(principal), others).await
}

/// An admin's view of a user of their company: their live sessions, newest first
/// (`current` marks the admin's own session, when the user is the admin).
pub async fn of_user(
    state: &AppState,
    principal: &Principal,
    user: UserId,
) -> Result<Vec<SessionView>, AuthError> {
    super::users::may_manage(state, principal, user).await?;
    Ok(
        sessions::live_of_user(&state.db, principal.company_id, user)
            .await?
            .into_iter()
            .map(|s| view(s, principal.session_id))
            .collect(),
    )
}

/// An admin ends every live session of a user of their company.
pub async fn end_all_of_user(
    state: &AppState,
    principal: &Principal,
    user: UserId,
) -> Result<(), AuthError> {
    super::users::may_manage(state, principal, user).await?;
    let ids = sessions::live_of_user(&state.db, principal.company_id, user)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let ending = Ending {
        company: principal.company_id,
        actor: principal.user_id,
        owner: user,
        by: EndedBy::Admin,
    };
    end(state, ending, ids).await
}

/// After a sign-in: past `MAX_SESSIONS_PER_USER` live sessions, the least recently used
/// end (never the one just signed in). A failure here is logged: the sign-in stands.
pub async fn enforce_limit(
    state: &AppState,
    company: CompanyId,
    user: UserId,
    signed_in: SessionId,
) {
    let Some(max) = state.max_sessions_per_user else {
        return;
    };
    let result = async {
        let mut live = sessions::live_of_user(&state.db, company, user).await?;
        let Some(excess) = live.len().checked_sub(max).filter(|n| *n > 0) else {
            return Ok(());
        };
        live.retain(|s| s.id != signed_in);
        live.sort_by_key(|s| (s.last_used_at, s.created_at));
        let oldest = live.into_iter().take(excess).map(|s| s.id).collect();
        let ending = Ending {
            company,
            actor: user,
            owner: user,
            by: EndedBy::Limit,
        };
        end(state, ending, oldest).await
    };
    if let Err(e) = result.await {
        tracing::warn!(error = %e, "could not end the sessions past MAX_SESSIONS_PER_USER");
    }
}

/// Ends `ids`, sessions of `ending.owner`: revoked in the token store first (if it is
/// down nothing changes and the answer is 503), then on the record with one
/// `SESSION_ENDED` each, then announced, so their access tokens stop working on every
/// service at once.
async fn end(state: &AppState, ending: Ending, ids: Vec<SessionId>) -> Result<(), AuthError> {
    if ids.is_empty() {
        return Ok(());
    }
    revoke_families(state, &ids).await?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    record_ended(&mut txn, &ending, &ids).await?;
    txn.commit().await?;
    announce_ended(state, &ending, ids).await;
    Ok(())
}

/// The first step of ending sessions: their families revoked in the token store.
pub(crate) async fn revoke_families(state: &AppState, ids: &[SessionId]) -> Result<(), AuthError> {
    for id in ids {
        state
            .tokens
            .revoke_family(*id, state.issuer.refresh_ttl())
            .await?;
    }
    Ok(())
}

/// The second: revoked on the record, one `SESSION_ENDED` each, in `txn` (which may
/// carry the change that ends them, a password change say).
pub(crate) async fn record_ended(
    txn: &mut UnitOfWork,
    ending: &Ending,
    ids: &[SessionId],
) -> Result<(), AuthError> {
    let reason = ending.by.reason();
    let mut events = Vec::with_capacity(ids.len());
    for id in ids {
        sessions::revoke(&**txn, *id, reason).await?;
        events.push(events::outbox::with_trace(
            Event::new(AuthEvent::SessionEnded)
                .company(ending.company)
                .actor(ending.actor)
                .resource("session", *id)
                .details(json!({"reason": reason, "user_id": ending.owner})),
        ));
    }
    txn.record_many(&events).await?;
    Ok(())
}

/// The last, once committed: announced on the revocation feed.
pub(crate) async fn announce_ended(state: &AppState, ending: &Ending, ids: Vec<SessionId>) {
    let n = u64::try_from(ids.len()).unwrap_or(u64::MAX);
    for id in ids {
        super::announce(state, Revocation::Session(id.into())).await;
    }
    metrics::counter!("auth_sessions_ended_total", "reason" => ending.by.reason()).increment(n);
}
