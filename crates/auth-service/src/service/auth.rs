//! Sign-in, refresh with rotation and reuse detection, logout, and turning an access
//! token into a principal.

use super::refresh_log::Touch;
use super::{AppState, AuthEvent};
use crate::domain::Email;
use crate::domain::password::{MAX_LEN, Verified};
use crate::domain::tokens::IssuedPair;
use crate::error::AuthError;
use crate::store::sessions::{self, NewSession};
use crate::store::tokens::{Attempt, LockoutGate, Owner, RotateOutcome, Rotation};
use crate::store::users;
use auth_types::{PagePermissions, Principal, RefreshClaims};
use events::revocation::Revocation;
use events::{Event, UnitOfWork};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use service_runtime::db::During;
use service_runtime::error::Failures;
use service_runtime::http::Limited;
use std::time::Duration;
use time::OffsetDateTime;

/// Where a request came from, recorded on its session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

/// The refresh on the record: the session touched, `TOKEN_REFRESHED` audited, committed
/// in a group with the refreshes arriving meanwhile ([`super::refresh_log`]).
async fn record_refresh(
    state: &AppState,
    claims: &RefreshClaims,
    pair: &IssuedPair,
) -> Result<(), AuthError> {
    let event = Event::new(AuthEvent::TokenRefreshed)
        .company(claims.company_id)
        .actor(claims.sub)
        .resource("session", claims.fam);
    state
        .refresh_log
        .record(Touch {
            session: claims.fam,
            expires_at: expiry(pair.refresh.exp)?,
            event,
        })
        .await?;
    Ok(())
}

/// A refused refresh, counted by why.
fn refused(outcome: &'static str) -> AuthError {
    metrics::counter!("auth_refreshes_total", "outcome" => outcome).increment(1);
    AuthError::InvalidRefreshToken
}

/// A refusal by a rate limit, counted as the `rate_limited` outcome of `metric`.
fn count_rate_limited(e: &AuthError, metric: &'static str) {
    if matches!(e, AuthError::RateLimited { .. }) {
        metrics::counter!(metric, "outcome" => "rate_limited").increment(1);
    }
}

/// A limit counted over a minute.
pub(super) fn per_minute(key: String, per_window: u64) -> super::Limit {
    super::Limit {
        key,
        per_window,
        window: Duration::from_secs(60),
    }
}

pub(super) fn expiry(unix: i64) -> Result<OffsetDateTime, AuthError> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(|e| AuthError::unexpected(e.into()))
}

/// How long a sign-in waits for the checks in flight at its account to settle.
const LOCKOUT_WAIT: Duration = Duration::from_secs(5);

/// A failed sign-in, audited as `LOGIN_FAILED` with why. For one address, email and
/// reason the first failure of a (wall-clock) minute is recorded at once; its repeats in
/// that minute are gathered into one more event, `attempts` counting them, published when
/// the minute is over: a flood cannot grow the audit log by more than two events a minute
/// for each, and the counts stay exact.
pub(super) async fn login_failed(
    state: &AppState,
    email: &Email,
    client: &ClientInfo,
    known: Option<&crate::entities::user::Model>,
    reason: &str,
) -> Result<(), AuthError> {
    let now = OffsetDateTime::now_utc();
    let minute = now.unix_timestamp().div_euclid(60);
    let address = client.ip_address.as_deref().unwrap_or("unknown");
    let (n, _) = state
        .tokens
        .hit(
            &format!("login-failed:{minute}:{address}:{email}:{reason}"),
            Duration::from_secs(120),
        )
        .await?;
    let mut details = json!({
        "email": email.as_str(),
        "ip_address": client.ip_address,
        "user_agent": client.user_agent,
        "reason": reason,
        "attempts": 1,
    });
    let mut event = Event::new(AuthEvent::LoginFailed);
    if n > 1 {
        details["attempts"] = json!(n - 1);
        details["repeats_within_minute"] = json!(true);
        event.id = gathered_id(minute, address, email, reason);
    }
    event = event.details(details);
    if let Some(u) = known {
        event = event
            .company(u.company_id)
            .actor(u.id)
            .resource("user", u.id);
    }
    if n == 1 {
        UnitOfWork::record_alone(&state.db, &state.relay, &event).await?;
    } else {
        let due = OffsetDateTime::from_unix_timestamp((minute + 1) * 60)
            .map_err(|e| AuthError::unexpected(e.into()))?;
        let count = i64::try_from(n - 1).unwrap_or(i64::MAX);
        events::outbox::gather(&state.db, &event, count, due)
            .await
            .during("gathering a repeated failed sign-in")?;
    }
    Ok(())
}

