//! A user's own password: changing it, the policy a new one meets (the rules, the
//! denylist, the history), and resetting a forgotten one by a mailed single-use link.

use super::auth::{Caller, ClientInfo};
use super::sessions::{EndedBy, Ending};
use super::{AppState, AuthEvent};
use crate::domain::Email;
use crate::domain::password::Verified;
use crate::entities::user;
use crate::error::AuthError;
use crate::store::tokens::{Attempt, LockoutGate};
use crate::store::{mail, passwords, sessions, users};
use auth_types::{SessionId, UserId};
use events::revocation::Revocation;
use events::{Event, UnitOfWork};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use service_runtime::error::Failures;
use service_runtime::http::Limited;
use sha2::{Digest, Sha256};
use std::time::Duration;
use time::OffsetDateTime;

/// The password rules beyond the composition rule.
#[derive(Debug, Clone, Copy)]
pub struct PasswordRules {
    /// Passwords a user may not reuse (`PASSWORD_HISTORY`).
    pub history: usize,
    /// `PASSWORD_MAX_AGE_DAYS`.
    pub max_age: Option<Duration>,
}

/// How password resets are offered.
#[derive(Debug, Clone)]
pub struct ResetSettings {
    /// `PASSWORD_RESET_URL`, `?token=` appended.
    pub url: String,
    /// Requests per client address an hour (0: no limit).
    pub per_ip_per_hour: u64,
}

/// Resets one account may be sent an hour (security document).
pub const RESETS_PER_ACCOUNT_PER_HOUR: u64 = 3;
/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(30 * 60);

/// Checks `new` as `user`'s next password: the rules (length, composition, not common,
/// not their email or name; a 422 on `field` naming the rule), and not one of their last
/// `PASSWORD_HISTORY` passwords (the current one included; at 0, still not the current).
pub(crate) async fn check_new(
    state: &AppState,
    user: &user::Model,
    new: &SecretString,
    field: &str,
) -> Result<(), AuthError> {
    crate::domain::password_policy::check(
        new.expose_secret(),
        Some(&user.email),
        Some(&user.full_name),
    )
    .map_err(|v| AuthError::invalid(field, v.message()))?;
    let history = state.password_policy.history;
    let mut hashes = vec![user.password_hash.clone()];
    // The last `history` passwords: the current one and those before it.
    if history > 1 {
        hashes.extend(passwords::recent(&state.db, user.id, history - 1).await?);
    }
    hashes.dedup();
    for hash in hashes {
        if let Verified::Yes { .. } = state.passwords.verify(new.clone(), Some(hash)).await? {
            let rule = if history <= 1 {
                "must differ from the current password".to_owned()
            } else {
                format!("must not be one of your last {history} passwords")
            };
            return Err(AuthError::invalid(field, rule));
        }
    }
    Ok(())
}

/// How a check run under the account's lockout went ([`under_lockout`]).
pub(crate) enum Gated<T> {
    /// Checked: its result, already counted.
    Checked(T),
    /// Refused unchecked: locked for this long yet (or, `None`, the checks in flight
    /// fill the threshold).
    Locked(Option<Duration>),
}

/// Runs `check` as one attempt at `user`'s account, under its lockout: reserved before
/// (a locked account, or one whose checks in flight fill the threshold, is refused
/// without running it) and settled after by what `attempt` makes of the result; the
/// failure that reaches the threshold locks the account (audited, admins told).
pub(crate) async fn under_lockout<T>(
    state: &AppState,
    user: &user::Model,
    client: &ClientInfo,
    check: impl std::future::Future<Output = Result<T, AuthError>>,
    attempt: impl FnOnce(&Result<T, AuthError>) -> Attempt,
) -> Result<Gated<T>, AuthError> {
    let email = Email::parse(&user.email).map_err(|m| AuthError::invalid("email", m))?;
    let Some(lockout) = state.lockout else {
        return check.await.map(Gated::Checked);
    };
    match state
        .tokens
        .lockout_begin(email.as_str(), lockout.threshold)
        .await?
    {
        LockoutGate::Check => {}
        LockoutGate::Locked(left) => return Ok(Gated::Locked(Some(left))),
        LockoutGate::Full => return Ok(Gated::Locked(None)),
    }
    let result = check.await;
    let locked_now = state
        .tokens
        .lockout_settle(
            email.as_str(),
            attempt(&result),
            lockout.threshold,
            lockout.duration,
        )
        .await?;
    if locked_now {
        super::auth::account_locked(state, &email, client, Some(user), lockout).await?;
    }
    result.map(Gated::Checked)
}

