//! Sign-in, refresh with rotation and reuse detection, logout, and turning an access
//! token into a principal.

use super::{AppState, SOURCE};
use crate::domain::Email;
use crate::domain::password::{MAX_LEN, Verified};
use crate::domain::tokens::IssuedPair;
use crate::error::AuthError;
use crate::store::sessions::{self, NewSession};
use crate::store::tokens::{LockoutGate, Owner, RotateOutcome, Rotation};
use crate::store::users;
use auth_types::{CompanyId, PagePermissions, Principal, Role, UserId};
use events::{Event, UnitOfWork};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use service_runtime::error::Failures;
use std::time::Duration;
use time::OffsetDateTime;

/// Where a request came from, recorded on its session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

fn parse_role(raw: &str) -> Result<Role, AuthError> {
    raw.parse()
        .map_err(|e| AuthError::unexpected(anyhow::Error::new(e).context("stored role")))
}

fn expiry(unix: i64) -> Result<OffsetDateTime, AuthError> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(|e| AuthError::unexpected(e.into()))
}

/// How long a sign-in waits for the checks in flight at its account to settle.
const LOCKOUT_WAIT: Duration = Duration::from_secs(5);

/// A sign-in refused before any password check: recorded like a wrong password, with why.
async fn login_failed(
    state: &AppState,
    email: &Email,
    client: &ClientInfo,
    known: Option<&crate::entities::user::Model>,
    reason: &str,
) -> Result<(), AuthError> {
    let mut event = Event::new(SOURCE, "LOGIN_FAILED").details(json!({
        "email": email.as_str(),
        "ip_address": client.ip_address,
        "user_agent": client.user_agent,
        "reason": reason,
    }));
    if let Some(u) = known {
        event = event
            .company(u.company_id)
            .actor(u.id)
            .resource("user", u.id);
    }
    UnitOfWork::record_alone(&state.db, &state.relay, &event).await?;
    Ok(())
}

