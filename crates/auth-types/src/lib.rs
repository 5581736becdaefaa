//! The vocabulary every service shares about who is calling: ids, roles, pages, the
//! permission matrix, token claims and the authenticated principal.

mod claims;
pub mod client;
pub mod extract;
mod ids;
mod permissions;
mod principal;

pub use claims::{AUDIENCE, AccessClaims, RefreshClaims, TokenKind};
pub use client::{FeedGate, IntrospectError, IntrospectionClient, PrincipalCache, UserRef};
pub use extract::{Caller, RequiredPage};
pub use ids::{
    CandidateId, CompanyId, InterviewId, RubricId, ScorecardId, SessionId, TokenId, UserId,
};
pub use permissions::{Page, PagePermissions, Role, UnknownName};
pub use principal::{AccessDenied, Principal};
