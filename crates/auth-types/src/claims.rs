//! The claims of the two token kinds (ARCHITECTURE "Tokens and sessions").

use crate::{CompanyId, Role, SessionId, TokenId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// A short-lived access token, sent as `Authorization: Bearer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
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
    pub sub: UserId,
    pub company_id: CompanyId,
    pub jti: TokenId,
    /// The session family: every token rotated from one login shares it.
    pub fam: SessionId,
    pub iat: i64,
    pub exp: i64,
    pub typ: TokenKind,
}
