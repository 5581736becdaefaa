//! TOTP multi-factor authentication (RFC 6238): enrolment with a QR code and recovery
//! codes, the second step of a sign-in, turning it off, and a company's
//! `mfa_required_roles`.

use super::auth::{Caller, ClientInfo, SignedIn};
use super::passwords::Gated;
use super::{AppState, AuthEvent};
use crate::domain::totp;
use crate::entities::user;
use crate::error::AuthError;
use crate::store::tokens::Attempt;
use crate::store::{companies, mfa, users};
use auth_types::{CompanyId, Principal, Role, TokenKind};
use events::revocation::Revocation;
use events::{Event, UnitOfWork};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use service_runtime::error::Failures;
use service_runtime::http::Limited;
use std::time::Duration;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// What an authenticator app needs to add the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolment {
    /// The shared secret, base32 (for typing in by hand).
    pub secret: String,
    /// The `otpauth://totp/...` URI the QR code holds.
    pub otpauth_uri: String,
    /// The URI as an SVG QR code.
    pub qr_svg: String,
}

/// A company's security policy.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicy {
    /// Users of these roles must use MFA: without it, their next sign-in enrols first.
    pub mfa_required_roles: Vec<Role>,
}

/// Wrong codes one `mfa_token` may try before it is useless.
const TRIES_PER_MFA_TOKEN: u64 = 5;
const INVALID_CODE: &str = "Invalid authentication code";

fn context(id: auth_types::UserId) -> [u8; 16] {
    *uuid::Uuid::from(id).as_bytes()
}

fn roles_of(stored: &str) -> Vec<Role> {
    // Written only by this service; an unreadable value means no requirement.
    serde_json::from_str(stored).unwrap_or_default()
}

/// Whether the company requires MFA of users of `role`.
pub async fn required_of(
    state: &AppState,
    company: CompanyId,
    role: Role,
) -> Result<bool, AuthError> {
    Ok(companies::find(&state.db, company)
        .await?
        .is_some_and(|c| roles_of(&c.mfa_required_roles).contains(&role)))
}