/// The id of the event gathering one minute's repeats for one address and email: the
/// same in every replica of a build (`DefaultHasher::new` is keyed alike), so they all
/// add to one outbox entry.
fn gathered_id(minute: i64, address: &str, email: &Email, reason: &str) -> uuid::Uuid {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        (salt, minute, address, email.as_str(), reason).hash(&mut h);
        h.finish().to_be_bytes()
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&half(0));
    bytes[8..].copy_from_slice(&half(1));
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The failure that reached the threshold locked the account: audited with the address
/// that tipped it, and the company's admins told.
pub(super) async fn account_locked(
    state: &AppState,
    email: &Email,
    client: &ClientInfo,
    known: Option<&crate::entities::user::Model>,
    lockout: super::Lockout,
) -> Result<(), AuthError> {
    metrics::counter!("auth_lockouts_total").increment(1);
    let Some(u) = known else {
        // Nobody to tell about an email that is no account; the lock still holds, so
        // the answers stay the same as for a real one.
        return Ok(());
    };
    tracing::warn!(user_id = %u.id, "account locked after failed sign-ins");
    let minutes = lockout.duration.as_secs() / 60;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    txn.record(
        &Event::new(AuthEvent::AccountLocked)
            .company(u.company_id)
            .resource("user", u.id)
            .details(json!({
                "email": email.as_str(),
                "ip_address": client.ip_address,
                "failed_attempts": lockout.threshold,
                "locked_minutes": minutes,
            })),
    )
    .await?;
    let company = u.company_id;
    for admin in users::active_admins(&*txn, company).await? {
        txn.notify(
            &events::Notification::new(
                company,
                admin,
                AuthEvent::AccountLocked,
                format!("Account locked: {}", u.email),
                format!(
                    "{} was locked for {minutes} minutes after {} failed sign-ins (last from {}). \
                     Unlock it from user management if that was them.",
                    u.email,
                    lockout.threshold,
                    client.ip_address.as_deref().unwrap_or("an unknown address")
                ),
            )
            .resource("user", u.id),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn login(
    state: &AppState,
    email: &str,
    password: SecretString,
    client: &ClientInfo,
) -> Result<Limited<Result<SignedIn, AuthError>>, AuthError> {
    let email = Email::parse(email).map_err(|m| AuthError::invalid("email", m))?;
    let len = password.expose_secret().chars().count();
    if len == 0 || len > MAX_LEN {
        return Err(AuthError::invalid(
            "password",
            format!("must be 1 to {MAX_LEN} characters long"),
        ));
    }
    // Brute force costs time: a client address gets so many attempts a minute at one
    // account, right or wrong. Keyed by address and email together, so clients behind one
    // proxy (whose address they share) do not exhaust each other's attempts.
    // And one address gets so many attempts a minute across all accounts: password
    // spraying, and locking accounts one after another, stay slow.
    let limits = match client.ip_address.as_deref() {
        Some(ip) => vec![
            per_minute(format!("login:{ip}:{email}"), state.login_rate_limit),
            per_minute(format!("login-ip:{ip}"), state.login_rate_limit_per_ip),
        ],
        None => Vec::new(),
    };
    let quota = super::check_limits(state, "login attempts", limits)
        .await
        .inspect_err(|e| count_rate_limited(e, "auth_logins_total"))?;
    Ok(Limited {
        value: checked_login(state, email, password, client).await,
        quota,
    })
}

/// The sign-in once the rate limits let it through: the answer it gets goes out with
/// the caller's standing against those limits.
async fn checked_login(
    state: &AppState,
    email: Email,
    password: SecretString,
    client: &ClientInfo,
) -> Result<SignedIn, AuthError> {
    let user = users::find_by_email(&state.db, &email).await?;
    // Lockout is decided before any hashing, by one atomic step in the token store, for
    // known and unknown emails alike (the answer never tells them apart).
    if let Some(lockout) = state.lockout {
        // Checks in flight fill the threshold: wait for them to settle. Were they wrong,
        // the account is locked by then and this attempt is refused unhashed; were they
        // right, the count started over and this one is checked in turn.
        let deadline = tokio::time::Instant::now() + LOCKOUT_WAIT;
        loop {
            match state
                .tokens
                .lockout_begin(email.as_str(), lockout.threshold)
                .await?
            {
                LockoutGate::Check => break,
                LockoutGate::Full if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                LockoutGate::Locked(_) | LockoutGate::Full => {
                    metrics::counter!("auth_logins_total", "outcome" => "locked").increment(1);
                    login_failed(state, &email, client, user.as_ref(), "account_locked").await?;
                    return Err(AuthError::InvalidCredentials);
                }
            }
        }
    }
    let verified = state
        .passwords
        .verify(
            password.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await;
    let attempt = match (&user, &verified) {
        (Some(u), Ok(Verified::Yes { .. })) if u.is_active => Attempt::Succeeded,
        // Hashing overloaded or failing: the password was not judged, so it counts
        // neither way (a flood must not lock real accounts by starving their checks).
        (_, Err(_)) => Attempt::Unchecked,
        (_, Ok(_)) => Attempt::Failed,
    };
    if let Some(lockout) = state.lockout {
        let locked_now = state
            .tokens
            .lockout_settle(email.as_str(), attempt, lockout.threshold, lockout.duration)
            .await?;
        if locked_now {
            account_locked(state, &email, client, user.as_ref(), lockout).await?;
        }
    }
    let (user, needs_rehash) = match (user, verified?) {
        (Some(u), Verified::Yes { needs_rehash }) if u.is_active => (u, needs_rehash),
        (known, Verified::Yes { .. } | Verified::No) => {
            metrics::counter!("auth_logins_total", "outcome" => "failure").increment(1);
            let reason = match &known {
                Some(u) if !u.is_active => "inactive_account",
                Some(_) => "wrong_password",
                None => "unknown_email",
            };
            login_failed(state, &email, client, known.as_ref(), reason).await?;
            return Err(AuthError::InvalidCredentials);
        }
    };
    let user_id = user.id;
    tracing::Span::current().record("user_id", tracing::field::display(user_id));
    if needs_rehash {
        // The login succeeds either way; an old hash is upgraded next time if this fails.
        match state.passwords.hash(password).await {
            Ok(hash) => users::set_password_hash(&state.db, user_id, hash).await?,
            Err(e) => tracing::warn!(error = %e, "could not upgrade a password hash"),
        }
    }
    second_step(state, &user, client).await
}

/// How a sign-in whose password was right goes on: to the second factor, to enrolling
/// one the company requires, to changing the password, or to a session.
#[derive(Debug)]
pub enum SignedIn {
    Tokens(Box<IssuedPair>),
    /// `mfa_token` for `POST /auth/mfa/verify`.
    MfaRequired {
        token: String,
        expires_in: u64,
    },
    /// A token only the TOTP enrolment endpoints accept.
    MfaEnrolmentRequired {
        token: String,
        expires_in: u64,
    },
    /// A token only the password-change endpoint accepts.
    PasswordChangeRequired {
        token: String,
        expires_in: u64,
    },
}

/// How long an `mfa_token` lives.
pub const MFA_TOKEN_TTL: Duration = Duration::from_secs(300);
/// How long the restricted tokens of enrolment and password change live.
pub const RESTRICTED_TTL: Duration = Duration::from_secs(600);

fn restricted(
    state: &AppState,
    kind: auth_types::TokenKind,
    user: &crate::entities::user::Model,
    ttl: Duration,
) -> Result<(String, u64), AuthError> {
    let (token, _) =
        state
            .issuer
            .issue_restricted(kind, user.id, user.company_id, user.role, ttl)?;
    Ok((token, ttl.as_secs()))
}

/// After the password: a second factor if the user has one, enrolment if their company
/// requires one of their role, else [`finish_sign_in`].
async fn second_step(
    state: &AppState,
    user: &crate::entities::user::Model,
    client: &ClientInfo,
) -> Result<SignedIn, AuthError> {
    use auth_types::TokenKind;
    if user.mfa_enabled {
        let (token, expires_in) = restricted(state, TokenKind::Mfa, user, MFA_TOKEN_TTL)?;
        metrics::counter!("auth_logins_total", "outcome" => "mfa_required").increment(1);
        return Ok(SignedIn::MfaRequired { token, expires_in });
    }
    if super::mfa::required_of(state, user.company_id, user.role).await? {
        let (token, expires_in) = restricted(state, TokenKind::MfaEnrolment, user, RESTRICTED_TTL)?;
        metrics::counter!("auth_logins_total", "outcome" => "mfa_enrolment_required").increment(1);
        return Ok(SignedIn::MfaEnrolmentRequired { token, expires_in });
    }
    finish_sign_in(state, user, client).await
}

/// Whether the user must change their password before anything else: an admin set it,
/// or it is older than `PASSWORD_MAX_AGE_DAYS`.
fn must_change_password(state: &AppState, user: &crate::entities::user::Model) -> bool {
    if user.password_change_required {
        return true;
    }
    let Some(max_age) = state.password_policy.max_age else {
        return false;
    };
    let set = user.password_changed_at.unwrap_or(user.created_at);
    let age = OffsetDateTime::now_utc() - set;
    age >= time::Duration::try_from(max_age).unwrap_or(time::Duration::MAX)
}

/// Every factor checked: a session and its token pair, unless the password must be
/// changed first (then only a token the password-change endpoint accepts).
pub(crate) async fn finish_sign_in(
    state: &AppState,
    user: &crate::entities::user::Model,
    client: &ClientInfo,
) -> Result<SignedIn, AuthError> {
    if must_change_password(state, user) {
        let (token, expires_in) = restricted(
            state,
            auth_types::TokenKind::PasswordChange,
            user,
            RESTRICTED_TTL,
        )?;
        metrics::counter!("auth_logins_total", "outcome" => "password_change_required")
            .increment(1);
        return Ok(SignedIn::PasswordChangeRequired { token, expires_in });
    }
    let user_id = user.id;
    let company = user.company_id;
    let session = auth_types::SessionId::new();
    let pair = state
        .issuer
        .issue_pair(user_id, company, user.role, session, None)?;
    // The family first: if the store is down nothing is written and the client gets 503.
    state
        .tokens
        .begin_family(
            session,
            Owner {
                user: user_id,
                company,
            },
            pair.refresh.jti,
            state.issuer.refresh_ttl(),
        )
        .await?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    sessions::insert(
        &*txn,
        NewSession {
            id: session,
            user: user_id,
            company,
            user_agent: client.user_agent.as_deref(),
            ip_address: client.ip_address.as_deref(),
            expires_at: expiry(pair.refresh.exp)?,
        },
    )
    .await?;
    let event = Event::new(AuthEvent::Login)
        .company(company)
        .actor(user_id)
        .resource("user", user_id)
        .details(json!({
            "session_id": session,
            "ip_address": client.ip_address,
            "user_agent": client.user_agent,
            "mfa": user.mfa_enabled,
        }));
    txn.record(&event).await?;
    txn.commit().await?;
    super::sessions::enforce_limit(state, company, user_id, session).await;
    metrics::counter!("auth_logins_total", "outcome" => "success").increment(1);
    tracing::info!("login succeeded");
    Ok(SignedIn::Tokens(Box::new(pair)))
}

/// Who a bearer token speaks for where restricted tokens are let in too: a full access
/// token (with its session), or a token of one of `kinds`, whose user must still be
/// active and, for a password-change token, must not have changed the password since.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: auth_types::UserId,
    pub company_id: auth_types::CompanyId,
    pub role: auth_types::Role,
    /// The session of a full access token; `None` for a restricted one.
    pub session: Option<auth_types::SessionId>,
    pub kind: auth_types::TokenKind,
    pub token_id: auth_types::TokenId,
    /// When the token expires (unix seconds).
    pub expires_at: i64,
}

impl From<&Principal> for Caller {
    fn from(p: &Principal) -> Self {
        Self {
            user_id: p.user_id,
            company_id: p.company_id,
            role: p.role,
            session: Some(p.session_id),
            kind: auth_types::TokenKind::Access,
            token_id: p.token_id,
            expires_at: p.expires_at,
        }
    }
}

pub async fn authenticate_allowing(
    state: &AppState,
    token: &str,
    kinds: &[auth_types::TokenKind],
) -> Result<Caller, AuthError> {
    let Ok(claims) = state.issuer.verify_kinds(token, kinds) else {
        // Not one of the restricted kinds: a full access token, or nothing.
        return authenticate(state, token).await.map(|p| Caller::from(&p));
    };
    if claims.typ == auth_types::TokenKind::Access {
        return authenticate(state, token).await.map(|p| Caller::from(&p));
    }
    let user = users::find_in_company(&state.db, claims.company_id, claims.sub)
        .await?
        .filter(|u| u.is_active)
        .ok_or(AuthError::InvalidToken)?;
    if claims.typ == auth_types::TokenKind::PasswordChange
        && user
            .password_changed_at
            .is_some_and(|at| at.unix_timestamp() > claims.iat)
    {
        // Used: the password it was issued to change has been changed.
        return Err(AuthError::InvalidToken);
    }
    Ok(Caller {
        user_id: user.id,
        company_id: user.company_id,
        role: user.role,
        session: None,
        kind: claims.typ,
        token_id: claims.jti,
        expires_at: claims.exp,
    })
}

#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn refresh(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<Limited<Result<IssuedPair, AuthError>>, AuthError> {
    let Ok(claims) = state.issuer.verify_refresh(token) else {
        metrics::counter!("auth_invalid_tokens_total", "kind" => "refresh").increment(1);
        return Err(refused("invalid"));
    };
    tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
    // The token's own expiry already holds both limits; this catches tokens issued
    // before SESSION_MAX_DAYS or SESSION_IDLE_MINUTES were lowered.
    let started = claims.auth_time.unwrap_or(claims.iat);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if state.issuer.session_over(started, claims.iat, now) {
        return Err(refused("session_expired"));
    }
    // A client refreshes once per access-token lifetime; a loop or a replay storm does
    // not get to hammer the store and the audit log. Per session, and per address.
    let mut limits = vec![per_minute(
        format!("refresh:{}", claims.fam),
        state.refresh_rate_limit,
    )];
    if let Some(ip) = client.ip_address.as_deref() {
        limits.push(per_minute(
            format!("refresh-ip:{ip}"),
            state.refresh_rate_limit_per_ip,
        ));
    }
    let quota = super::check_limits(state, "token refreshes", limits)
        .await
        .inspect_err(|e| count_rate_limited(e, "auth_refreshes_total"))?;
    Ok(Limited {
        value: rotate(state, claims, started).await,
        quota,
    })
}

/// The rotation once the rate limits let the refresh through.
async fn rotate(
    state: &AppState,
    claims: RefreshClaims,
    started: i64,
) -> Result<IssuedPair, AuthError> {
    // The record kept on the revocation feed's terms: a deactivation or role change is
    // announced, and drops it at once.
    let user = super::users::record(state, claims.company_id, claims.sub)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| refused("inactive_user"))?;
    let pair = state.issuer.issue_pair(
        claims.sub,
        claims.company_id,
        user.role,
        claims.fam,
        Some(started),
    )?;
    let outcome = state
        .tokens
        .rotate(Rotation {
            family: claims.fam,
            owner: Owner {
                user: claims.sub,
                company: claims.company_id,
            },
            presented: claims.jti,
            next: pair.refresh.jti,
            grace: state.reuse_grace,
            ttl: state.issuer.refresh_ttl(),
        })
        .await
        .map_err(|e| e.during("rotating the refresh token"))?;
    match outcome {
        RotateOutcome::Rotated => {
            if let Err(e) = record_refresh(state, &claims, &pair).await {
                // The new pair never reaches the client: take the rotation back, so its
                // retry with the same token is a refresh, not a reuse that ends the session.
                let undone = state
                    .tokens
                    .unrotate(claims.fam, claims.jti, pair.refresh.jti);
                if let Err(undo) = undone.await {
                    tracing::error!(error = %undo, "could not take back a refresh rotation");
                }
                return Err(e);
            }
            metrics::counter!("auth_refreshes_total", "outcome" => "success").increment(1);
            Ok(pair)
        }
        RotateOutcome::ReuseDetected => {
            let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
            sessions::revoke(&*txn, claims.fam, "refresh_token_reuse").await?;
            let event = Event::new(AuthEvent::TokenReuseDetected)
                .company(claims.company_id)
                .actor(claims.sub)
                .resource("session", claims.fam)
                .details(json!({"token_id": claims.jti, "family_revoked": true}));
            txn.record(&event).await?;
            txn.commit().await?;
            super::announce(state, Revocation::Session(claims.fam.into())).await;
            metrics::counter!("auth_refresh_reuse_detected_total").increment(1);
            tracing::warn!(session_id = %claims.fam, "refresh token reuse detected; session family revoked");
            Err(refused("reuse_detected"))
        }
        RotateOutcome::RecentlyRotated => {
            // A retry or a second tab, most likely: refused, the session lives on; still
            // on the record, in case it was not.
            let event = Event::new(AuthEvent::TokenReuseDetected)
                .company(claims.company_id)
                .actor(claims.sub)
                .resource("session", claims.fam)
                .details(json!({
                    "token_id": claims.jti,
                    "family_revoked": false,
                    "within_grace": true,
                }));
            UnitOfWork::record_alone(&state.db, &state.relay, &event).await?;
            Err(refused("recently_rotated"))
        }
        RotateOutcome::Revoked => Err(refused("revoked")),
        RotateOutcome::Unknown => Err(refused("unknown")),
    }
}

#[tracing::instrument(skip_all, fields(user_id = %principal.user_id))]
pub async fn logout(state: &AppState, principal: &Principal) -> Result<(), AuthError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let remaining = u64::try_from(principal.expires_at - now).unwrap_or(0);
    state
        .tokens
        .revoke_family(principal.session_id, state.issuer.refresh_ttl())
        .await?;
    state
        .tokens
        .deny_access_token(
            principal.session_id,
            principal.token_id,
            Duration::from_secs(remaining),
        )
        .await?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    sessions::revoke(&*txn, principal.session_id, "logout").await?;
    // As the TRD records it (§11.1): the user signed out; the session in the details.
    let event = Event::new(AuthEvent::Logout)
        .company(principal.company_id)
        .actor(principal.user_id)
        .resource("user", principal.user_id)
        .details(serde_json::json!({ "session_id": principal.session_id }));
    txn.record(&event).await?;
    txn.commit().await?;
    super::announce(state, Revocation::Session(principal.session_id.into())).await;
    metrics::counter!("auth_logouts_total").increment(1);
    tracing::info!("logged out");
    Ok(())
}

