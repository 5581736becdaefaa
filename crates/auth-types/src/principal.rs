//! The authenticated caller, as every service sees it after the token was checked.

use crate::{CompanyId, Page, PagePermissions, Role, SessionId, TokenId, UserId};

/// Why a principal may not do what it asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    #[error("Access denied to {0}")]
    Page(Page),
    #[error("Read-only users cannot make changes")]
    ReadOnly,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub company_id: CompanyId,
    pub role: Role,
    pub permissions: PagePermissions,
    pub session_id: SessionId,
    pub token_id: TokenId,
    /// When the access token was issued (seconds since the epoch).
    pub issued_at: i64,
    /// When the access token expires (seconds since the epoch).
    pub expires_at: i64,
}

impl Principal {
    /// Puts the caller on the request's span (its `user_id` and `company_id` fields), so
    /// every line logged for the request says whose it was.
    pub fn record_on_span(&self) {
        let span = tracing::Span::current();
        span.record("user_id", tracing::field::display(self.user_id));
        span.record("company_id", tracing::field::display(self.company_id));
    }

    /// May read the page.
    pub fn require_page(&self, page: Page) -> Result<(), AccessDenied> {
        if self.permissions.allows(page) {
            Ok(())
        } else {
            Err(AccessDenied::Page(page))
        }
    }

    /// May change data on the page: the page is granted and the role is not read-only.
    pub fn require_write(&self, page: Page) -> Result<(), AccessDenied> {
        self.require_page(page)?;
        if self.role.can_write() {
            Ok(())
        } else {
            Err(AccessDenied::ReadOnly)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, overrides: Vec<(Page, bool)>) -> Principal {
        Principal {
            user_id: UserId::new(),
            company_id: CompanyId::new(),
            role,
            permissions: PagePermissions::effective(role, overrides),
            session_id: SessionId::new(),
            token_id: TokenId::new(),
            issued_at: 0,
            expires_at: 0,
        }
    }

    #[test]
    fn a_viewer_reads_a_granted_page_but_never_writes() {
        let viewer = principal(Role::Viewer, vec![(Page::Candidates, true)]);
        assert_eq!(viewer.require_page(Page::Candidates), Ok(()));
        assert_eq!(
            viewer.require_write(Page::Candidates),
            Err(AccessDenied::ReadOnly)
        );
    }

    #[test]
    fn a_page_outside_the_map_is_denied() {
        let agent = principal(Role::Agent, vec![]);
        assert_eq!(
            agent.require_page(Page::Candidates),
            Err(AccessDenied::Page(Page::Candidates))
        );
        assert_eq!(agent.require_write(Page::Interviews), Ok(()));
    }
}