/// Checks a password the user typed to prove it is them, counting toward lockout like a
/// sign-in: a lock refuses it unchecked (429 with the lock's time), a wrong one counts
/// and may lock the account (`wrong` is the answer then).
pub(crate) async fn prove(
    state: &AppState,
    user: &user::Model,
    password: SecretString,
    client: &ClientInfo,
    wrong: &'static str,
) -> Result<(), AuthError> {
    let verify = async {
        Ok(state
            .passwords
            .verify(password, Some(user.password_hash.clone()))
            .await?)
    };
    let counted = |r: &Result<Verified, AuthError>| match r {
        Ok(Verified::Yes { .. }) => Attempt::Succeeded,
        Ok(Verified::No) => Attempt::Failed,
        Err(_) => Attempt::Unchecked,
    };
    match under_lockout(state, user, client, verify, counted).await? {
        Gated::Checked(Verified::Yes { .. }) => Ok(()),
        Gated::Checked(Verified::No) => Err(AuthError::BadRequest(wrong.to_owned())),
        Gated::Locked(left) => Err(AuthError::RateLimited {
            what: "failed password attempts",
            seconds: left.map_or(5, |l| l.as_secs().max(1)),
            limit: state.lockout.map_or(0, |l| u64::from(l.threshold)),
        }),
    }
}

