//! User management within the caller's company (page `user_management`).

use super::{AppState, AuthEvent};
use crate::domain::user::{NewUser, UserChange};
use crate::entities::user;
use crate::error::AuthError;
use crate::store::{is_unique_violation, sessions, users};
use auth_types::{CompanyId, Page, PagePermissions, Principal, Role, UserId};
use events::revocation::Revocation;
use events::{Event, UnitOfWork};
use sea_orm::{IntoActiveModel, Set};
use serde::Serialize;
use serde_json::json;
use service_runtime::error::Failures;
use service_runtime::http::Limited;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A user as clients see it (ARCHITECTURE "Resource shapes").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub company_id: CompanyId,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub department: Option<String>,
    pub is_active: bool,
    /// Whether the user signs in with a TOTP second factor.
    pub mfa_enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        Self {
            role: u.role,
            id: u.id,
            company_id: u.company_id,
            email: u.email,
            full_name: u.full_name,
            department: u.department,
            is_active: u.is_active,
            mfa_enabled: u.mfa_enabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

const EMAIL_TAKEN: &str = "A user with this email already exists";

fn manage(principal: &Principal) -> Result<(), AuthError> {
    Ok(principal.require_write(Page::UserManagement)?)
}

/// Only an admin may create, promote to, or change an admin account, so a page override
/// on user management cannot become a path to full control.
fn guard_admin(principal: &Principal, involves_admin: bool) -> Result<(), AuthError> {
    if involves_admin && principal.role != Role::Admin {
        return Err(AuthError::forbidden(
            "Only admins can manage admin accounts",
        ));
    }
    Ok(())
}

pub(crate) async fn load(
    state: &AppState,
    company: CompanyId,
    id: UserId,
) -> Result<user::Model, AuthError> {
    users::find_in_company(&state.db, company, id)
        .await?
        .ok_or(AuthError::not_found("User"))
}

/// The caller's own record.
pub async fn me(state: &AppState, principal: &Principal) -> Result<UserView, AuthError> {
    record(state, principal.company_id, principal.user_id)
        .await?
        .ok_or(AuthError::not_found("User"))
}

/// A user's record: from [`UserRecords`] when it is there, else from the database (and
/// kept there).
pub(crate) async fn record(
    state: &AppState,
    company: CompanyId,
    id: UserId,
) -> Result<Option<UserView>, AuthError> {
    if let Some(view) = state.user_records.get(id).await {
        return Ok((view.company_id == company).then_some(view));
    }
    let generation = state.user_records.generation();
    let Some(found) = users::find_in_company(&state.db, company, id).await? else {
        return Ok(None);
    };
    let view = UserView::from(found);
    state.user_records.keep(generation, view.clone()).await;
    Ok(Some(view))
}

/// The records `GET /users/me` answers with, kept for `INTROSPECTION_CACHE_MS` on the
/// same terms as the principals (`auth_types::PrincipalCache`): a change of the user
/// announced on the revocation feed drops theirs at once, nothing is kept while the feed
/// is lost, everything goes when it (re)connects, and a record read across an
/// announcement is not kept.
pub struct UserRecords {
    cache: moka::future::Cache<UserId, UserView>,
    gate: auth_types::client::FeedGate,
}

impl UserRecords {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            cache: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl.max(std::time::Duration::from_millis(1)))
                .support_invalidation_closures()
                .build(),
            gate: auth_types::client::FeedGate::default(),
        }
    }

    fn generation(&self) -> u64 {
        self.gate.generation()
    }

    async fn get(&self, id: UserId) -> Option<UserView> {
        if self.gate.is_live() {
            self.cache.get(&id).await
        } else {
            None
        }
    }

    /// Keeps `view` unless an announcement came since `generation` was read.
    async fn keep(&self, generation: u64, view: UserView) {
        if self.gate.may_keep(generation) {
            self.cache.insert(view.id, view).await;
        }
    }

    /// Applies what the revocation feed heard.
    pub fn on_feed(&self, event: events::revocation::FeedEvent) {
        self.gate.apply(
            event,
            || self.cache.invalidate_all(),
            |revocation| {
                if let Revocation::User(id) = revocation {
                    let user = UserId::from(id);
                    if self
                        .cache
                        .invalidate_entries_if(move |k, _| *k == user)
                        .is_err()
                    {
                        self.cache.invalidate_all();
                    }
                }
            },
        );
    }
}

pub async fn list(
    state: &AppState,
    principal: &Principal,
    skip: u64,
    limit: u64,
) -> Result<Vec<UserView>, AuthError> {
    principal.require_page(Page::UserManagement)?;
    Ok(users::list(&state.db, principal.company_id, skip, limit)
        .await?
        .into_iter()
        .map(UserView::from)
        .collect())
}

pub async fn get(
    state: &AppState,
    principal: &Principal,
    id: UserId,
) -> Result<UserView, AuthError> {
    principal.require_page(Page::UserManagement)?;
    Ok(load(state, principal.company_id, id).await?.into())
}

