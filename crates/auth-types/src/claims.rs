//! The claims of the two token kinds (ARCHITECTURE "Tokens and sessions").

use crate::{CompanyId, Role, SessionId, TokenId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
    /// Accepted only by the password-change endpoint: a sign-in whose password expired
    /// (`PASSWORD_MAX_AGE_DAYS`) or was set by an admin.
    PasswordChange,
    /// The `mfa_token` of a sign-in waiting for its second factor.
    Mfa,
    /// Accepted only by the TOTP enrolment endpoints: a sign-in of a role the company
    /// requires MFA of, by a user who has none yet.
    MfaEnrolment,
}

/// The audience of every token auth issues: the services of this platform.
pub const AUDIENCE: &str = "ai-interviewer-platform";

/// A short-lived access token, sent as `Authorization: Bearer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Who issued it (`TOKEN_ISSUER`), checked on every use (RFC 8725 §3.8).
    pub iss: String,
    /// Who it is for: the platform's services ([`AUDIENCE`]).
    pub aud: String,
    pub sub: UserId,
    pub company_id: CompanyId,
    pub role: Role,
    pub jti: TokenId,
    /// The session (refresh-token family) this token was issued in; logout revokes it.
    pub sid: SessionId,
    pub iat: i64,
    pub exp: i64,
    pub typ: TokenKind,
}

/// A long-lived refresh token; rotated on every use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub iss: String,
    pub aud: String,
    pub sub: UserId,
    pub company_id: CompanyId,
    pub jti: TokenId,
    /// The session family: every token rotated from one login shares it.
    pub fam: SessionId,
    pub iat: i64,
    pub exp: i64,
    pub typ: TokenKind,
    /// When the session began (the sign-in, OIDC's `auth_time`): carried through every
    /// rotation, so `SESSION_MAX_DAYS` ends a session however often it is refreshed.
    /// Absent in tokens of earlier releases, which then count from their `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}