/// `POST /users/me/password`: the caller proves the current password and sets a new one;
/// every other session of theirs ends (a restricted token has none: all end).
pub async fn change(
    state: &AppState,
    caller: &Caller,
    current: SecretString,
    new: SecretString,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let user = users::find_in_company(&state.db, caller.company_id, caller.user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or(AuthError::InvalidToken)?;
    prove(
        state,
        &user,
        current,
        client,
        "Current password is incorrect",
    )
    .await?;
    check_new(state, &user, &new, "new_password").await?;
    if caller.kind == auth_types::TokenKind::PasswordChange {
        // The restricted token changes the password once.
        let left = caller.expires_at - OffsetDateTime::now_utc().unix_timestamp();
        let ttl = Duration::from_secs(u64::try_from(left).unwrap_or(0).max(1));
        let (uses, _) = state
            .tokens
            .hit(&format!("password-change-used:{}", caller.token_id), ttl)
            .await?;
        if uses > 1 {
            return Err(AuthError::InvalidToken);
        }
    }
    let hash = state.passwords.hash(new).await?;
    let others: Vec<SessionId> = sessions::live_of_user(&state.db, user.company_id, user.id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .filter(|id| Some(*id) != caller.session)
        .collect();
    let ending = Ending {
        company: user.company_id,
        actor: user.id,
        owner: user.id,
        by: EndedBy::PasswordChange,
    };
    super::sessions::revoke_families(state, &others).await?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    passwords::set(&*txn, user.id, hash, false, state.password_policy.history).await?;
    passwords::void_resets(&*txn, user.id).await?;
    super::sessions::record_ended(&mut txn, &ending, &others).await?;
    txn.record(
        &Event::new(AuthEvent::PasswordChanged)
            .company(user.company_id)
            .actor(user.id)
            .resource("user", user.id)
            .details(json!({
                "by": "user",
                "sessions_ended": others.len(),
                "was_required": caller.kind == auth_types::TokenKind::PasswordChange,
            })),
    )
    .await?;
    txn.commit().await?;
    super::sessions::announce_ended(state, &ending, others).await;
    super::announce(state, Revocation::User(user.id.into())).await;
    metrics::counter!("auth_password_changes_total", "by" => "user").increment(1);
    Ok(())
}

/// A reset token's digest, as stored.
fn digest(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_reset_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `POST /auth/password-reset`: the same answer whoever asks (202). A known, active
/// account under its hourly limit gets a mail with a single-use link; the request is
/// audited either way the account exists.
pub async fn request_reset(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<Limited<()>, AuthError> {
    let email = Email::parse(email).map_err(|m| AuthError::invalid("email", m))?;
    let limits = match client.ip_address.as_deref() {
        Some(ip) => vec![super::Limit {
            key: format!("reset-ip:{ip}"),
            per_window: state.reset.per_ip_per_hour,
            window: Duration::from_secs(3600),
        }],
        None => Vec::new(),
    };
    let quota = super::check_limits(state, "password reset requests", limits).await?;
    let Some(user) = users::find_by_email(&state.db, &email)
        .await?
        .filter(|u| u.is_active)
    else {
        metrics::counter!("auth_password_resets_total", "outcome" => "no_account").increment(1);
        return Ok(Limited { value: (), quota });
    };
    let (sent, _) = state
        .tokens
        .hit(
            &format!("reset-account:{}", user.id),
            Duration::from_secs(3600),
        )
        .await?;
    if sent > RESETS_PER_ACCOUNT_PER_HOUR {
        tracing::info!(user_id = %user.id, "password reset limit reached; no mail sent");
        metrics::counter!("auth_password_resets_total", "outcome" => "limited").increment(1);
        return Ok(Limited { value: (), quota });
    }
    let token = new_reset_token();
    let expires_at = OffsetDateTime::now_utc() + RESET_TTL;
    let link = format!("{}?token={token}", state.reset.url);
    let body = format!(
        "Hello {name},\r\n\r\n\
         Someone (we hope you) asked to reset the password of {email} on {platform}.\r\n\
         Open this link within 30 minutes to choose a new one; it works once:\r\n\r\n\
         {link}\r\n\r\n\
         If it was not you, ignore this message: your password stays as it is.\r\n",
        name = user.full_name,
        email = user.email,
        platform = crate::settings::PLATFORM_NAME,
    );
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    let reset = passwords::insert_reset(
        &*txn,
        passwords::NewReset {
            user: user.id,
            company: user.company_id,
            token_digest: digest(&token),
            ip_address: client.ip_address.as_deref(),
            expires_at,
        },
    )
    .await?;
    mail::enqueue(&*txn, &user.email, "Reset your password", &body).await?;
    txn.record(
        &Event::new(AuthEvent::PasswordResetRequested)
            .company(user.company_id)
            .resource("user", user.id)
            .details(json!({
                "reset_id": reset,
                "ip_address": client.ip_address,
                "user_agent": client.user_agent,
            })),
    )
    .await?;
    txn.commit().await?;
    state.mail_wake.notify_one();
    metrics::counter!("auth_password_resets_total", "outcome" => "sent").increment(1);
    Ok(Limited { value: (), quota })
}

const BAD_RESET_TOKEN: &str = "Invalid or expired reset token";

/// `POST /auth/password-reset/confirm`: a live token sets the new password (the policy
/// applies; a refused password leaves the token usable), ends every session and any lock.
pub async fn confirm_reset(
    state: &AppState,
    token: &str,
    new: SecretString,
) -> Result<(), AuthError> {
    if token.is_empty() || token.len() > 200 {
        return Err(AuthError::BadRequest(BAD_RESET_TOKEN.to_owned()));
    }
    let digest = digest(token);
    let found = passwords::find_live_reset(&state.db, &digest)
        .await?
        .ok_or_else(|| AuthError::BadRequest(BAD_RESET_TOKEN.to_owned()))?;
    let user = users::find_in_company(&state.db, found.company_id, found.user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| AuthError::BadRequest(BAD_RESET_TOKEN.to_owned()))?;
    check_new(state, &user, &new, "new_password").await?;
    let hash = state.passwords.hash(new).await?;
    let all: Vec<SessionId> = sessions::live_of_user(&state.db, user.company_id, user.id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let ending = Ending {
        company: user.company_id,
        actor: user.id,
        owner: user.id,
        by: EndedBy::PasswordReset,
    };
    super::sessions::revoke_families(state, &all).await?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if passwords::use_reset(&*txn, &digest).await?.is_none() {
        // Another request used it meanwhile.
        return Err(AuthError::BadRequest(BAD_RESET_TOKEN.to_owned()));
    }
    passwords::set(&*txn, user.id, hash, false, state.password_policy.history).await?;
    passwords::void_resets(&*txn, user.id).await?;
    super::sessions::record_ended(&mut txn, &ending, &all).await?;
    txn.record(
        &Event::new(AuthEvent::PasswordReset)
            .company(user.company_id)
            .actor(user.id)
            .resource("user", user.id)
            .details(json!({"reset_id": found.id, "sessions_ended": all.len()})),
    )
    .await?;
    txn.commit().await?;
    super::sessions::announce_ended(state, &ending, all).await;
    super::announce(state, Revocation::User(user.id.into())).await;
    state.tokens.lockout_clear(&user.email).await?;
    metrics::counter!("auth_password_changes_total", "by" => "reset").increment(1);
    Ok(())
}

/// An admin set `id`'s password: it joins the history and must be changed at the next
/// sign-in (called inside the admin's change).
pub(crate) async fn set_by_admin(
    txn: &impl sea_orm::ConnectionTrait,
    state: &AppState,
    id: UserId,
    hash: String,
) -> Result<(), AuthError> {
    passwords::set(txn, id, hash, true, state.password_policy.history).await?;
    passwords::void_resets(txn, id).await?;
    Ok(())
}