pub async fn create(
    state: &AppState,
    principal: &Principal,
    new: NewUser,
) -> Result<Limited<UserView>, AuthError> {
    manage(principal)?;
    guard_admin(principal, new.role == Role::Admin)?;
    // Security document: user creation 10 an hour, per company (shared by every replica).
    let quota = super::check_limits(
        state,
        "users created for your company",
        vec![super::Limit {
            key: format!("user-create:{}", principal.company_id),
            per_window: state.user_creation_rate_limit,
            window: std::time::Duration::from_secs(3600),
        }],
    )
    .await?;
    let hash = state.passwords.hash(new.password).await?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let created = users::insert(
        &*txn,
        users::InsertUser {
            company: principal.company_id,
            email: &new.email,
            password_hash: hash,
            full_name: &new.full_name,
            department: new.department.as_deref(),
            role: new.role,
            password_change_required: false,
        },
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AuthError::conflict(EMAIL_TAKEN)
        } else {
            e.into()
        }
    })?;
    let event = Event::new(AuthEvent::UserCreated)
        .company(principal.company_id)
        .actor(principal.user_id)
        .resource("user", created.id)
        .details(json!({"email": created.email, "role": created.role}));
    txn.record(&event).await?;
    txn.commit().await?;
    Ok(Limited {
        value: created.into(),
        quota,
    })
}

pub async fn update(
    state: &AppState,
    principal: &Principal,
    id: UserId,
    change: UserChange,
) -> Result<UserView, AuthError> {
    manage(principal)?;
    let before = load(state, principal.company_id, id).await?;
    guard_admin(
        principal,
        before.role == Role::Admin || change.role == Some(Role::Admin),
    )?;
    if change.is_active == Some(false) && before.is_active && id == principal.user_id {
        return Err(AuthError::conflict(
            "You cannot deactivate your own account",
        ));
    }
    let password_hash = match change.password {
        Some(p) => {
            super::passwords::check_new(state, &before, &p, "password").await?;
            Some(state.passwords.hash(p).await?)
        }
        None => None,
    };

    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    // Decide on the row as it is now, under the company's admin lock, not as it was read
    // before hashing: a concurrent change may have demoted or deactivated someone.
    users::lock_company_admins(&*txn, principal.company_id).await?;
    let current = users::find_in_company(&*txn, principal.company_id, id)
        .await?
        .ok_or(AuthError::not_found("User"))?;
    let was_admin = current.role == Role::Admin;
    guard_admin(principal, was_admin || change.role == Some(Role::Admin))?;
    let deactivating = change.is_active == Some(false) && current.is_active;
    let demoting = was_admin && change.role.is_some_and(|r| r != Role::Admin);
    if (deactivating || demoting) && current.is_active {
        ensure_another_managing_admin(&*txn, principal.company_id, id).await?;
    }
    let changed = json!({
        "email": change.email.as_ref().map(|e| e.as_str()),
        "full_name": change.full_name,
        "department": change.department,
        "role": change.role,
        "is_active": change.is_active,
        "password_changed": password_hash.is_some(),
    });
    let mut model = current.into_active_model();
    if let Some(email) = change.email {
        model.email = Set(email.as_str().to_owned());
    }
    if let Some(name) = change.full_name {
        model.full_name = Set(name);
    }
    if let Some(department) = change.department {
        model.department = Set(department);
    }
    if let Some(role) = change.role {
        model.role = Set(role);
    }
    if let Some(active) = change.is_active {
        model.is_active = Set(active);
    }
    model.updated_at = Set(OffsetDateTime::now_utc());
    let mut updated = users::update(&*txn, model).await.map_err(|e| {
        if is_unique_violation(&e) {
            AuthError::conflict(EMAIL_TAKEN)
        } else {
            e.into()
        }
    })?;
    if let Some(hash) = password_hash.clone() {
        // The user must choose their own at the next sign-in.
        super::passwords::set_by_admin(&*txn, state, id, hash.clone()).await?;
        updated.password_hash = hash;
        updated.password_change_required = true;
    }
    // A deactivated user, or one whose password was reset, is signed out everywhere.
    let revoked = if deactivating || password_hash.is_some() {
        let reason = if deactivating {
            "user_deactivated"
        } else {
            "password_changed"
        };
        sessions::revoke_all_of_user(&*txn, id, reason).await?
    } else {
        Vec::new()
    };
    let kind = if deactivating {
        AuthEvent::UserDeactivated
    } else {
        AuthEvent::UserUpdated
    };
    let event = Event::new(kind)
        .company(principal.company_id)
        .actor(principal.user_id)
        .resource("user", id)
        .details(without_nulls(changed));
    txn.record(&event).await?;
    // The token store first: should it fail, nothing is committed (503, the change can be
    // retried) rather than a password changed with the old sessions still alive in it.
    for family in revoked {
        state
            .tokens
            .revoke_family(family, state.issuer.refresh_ttl())
            .await?;
    }
    txn.commit().await?;
    // Every token of the user now answers for the new state: caches drop the old one.
    super::announce(state, Revocation::User(id.into())).await;
    // A password an admin set is a fresh start: any lock ends with it.
    if password_hash.is_some() {
        state.tokens.lockout_clear(&updated.email).await?;
    }
    Ok(updated.into())
}

