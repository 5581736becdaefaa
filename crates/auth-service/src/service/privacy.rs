//! A person's rights over their data (issue 14, the security document's GDPR section):
//! access — everything the platform holds about a user, gathered from every service into
//! one document — and erasure — their personal data removed or replaced here at once and
//! in every other service through the outbox (`USER_ERASED`), so a service that is down
//! erases when it is back.

use super::sessions::{EndedBy, Ending};
use super::{AppState, AuthEvent};
use crate::entities::{password_reset, session};
use crate::error::AuthError;
use crate::store::{mfa, privacy, sessions, users};
use auth_types::{Page, PagePermissions, Principal, Role, SessionId, UserId};
use events::revocation::Revocation;
use events::{Event, UnitOfWork};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::json;
use service_runtime::error::Failures;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Whom an export is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subject {
    /// `user` or `candidate`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Uuid,
}

/// A session as the record keeps it, ended ones too.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionRecord {
    pub id: SessionId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_reason: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl From<session::Model> for SessionRecord {
    fn from(s: session::Model) -> Self {
        Self {
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            revoked_reason: s.revoked_reason,
            ip_address: s.ip_address,
            user_agent: s.user_agent,
        }
    }
}

/// A password-reset request (the token itself is never kept).
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRecord {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
    pub ip_address: Option<String>,
}

impl From<password_reset::Model> for ResetRecord {
    fn from(r: password_reset::Model) -> Self {
        Self {
            id: r.id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            ip_address: r.ip_address,
        }
    }
}

/// The user's password, as facts (never a hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordFacts {
    #[serde(with = "time::serde::rfc3339::option")]
    pub changed_at: Option<OffsetDateTime>,
    pub change_required: bool,
    /// Earlier passwords kept (as hashes) so they are not reused.
    pub history_entries: u64,
}

/// The user's second factor, as facts (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaFacts {
    pub enabled: bool,
    pub recovery_codes_left: u64,
}

/// What the auth service holds about a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthPart {
    pub profile: super::users::UserView,
    /// When their personal data was erased (`null`: never).
    #[serde(with = "time::serde::rfc3339::option")]
    pub erased_at: Option<OffsetDateTime>,
    pub password: PasswordFacts,
    pub mfa: MfaFacts,
    /// The effective page map.
    pub permissions: PagePermissions,
    /// Pages granted (`true`) or denied (`false`) to them beyond their role's defaults.
    pub permission_overrides: BTreeMap<String, bool>,
    pub sessions: Vec<SessionRecord>,
    pub password_resets: Vec<ResetRecord>,
}

/// `GET /users/{id}/export`: one document with everything the platform holds about a
/// user; each other service's part under its name.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserExport {
    pub subject: Subject,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    pub auth: AuthPart,
    /// Interviews they take part in or organised, candidates they added.
    #[schema(value_type = Object)]
    pub interview: serde_json::Value,
    /// Scorecards they wrote, rubrics they made.
    #[schema(value_type = Object)]
    pub scoring: serde_json::Value,
    /// Their notifications and the audit entries about them.
    #[schema(value_type = Object)]
    pub audit: serde_json::Value,
}

/// The answer to an erasure.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    pub id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub erased_at: OffsetDateTime,
}

/// Who may see a user's export: user management (read), and only admins see an admin's.
async fn exportable(
    state: &AppState,
    principal: &Principal,
    id: UserId,
) -> Result<crate::entities::user::Model, AuthError> {
    principal.require_page(Page::UserManagement)?;
    let user = super::users::load(state, principal.company_id, id).await?;
    if user.role == Role::Admin && principal.role != Role::Admin && id != principal.user_id {
        return Err(AuthError::forbidden(
            "Only admins can export an admin's data",
        ));
    }
    Ok(user)
}

