//! Issuing and verifying the two JWT kinds. The algorithm is fixed to HS256 on both
//! sides, so `alg=none` and algorithm confusion are refused; `typ` is checked, so a
//! refresh token never passes as an access token or the other way round.

use auth_types::{
    AccessClaims, CompanyId, RefreshClaims, Role, SessionId, TokenId, TokenKind, UserId,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use time::OffsetDateTime;

/// Why a token was refused goes to the debug log (expired, bad signature, wrong
/// audience); the client only learns that it was.
fn refused(e: jsonwebtoken::errors::Error) -> TokenError {
    tracing::debug!(reason = %e, "token refused");
    TokenError::Invalid
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, wrong algorithm, expired, malformed or of the wrong kind.
    #[error("invalid token")]
    Invalid,
    #[error("could not sign a token: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

/// A freshly issued access/refresh pair.
#[derive(Debug, Clone)]
pub struct IssuedPair {
    pub access_token: String,
    pub access: AccessClaims,
    pub refresh_token: String,
    pub refresh: RefreshClaims,
}

#[derive(Clone)]
pub struct TokenIssuer {
    issuer: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
    session: SessionLimits,
}

/// How long a session may live: from its sign-in at most `max` (`SESSION_MAX_DAYS`),
/// and at most `idle` between two refreshes (`SESSION_IDLE_MINUTES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    pub max: Duration,
    pub idle: Duration,
}

impl TokenIssuer {
    pub fn new(
        secret: &SecretString,
        issuer: &str,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Self {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[auth_types::AUDIENCE]);
        Self {
            issuer: issuer.to_owned(),
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            access_ttl,
            refresh_ttl,
            session: SessionLimits {
                max: Duration::from_secs(30 * 86_400),
                idle: refresh_ttl,
            },
        }
    }

    /// Sessions end `limits.max` after their sign-in and after `limits.idle` unused.
    pub fn with_session_limits(mut self, limits: SessionLimits) -> Self {
        self.session = limits;
        self
    }

    /// Whether a session that began at `started` and was last refreshed at `refreshed`
    /// (unix seconds) has outlived either limit at `now`.
    pub fn session_over(&self, started: i64, refreshed: i64, now: i64) -> bool {
        now >= started.saturating_add(secs(self.session.max))
            || now >= refreshed.saturating_add(secs(self.session.idle))
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    pub fn issue_pair(
        &self,
        user: UserId,
        company: CompanyId,
        role: Role,
        session: SessionId,
        started: Option<i64>,
    ) -> Result<IssuedPair, TokenError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let started = started.unwrap_or(now);
        // No token outlives its session; a refresh token also dies when left idle.
        let session_end = started.saturating_add(secs(self.session.max));
        let access_exp = now.saturating_add(secs(self.access_ttl)).min(session_end);
        let refresh_exp = now
            .saturating_add(secs(self.refresh_ttl))
            .min(now.saturating_add(secs(self.session.idle)))
            .min(session_end);
        let access = AccessClaims {
            iss: self.issuer.clone(),
            aud: auth_types::AUDIENCE.to_owned(),
            sub: user,
            company_id: company,
            role,
            jti: TokenId::new(),
            sid: session,
            iat: now,
            exp: access_exp,
            typ: TokenKind::Access,
        };
        let refresh = RefreshClaims {
            iss: self.issuer.clone(),
            aud: auth_types::AUDIENCE.to_owned(),
            sub: user,
            company_id: company,
            jti: TokenId::new(),
            fam: session,
            iat: now,
            exp: refresh_exp,
            typ: TokenKind::Refresh,
            auth_time: Some(started),
        };
        let header = Header::new(Algorithm::HS256);
        Ok(IssuedPair {
            access_token: jsonwebtoken::encode(&header, &access, &self.encoding)?,
            refresh_token: jsonwebtoken::encode(&header, &refresh, &self.encoding)?,
            access,
            refresh,
        })
    }

    /// A token of restricted use (`kind` is neither `Access` nor `Refresh`) for a user who
    /// is half-way through signing in: it opens no session and lives `ttl`.
    pub fn issue_restricted(
        &self,
        kind: TokenKind,
        user: UserId,
        company: CompanyId,
        role: Role,
        ttl: Duration,
    ) -> Result<(String, AccessClaims), TokenError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: auth_types::AUDIENCE.to_owned(),
            sub: user,
            company_id: company,
            role,
            jti: TokenId::new(),
            sid: SessionId::new(),
            iat: now,
            exp: now.saturating_add(secs(ttl)),
            typ: kind,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// An access-shaped token of one of `kinds`.
    pub fn verify_kinds(
        &self,
        token: &str,
        kinds: &[TokenKind],
    ) -> Result<AccessClaims, TokenError> {
        let claims: AccessClaims = jsonwebtoken::decode(token, &self.decoding, &self.validation)
            .map_err(refused)?
            .claims;
        if kinds.contains(&claims.typ) && claims.typ != TokenKind::Refresh {
            Ok(claims)
        } else {
            Err(TokenError::Invalid)
        }
    }

    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let claims: AccessClaims = jsonwebtoken::decode(token, &self.decoding, &self.validation)
            .map_err(refused)?
            .claims;
        match claims.typ {
            TokenKind::Access => Ok(claims),
            TokenKind::Refresh
            | TokenKind::PasswordChange
            | TokenKind::Mfa
            | TokenKind::MfaEnrolment => Err(TokenError::Invalid),
        }
    }

    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError> {
        let claims: RefreshClaims = jsonwebtoken::decode(token, &self.decoding, &self.validation)
            .map_err(refused)?
            .claims;
        match claims.typ {
            TokenKind::Refresh => Ok(claims),
            TokenKind::Access
            | TokenKind::PasswordChange
            | TokenKind::Mfa
            | TokenKind::MfaEnrolment => Err(TokenError::Invalid),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn issuer(secret: &str) -> TokenIssuer {
        TokenIssuer::new(
            &SecretString::from(secret.to_owned()),
            "auth",
            Duration::from_secs(900),
            Duration::from_secs(604_800),
        )
    }

    fn pair(i: &TokenIssuer) -> IssuedPair {
        i.issue_pair(
            UserId::new(),
            CompanyId::new(),
            Role::Agent,
            SessionId::new(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn no_token_outlives_its_session_and_an_idle_refresh_token_expires() {
        let limits = SessionLimits {
            max: Duration::from_secs(3600),
            idle: Duration::from_secs(600),
        };
        let i = issuer("0123456789abcdef0123456789abcdef").with_session_limits(limits);
        let fresh = pair(&i);
        assert_eq!(
            fresh.refresh.exp - fresh.refresh.iat,
            600,
            "idle bounds the refresh"
        );
        assert_eq!(fresh.refresh.auth_time, Some(fresh.refresh.iat));
        // A session signed in 59 minutes ago: both tokens end with it, a minute from now.
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let old = i
            .issue_pair(
                UserId::new(),
                CompanyId::new(),
                Role::Agent,
                SessionId::new(),
                Some(now - 59 * 60),
            )
            .unwrap();
        assert_eq!(old.refresh.exp, now - 59 * 60 + 3600);
        assert_eq!(old.access.exp, now - 59 * 60 + 3600);
        assert_eq!(old.refresh.auth_time, Some(now - 59 * 60));
        assert!(!i.session_over(now - 59 * 60, now, now));
        assert!(
            i.session_over(now - 3600, now, now),
            "past the absolute limit"
        );
        assert!(i.session_over(now - 60, now - 600, now), "idle too long");
    }

    #[test]
    fn a_pair_verifies_as_its_own_kind_only() {
        let i = issuer("an-example-secret-that-is-long-enough-32");
        let p = pair(&i);
        assert_eq!(i.verify_access(&p.access_token).unwrap(), p.access);
        assert_eq!(i.verify_refresh(&p.refresh_token).unwrap(), p.refresh);
        assert!(i.verify_access(&p.refresh_token).is_err());
        assert!(i.verify_refresh(&p.access_token).is_err());
        assert_eq!(p.access.exp - p.access.iat, 900);
        assert_eq!(p.refresh.exp - p.refresh.iat, 604_800);
    }

    #[test]
    fn another_key_or_alg_none_is_refused() {
        let i = issuer("an-example-secret-that-is-long-enough-32");
        let other = issuer("a-different-secret-that-is-long-enough-32");
        let p = pair(&other);
        assert!(i.verify_access(&p.access_token).is_err());

        let payload = p.access_token.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(i.verify_access(&format!("{header}.{payload}.")).is_err());
        assert!(i.verify_access(&format!("{header}.{payload}")).is_err());
    }

    #[test]
    fn another_issuer_or_audience_is_refused() {
        let key = SecretString::from("an-example-secret-that-is-long-enough-32".to_owned());
        let ttl = Duration::from_secs(900);
        let ours = TokenIssuer::new(&key, "auth", ttl, ttl);
        let theirs = TokenIssuer::new(&key, "another-issuer", ttl, ttl);
        assert!(ours.verify_access(&pair(&theirs).access_token).is_err());
        let mut claims = pair(&ours).access;
        claims.aud = "someone-else".into();
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &ours.encoding).unwrap();
        assert!(ours.verify_access(&token).is_err());
        claims.aud = auth_types::AUDIENCE.into();
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &ours.encoding).unwrap();
        assert!(ours.verify_access(&token).is_ok());
    }

    #[test]
    fn a_restricted_token_passes_only_where_its_kind_is_asked_for() {
        let i = issuer("an-example-secret-that-is-long-enough-32");
        let (token, claims) = i
            .issue_restricted(
                TokenKind::Mfa,
                UserId::new(),
                CompanyId::new(),
                Role::Agent,
                Duration::from_secs(300),
            )
            .unwrap();
        assert_eq!(claims.exp - claims.iat, 300);
        assert!(i.verify_access(&token).is_err(), "never an access token");
        assert!(i.verify_refresh(&token).is_err());
        assert!(
            i.verify_kinds(&token, &[TokenKind::PasswordChange])
                .is_err()
        );
        assert_eq!(i.verify_kinds(&token, &[TokenKind::Mfa]).unwrap(), claims);
        let p = pair(&i);
        assert!(i.verify_kinds(&p.access_token, &[TokenKind::Mfa]).is_err());
        assert!(
            i.verify_kinds(&p.refresh_token, &[TokenKind::Refresh])
                .is_err()
        );
    }

    #[test]
    fn garbage_is_refused() {
        let i = issuer("an-example-secret-that-is-long-enough-32");
        for t in ["", "a.b.c", "not a token", "....."] {
            assert!(i.verify_access(t).is_err());
        }
    }
}