/// Who an access token speaks for: from the principal cache, kept in step with the
/// revocation feed (a logout, deactivation, role, page or password change drops what it
/// names at once, on every replica and service), or checked afresh ([`check_token`]).
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, AuthError> {
    let ttl = state.principal_ttl;
    let principal = state
        .principals
        .resolve(token, || async {
            match check_token(state, token).await {
                Ok(p) => {
                    let left =
                        u64::try_from(p.expires_at - OffsetDateTime::now_utc().unix_timestamp())
                            .unwrap_or(0);
                    Ok((Some(p), ttl.min(Duration::from_secs(left))))
                }
                Err(AuthError::InvalidToken) => Ok((None, ttl / 4)),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|shared: std::sync::Arc<AuthError>| {
            std::sync::Arc::try_unwrap(shared).unwrap_or_else(|shared| {
                // Another request's check failed and this one waited on it.
                AuthError::Failure(service_runtime::error::Failure::unavailable(
                    "token check",
                    shared.to_string(),
                ))
            })
        })?;
    principal.ok_or(AuthError::InvalidToken)
}

/// Checks an access token and loads who it speaks for, fresh from the token store and the
/// database: a deactivated user, a changed role or a new override counts at once.
pub async fn check_token(state: &AppState, token: &str) -> Result<Principal, AuthError> {
    let invalid = || {
        metrics::counter!("auth_invalid_tokens_total", "kind" => "access").increment(1);
        AuthError::InvalidToken
    };
    let claims = state.issuer.verify_access(token).map_err(|e| {
        tracing::debug!(error = %e, "access token refused");
        invalid()
    })?;
    if state
        .tokens
        .is_access_revoked(
            claims.jti,
            claims.sid,
            Owner {
                user: claims.sub,
                company: claims.company_id,
            },
        )
        .await?
    {
        return Err(invalid());
    }
    let user = users::find_in_company(&state.db, claims.company_id, claims.sub)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(invalid)?;
    let role = user.role;
    let overrides = users::overrides(&state.db, claims.sub).await?;
    Ok(Principal {
        user_id: claims.sub,
        company_id: claims.company_id,
        role,
        permissions: PagePermissions::effective(role, overrides),
        session_id: claims.sid,
        token_id: claims.jti,
        issued_at: claims.iat,
        expires_at: claims.exp,
    })
}