/// The failure that reached the threshold locked the account: audited with the address
/// that tipped it, and the company's admins told.
async fn account_locked(
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
        &Event::new(SOURCE, "ACCOUNT_LOCKED")
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
    let company = CompanyId::from(u.company_id);
    for admin in users::active_admins(&*txn, company).await? {
        txn.notify(
            &events::Notification::new(
                company,
                admin,
                "ACCOUNT_LOCKED",
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
) -> Result<IssuedPair, AuthError> {
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
    if let Some(ip) = client.ip_address.as_deref() {
        for (key, limit) in [
            (format!("login:{ip}:{email}"), state.login_rate_limit),
            (format!("login-ip:{ip}"), state.login_rate_limit_per_ip),
        ] {
            if limit == 0 {
                continue;
            }
            let (hits, left) = state.tokens.hit(&key, Duration::from_secs(60)).await?;
            if hits > limit {
                metrics::counter!("auth_logins_total", "outcome" => "rate_limited").increment(1);
                return Err(AuthError::RateLimited {
                    what: "login attempts",
                    seconds: left.as_secs().max(1),
                });
            }
        }
    }
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
    let success = matches!(
        (&user, &verified),
        (Some(u), Ok(Verified::Yes { .. })) if u.is_active
    );
    if let Some(lockout) = state.lockout {
        let locked_now = state
            .tokens
            .lockout_settle(email.as_str(), success, lockout.threshold, lockout.duration)
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
    let user_id = UserId::from(user.id);
    tracing::Span::current().record("user_id", tracing::field::display(user_id));
    if needs_rehash {
        // The login succeeds either way; an old hash is upgraded next time if this fails.
        match state.passwords.hash(password).await {
            Ok(hash) => users::set_password_hash(&state.db, user_id, hash).await?,
            Err(e) => tracing::warn!(error = %e, "could not upgrade a password hash"),
        }
    }
    let company = CompanyId::from(user.company_id);
    let session = auth_types::SessionId::new();
    let pair = state
        .issuer
        .issue_pair(user_id, company, parse_role(&user.role)?, session)?;
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
    let event = Event::new(SOURCE, "LOGIN")
        .company(company)
        .actor(user_id)
        .resource("user", user_id)
        .details(json!({"session_id": session, "ip_address": client.ip_address, "user_agent": client.user_agent}));
    txn.record(&event).await?;
    txn.commit().await?;
    metrics::counter!("auth_logins_total", "outcome" => "success").increment(1);
    tracing::info!("login succeeded");
    Ok(pair)
}

#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn refresh(state: &AppState, token: &str) -> Result<IssuedPair, AuthError> {
    let refused = |outcome: &'static str| {
        metrics::counter!("auth_refreshes_total", "outcome" => outcome).increment(1);
        AuthError::InvalidRefreshToken
    };
    let Ok(claims) = state.issuer.verify_refresh(token) else {
        metrics::counter!("auth_invalid_tokens_total", "kind" => "refresh").increment(1);
        return Err(refused("invalid"));
    };
    tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
    let user = users::find_in_company(&state.db, claims.company_id, claims.sub)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| refused("inactive_user"))?;
    let pair = state.issuer.issue_pair(
        claims.sub,
        claims.company_id,
        parse_role(&user.role)?,
        claims.fam,
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
        .await?;
    match outcome {
        RotateOutcome::Rotated => {
            let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
            sessions::touch(&*txn, claims.fam, expiry(pair.refresh.exp)?).await?;
            let event = Event::new(SOURCE, "TOKEN_REFRESHED")
                .company(claims.company_id)
                .actor(claims.sub)
                .resource("session", claims.fam);
            txn.record(&event).await?;
            txn.commit().await?;
            metrics::counter!("auth_refreshes_total", "outcome" => "success").increment(1);
            Ok(pair)
        }
        RotateOutcome::ReuseDetected => {
            let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
            sessions::revoke(&*txn, claims.fam, "refresh_token_reuse").await?;
            let event = Event::new(SOURCE, "TOKEN_REUSE_DETECTED")
                .company(claims.company_id)
                .actor(claims.sub)
                .resource("session", claims.fam)
                .details(json!({"token_id": claims.jti, "family_revoked": true}));
            txn.record(&event).await?;
            txn.commit().await?;
            metrics::counter!("auth_refresh_reuse_detected_total").increment(1);
            tracing::warn!(session_id = %claims.fam, "refresh token reuse detected; session family revoked");
            Err(refused("reuse_detected"))
        }
        RotateOutcome::RecentlyRotated => {
            // A retry or a second tab, most likely: refused, the session lives on; still
            // on the record, in case it was not.
            let event = Event::new(SOURCE, "TOKEN_REUSE_DETECTED")
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
        .deny_access_token(principal.token_id, Duration::from_secs(remaining))
        .await?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    sessions::revoke(&*txn, principal.session_id, "logout").await?;
    // As the TRD records it (§11.1): the user signed out; the session in the details.
    let event = Event::new(SOURCE, "LOGOUT")
        .company(principal.company_id)
        .actor(principal.user_id)
        .resource("user", principal.user_id)
        .details(serde_json::json!({ "session_id": principal.session_id }));
    txn.record(&event).await?;
    txn.commit().await?;
    metrics::counter!("auth_logouts_total").increment(1);
    tracing::info!("logged out");
    Ok(())
}

/// Checks an access token and loads who it speaks for, fresh from the database: a
/// deactivated user, a changed role or a new override counts at once.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, AuthError> {
    let invalid = || {
        metrics::counter!("auth_invalid_tokens_total", "kind" => "access").increment(1);
        AuthError::InvalidToken
    };
    let claims = state.issuer.verify_access(token).map_err(|_| invalid())?;
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
    let role = parse_role(&user.role)?;
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