/// `GET /users/{id}/export`: the auth service's part, and the others' asked for with the
/// caller's own token (`bearer`), so each is authorized and scoped where it is held.
pub async fn export_user(
    state: &AppState,
    principal: &Principal,
    bearer: &str,
    id: UserId,
) -> Result<UserExport, AuthError> {
    let user = exportable(state, principal, id).await?;
    let overrides = users::overrides(&state.db, id).await?;
    let auth = AuthPart {
        erased_at: user.erased_at,
        password: PasswordFacts {
            changed_at: user.password_changed_at,
            change_required: user.password_change_required,
            history_entries: privacy::history_len(&state.db, id).await?,
        },
        mfa: MfaFacts {
            enabled: user.mfa_enabled,
            recovery_codes_left: mfa::recovery_codes_left(&state.db, id).await?,
        },
        permissions: PagePermissions::effective(user.role, overrides.clone()),
        permission_overrides: overrides
            .into_iter()
            .map(|(page, access)| (page.to_string(), access))
            .collect(),
        sessions: privacy::sessions(&state.db, id)
            .await?
            .into_iter()
            .map(SessionRecord::from)
            .collect(),
        password_resets: privacy::resets(&state.db, id)
            .await?
            .into_iter()
            .map(ResetRecord::from)
            .collect(),
        profile: user.into(),
    };
    let mut parts = state
        .export
        .gather(|_| format!("/api/v1/export/users/{id}"), bearer)
        .await?;
    let mut take = |name: &str| parts.remove(name).unwrap_or(serde_json::Value::Null);
    Ok(UserExport {
        subject: Subject {
            kind: "user",
            id: id.into(),
        },
        exported_at: OffsetDateTime::now_utc(),
        auth,
        interview: take("interview"),
        scoring: take("scoring"),
        audit: take("audit"),
    })
}

/// A password nobody knows, for an erased account.
fn unknown_password() -> SecretString {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// `POST /users/{id}/erase` (admins): the user's personal data replaced here (name,
/// email, department; no password, factor, overrides, history or resets; sessions ended
/// and their addresses blanked), `USER_ERASED` on the outbox for the other services and
/// the audit log, which drop their copies. Erasing an erased user answers as the first
/// time did.
pub async fn erase_user(
    state: &AppState,
    principal: &Principal,
    id: UserId,
) -> Result<Erased, AuthError> {
    if principal.role != Role::Admin {
        return Err(AuthError::forbidden("Only admins can erase personal data"));
    }
    if id == principal.user_id {
        return Err(AuthError::conflict("You cannot erase your own account"));
    }
    let user = super::users::load(state, principal.company_id, id).await?;
    if let Some(erased_at) = user.erased_at {
        return Ok(Erased { id, erased_at });
    }
    let unknown = state.passwords.hash(unknown_password()).await?;
    let live: Vec<SessionId> = sessions::live_of_user(&state.db, principal.company_id, id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let ending = Ending {
        company: principal.company_id,
        actor: principal.user_id,
        owner: id,
        by: EndedBy::Erasure,
    };
    super::sessions::revoke_families(state, &live).await?;
    // In whole microseconds, as the database keeps it: a repeated erasure answers the same.
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now);
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if user.role == Role::Admin && user.is_active {
        users::lock_company_admins(&*txn, principal.company_id).await?;
        super::users::ensure_another_managing_admin(&*txn, principal.company_id, id).await?;
    }
    privacy::erase(&*txn, &user, unknown, now).await?;
    super::sessions::record_ended(&mut txn, &ending, &live).await?;
    txn.record(
        &Event::new(AuthEvent::UserErased)
            .company(principal.company_id)
            .actor(principal.user_id)
            .resource("user", id)
            .details(json!({
                // What the other services look for in free text; the audit-writer keeps
                // it only until it has erased with it.
                "erase_terms": [user.full_name, user.email],
                "sessions_ended": live.len(),
            })),
    )
    .await?;
    txn.commit().await?;
    super::sessions::announce_ended(state, &ending, live).await;
    super::announce(state, Revocation::User(id.into())).await;
    state.tokens.lockout_clear(&user.email).await?;
    metrics::counter!("auth_erasures_total").increment(1);
    Ok(Erased { id, erased_at: now })
}