/// Ends the account's lock at once and forgets its failed sign-ins (user management).
/// Whether `principal` may manage user `id` (their sessions): user management, the
/// user in their company (else 404), and only admins manage another admin.
pub(crate) async fn may_manage(
    state: &AppState,
    principal: &Principal,
    id: UserId,
) -> Result<(), AuthError> {
    manage(principal)?;
    let user = load(state, principal.company_id, id).await?;
    guard_admin(
        principal,
        user.role == Role::Admin && id != principal.user_id,
    )
}

pub async fn unlock(state: &AppState, principal: &Principal, id: UserId) -> Result<(), AuthError> {
    manage(principal)?;
    let user = load(state, principal.company_id, id).await?;
    state.tokens.lockout_clear(&user.email).await?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    txn.record(
        &Event::new(AuthEvent::AccountUnlocked)
            .company(principal.company_id)
            .actor(principal.user_id)
            .resource("user", id)
            .details(json!({"email": user.email})),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn deactivate(
    state: &AppState,
    principal: &Principal,
    id: UserId,
) -> Result<(), AuthError> {
    let change = UserChange {
        is_active: Some(false),
        ..UserChange::default()
    };
    update(state, principal, id, change).await.map(|_| ())
}

pub async fn permissions(
    state: &AppState,
    principal: &Principal,
    id: UserId,
) -> Result<PagePermissions, AuthError> {
    let user = load(state, principal.company_id, id).await?;
    Ok(PagePermissions::effective(
        user.role,
        users::overrides(&state.db, id).await?,
    ))
}

/// Applies overrides (`Some`: grant or deny; `None`: back to the role's default) in one
/// transaction and answers with the effective map.
pub async fn set_permissions(
    state: &AppState,
    principal: &Principal,
    id: UserId,
    changes: BTreeMap<Page, Option<bool>>,
) -> Result<PagePermissions, AuthError> {
    manage(principal)?;
    let target = load(state, principal.company_id, id).await?;
    guard_admin(principal, target.role == Role::Admin)?;
    if id == principal.user_id && changes.get(&Page::UserManagement) == Some(&Some(false)) {
        return Err(AuthError::conflict(
            "You cannot remove your own access to user management",
        ));
    }
    let details: serde_json::Map<String, serde_json::Value> = changes
        .iter()
        .map(|(page, access)| (page.to_string(), json!(access)))
        .collect();
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if target.role == Role::Admin
        && target.is_active
        && changes.get(&Page::UserManagement) == Some(&Some(false))
    {
        users::lock_company_admins(&*txn, principal.company_id).await?;
        ensure_another_managing_admin(&*txn, principal.company_id, id).await?;
    }
    for (page, access) in changes {
        users::set_override(&*txn, id, page, access).await?;
    }
    let event = Event::new(AuthEvent::PermissionChanged)
        .company(principal.company_id)
        .actor(principal.user_id)
        .resource("user", id)
        .details(json!({ "pages": details }));
    txn.record(&event).await?;
    txn.commit().await?;
    super::announce(state, Revocation::User(id.into())).await;
    permissions(state, principal, id).await
}

/// The page map from a request body: unknown pages are a validation error.
pub fn parse_permission_changes(
    raw: BTreeMap<String, Option<bool>>,
) -> Result<BTreeMap<Page, Option<bool>>, AuthError> {
    let mut errors = Vec::new();
    let mut changes = BTreeMap::new();
    for (name, access) in raw {
        match name.parse::<Page>() {
            Ok(page) => {
                changes.insert(page, access);
            }
            Err(e) => errors.push(service_runtime::http::FieldError::new(name, e.to_string())),
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(AuthError::validation(errors))
    }
}

/// Refuses a change that would leave the company without an active admin who can manage
/// users (`user` being the one about to lose it). Call with the company's admin lock held.
pub(crate) async fn ensure_another_managing_admin(
    txn: &impl sea_orm::ConnectionTrait,
    company: CompanyId,
    user: UserId,
) -> Result<(), AuthError> {
    if users::count_managing_admins(txn, company, user).await? == 0 {
        return Err(AuthError::conflict(
            "A company needs at least one active admin",
        ));
    }
    Ok(())
}

/// The fields a change touched, for the audit entry (never a password itself).
fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    let serde_json::Value::Object(map) = v else {
        return v;
    };
    map.into_iter()
        .filter(|(k, v)| !(v.is_null() || (k == "password_changed" && *v == json!(false))))
        .collect()
}