async fn load(state: &AppState, caller: &Caller) -> Result<user::Model, AuthError> {
    users::find_in_company(&state.db, caller.company_id, caller.user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or(AuthError::InvalidToken)
}

/// `POST /users/me/mfa/totp`: a new secret, not in force until a code from it is
/// confirmed. Starting again replaces an unconfirmed one; a confirmed one is 409.
pub async fn begin(state: &AppState, caller: &Caller) -> Result<Enrolment, AuthError> {
    let user = load(state, caller).await?;
    if user.mfa_enabled {
        return Err(AuthError::conflict(
            "MFA is already on; turn it off first to enrol another authenticator",
        ));
    }
    let secret = totp::TotpSecret::generate();
    let sealed = state.sealer.seal(secret.as_bytes(), &context(user.id));
    if !mfa::begin(&state.db, user.id, sealed).await? {
        return Err(AuthError::conflict("MFA is already on"));
    }
    let uri = totp::otpauth_uri(&state.mfa_issuer, &user.email, &secret);
    let qr_svg = totp::qr_svg(&uri).map_err(|e| AuthError::unexpected(anyhow::Error::new(e)))?;
    Ok(Enrolment {
        secret: secret.to_base32(),
        otpauth_uri: uri,
        qr_svg,
    })
}

/// The secret of the user's factor, unsealed.
fn secret_of(
    state: &AppState,
    factor: &crate::entities::user_mfa::Model,
) -> Result<Vec<u8>, AuthError> {
    state
        .sealer
        .open(&factor.secret_sealed, &context(factor.user_id))
        .map_err(|e| AuthError::unexpected(anyhow::anyhow!("unsealing a TOTP secret: {e}")))
}

/// `POST /users/me/mfa/totp/confirm`: a code from the new secret turns MFA on; the
/// answer holds the ten recovery codes, shown this once.
pub async fn confirm(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> Result<Vec<String>, AuthError> {
    let user = load(state, caller).await?;
    let factor = mfa::find(&state.db, user.id).await?.ok_or_else(|| {
        AuthError::conflict("Start the enrolment first (POST /api/v1/users/me/mfa/totp)")
    })?;
    if factor.confirmed_at.is_some() {
        return Err(AuthError::conflict("MFA is already on"));
    }
    let secret = secret_of(state, &factor)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let Some(step) = totp::verify(&secret, code, now) else {
        return Err(AuthError::BadRequest(INVALID_CODE.to_owned()));
    };
    let codes = totp::generate_recovery_codes(10);
    let digests: Vec<String> = codes
        .iter()
        .filter_map(|c| totp::normalize_recovery_code(c))
        .map(|n| totp::recovery_code_digest(&n))
        .collect();
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    if !mfa::accept_step(&*txn, user.id, step, true).await? {
        return Err(AuthError::BadRequest(INVALID_CODE.to_owned()));
    }
    mfa::set_enabled(&*txn, user.id, true).await?;
    mfa::set_recovery_codes(&*txn, user.id, &digests).await?;
    txn.record(
        &Event::new(AuthEvent::MfaEnabled)
            .company(user.company_id)
            .actor(user.id)
            .resource("user", user.id)
            .details(json!({"method": "totp", "recovery_codes": digests.len()})),
    )
    .await?;
    txn.commit().await?;
    super::announce(state, Revocation::User(user.id.into())).await;
    metrics::counter!("auth_mfa_changes_total", "change" => "enabled").increment(1);
    Ok(codes)
}

/// What a code turned out to be, before it is spent.
enum Candidate {
    /// A TOTP code of this step.
    Totp(i64),
    /// An unused recovery code with this digest.
    Recovery(String),
    Wrong(&'static str),
}

/// Reads a code without spending it: a TOTP code (±1 step) or an unused recovery code.
async fn identify(
    state: &AppState,
    user: &user::Model,
    code: &str,
) -> Result<Candidate, AuthError> {
    let Some(factor) = mfa::find(&state.db, user.id)
        .await?
        .filter(|f| f.confirmed_at.is_some())
    else {
        return Ok(Candidate::Wrong("no_factor"));
    };
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
        let secret = secret_of(state, &factor)?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        return Ok(match totp::verify(&secret, code, now) {
            Some(step) if factor.last_used_step.is_none_or(|last| step > last) => {
                Candidate::Totp(step)
            }
            Some(_) => Candidate::Wrong("replayed_code"),
            None => Candidate::Wrong("wrong_code"),
        });
    }
    let Some(normalized) = totp::normalize_recovery_code(code) else {
        return Ok(Candidate::Wrong("wrong_code"));
    };
    let digest = totp::recovery_code_digest(&normalized);
    Ok(
        if mfa::has_recovery_code(&state.db, user.id, &digest).await? {
            Candidate::Recovery(digest)
        } else {
            Candidate::Wrong("wrong_recovery_code")
        },
    )
}

/// Spends a code [`identify`] found right: true unless a concurrent request spent it (or a
/// later TOTP step) first. A recovery code used is audited.
async fn spend(
    state: &AppState,
    user: &user::Model,
    candidate: &Candidate,
    client: &ClientInfo,
) -> Result<bool, AuthError> {
    match candidate {
        Candidate::Totp(step) => Ok(mfa::accept_step(&state.db, user.id, *step, false).await?),
        Candidate::Recovery(digest) => {
            let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
            if !mfa::use_recovery_code(&*txn, user.id, digest).await? {
                return Ok(false);
            }
            let left = mfa::recovery_codes_left(&*txn, user.id).await?;
            txn.record(
                &Event::new(AuthEvent::MfaRecoveryCodeUsed)
                    .company(user.company_id)
                    .actor(user.id)
                    .resource("user", user.id)
                    .details(json!({"recovery_codes_left": left, "ip_address": client.ip_address})),
            )
            .await?;
            txn.commit().await?;
            Ok(true)
        }
        Candidate::Wrong(_) => Ok(false),
    }
}

/// How a guarded code check ended.
enum Checked {
    Right,
    Wrong,
    /// The code was right but the single-use token it came with was used already.
    TokenUsed,
}

/// Checks a code as a sign-in step, under the account's lockout: a wrong one counts like
/// a wrong password and is audited as `MFA_FAILED`. With `claim` (a single-use token's
/// key and lifetime), a right code first claims the token, so a used token spends no code.
async fn guarded_check(
    state: &AppState,
    user: &user::Model,
    code: &str,
    client: &ClientInfo,
    claim: Option<(String, Duration)>,
) -> Result<Checked, AuthError> {
    let check = async {
        let candidate = identify(state, user, code).await?;
        if let Candidate::Wrong(reason) = candidate {
            return Ok(Err(reason));
        }
        if let Some((key, ttl)) = &claim {
            let (uses, _) = state.tokens.hit(key, *ttl).await?;
            if uses > 1 {
                return Ok(Ok(Checked::TokenUsed));
            }
        }
        Ok(if spend(state, user, &candidate, client).await? {
            Ok(Checked::Right)
        } else {
            Err("replayed_code")
        })
    };
    let counted = |r: &Result<Result<Checked, &'static str>, AuthError>| match r {
        Ok(Ok(Checked::Right)) => Attempt::Succeeded,
        Ok(Err(_)) => Attempt::Failed,
        Ok(Ok(Checked::Wrong | Checked::TokenUsed)) | Err(_) => Attempt::Unchecked,
    };
    let reason = match super::passwords::under_lockout(state, user, client, check, counted).await? {
        Gated::Checked(Ok(checked)) => return Ok(checked),
        Gated::Checked(Err(reason)) => reason,
        Gated::Locked(_) => "account_locked",
    };
    failed(state, user, client, reason).await?;
    Ok(Checked::Wrong)
}

async fn failed(
    state: &AppState,
    user: &user::Model,
    client: &ClientInfo,
    reason: &str,
) -> Result<(), AuthError> {
    metrics::counter!("auth_mfa_failures_total").increment(1);
    let event = Event::new(AuthEvent::MfaFailed)
        .company(user.company_id)
        .actor(user.id)
        .resource("user", user.id)
        .details(json!({
            "reason": reason,
            "ip_address": client.ip_address,
            "user_agent": client.user_agent,
        }));
    UnitOfWork::record_alone(&state.db, &state.relay, &event).await?;
    Ok(())
}

/// `POST /auth/mfa/verify`: the second step of a sign-in. The `mfa_token` is single-use
/// and tries at most five wrong codes; wrong codes count toward the account's lockout
/// and the address's sign-in limit.
pub async fn verify(
    state: &AppState,
    mfa_token: &str,
    code: &str,
    client: &ClientInfo,
) -> Result<Limited<Result<SignedIn, AuthError>>, AuthError> {
    let claims = state
        .issuer
        .verify_kinds(mfa_token, &[TokenKind::Mfa])
        .map_err(|_invalid| AuthError::InvalidToken)?;
    let ttl = Duration::from_secs(u64::try_from(claims.exp - claims.iat).unwrap_or(300).max(1));
    let mut limits = vec![super::Limit {
        key: format!("mfa-tries:{}", claims.jti),
        per_window: TRIES_PER_MFA_TOKEN,
        window: ttl,
    }];
    if let Some(ip) = client.ip_address.as_deref() {
        limits.push(super::auth::per_minute(
            format!("login-ip:{ip}"),
            state.login_rate_limit_per_ip,
        ));
    }
    let quota = super::check_limits(state, "authentication code attempts", limits).await?;
    let value = async {
        let user = users::find_in_company(&state.db, claims.company_id, claims.sub)
            .await?
            .filter(|u| u.is_active && u.mfa_enabled)
            .ok_or(AuthError::InvalidToken)?;
        let claim = (format!("mfa-used:{}", claims.jti), ttl);
        match guarded_check(state, &user, code, client, Some(claim)).await? {
            Checked::Right => super::auth::finish_sign_in(state, &user, client).await,
            Checked::Wrong => Err(AuthError::InvalidMfaCode),
            Checked::TokenUsed => Err(AuthError::InvalidToken),
        }
    }
    .await;
    Ok(Limited { value, quota })
}

/// `DELETE /users/me/mfa/totp`: with the password and a code (or a recovery code), MFA
/// goes off, unless the company requires it of the user's role.
pub async fn disable(
    state: &AppState,
    principal: &Principal,
    password: SecretString,
    code: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let caller = Caller::from(principal);
    let user = load(state, &caller).await?;
    if !user.mfa_enabled {
        return Err(AuthError::conflict("MFA is not on"));
    }
    if required_of(state, user.company_id, user.role).await? {
        return Err(AuthError::conflict(
            "Your company requires MFA for your role",
        ));
    }
    super::passwords::prove(state, &user, password, client, "Password is incorrect").await?;
    if !matches!(
        guarded_check(state, &user, code, client, None).await?,
        Checked::Right
    ) {
        return Err(AuthError::BadRequest(INVALID_CODE.to_owned()));
    }
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    mfa::remove(&*txn, user.id).await?;
    mfa::set_enabled(&*txn, user.id, false).await?;
    txn.record(
        &Event::new(AuthEvent::MfaDisabled)
            .company(user.company_id)
            .actor(user.id)
            .resource("user", user.id)
            .details(json!({"method": "totp"})),
    )
    .await?;
    txn.commit().await?;
    super::announce(state, Revocation::User(user.id.into())).await;
    metrics::counter!("auth_mfa_changes_total", "change" => "disabled").increment(1);
    Ok(())
}

fn admin_only(principal: &Principal) -> Result<(), AuthError> {
    if principal.role == Role::Admin {
        Ok(())
    } else {
        Err(AuthError::forbidden(
            "Only admins manage the company's security policy",
        ))
    }
}

/// `GET /company/security`.
pub async fn policy(state: &AppState, principal: &Principal) -> Result<SecurityPolicy, AuthError> {
    admin_only(principal)?;
    let company = companies::find(&state.db, principal.company_id)
        .await?
        .ok_or(AuthError::not_found("Company"))?;
    Ok(SecurityPolicy {
        mfa_required_roles: roles_of(&company.mfa_required_roles),
    })
}

/// `PUT /company/security`.
pub async fn set_policy(
    state: &AppState,
    principal: &Principal,
    policy: SecurityPolicy,
) -> Result<SecurityPolicy, AuthError> {
    admin_only(principal)?;
    let mut roles = policy.mfa_required_roles;
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    let stored = serde_json::to_string(&roles).map_err(|e| AuthError::unexpected(e.into()))?;
    let mut txn = UnitOfWork::begin(&state.db, &state.relay).await?;
    companies::set_mfa_required_roles(&*txn, principal.company_id, stored).await?;
    txn.record(
        &Event::new(AuthEvent::SecurityPolicyChanged)
            .company(principal.company_id)
            .actor(principal.user_id)
            .resource("company", principal.company_id)
            .details(json!({"mfa_required_roles": roles})),
    )
    .await?;
    txn.commit().await?;
    Ok(SecurityPolicy {
        mfa_required_roles: roles,
    })
}
