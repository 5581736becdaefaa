//! Roles, pages and the default page-permission matrix of the security document, with
//! per-user overrides on top.

use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

pub use service_runtime::UnknownName;

/// Stored as its name (`users.role`); entities hold the enum.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, DeriveValueType,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(value_type = "String")]
pub enum Role {
    Admin,
    Manager,
    Agent,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Agent, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Agent => "agent",
            Role::Viewer => "viewer",
        }
    }

    /// Whether the role may change data at all; a viewer only reads.
    pub fn can_write(self) -> bool {
        !matches!(self, Role::Viewer)
    }

    /// The default matrix (security document, "Default Permissions Matrix").
    pub fn default_access(self, page: Page) -> bool {
        match (self, page) {
            (Role::Admin, _) => true,
            (Role::Manager, Page::UserManagement) => false,
            (Role::Manager, _) => true,
            (Role::Agent, Page::Candidates | Page::UserManagement) => false,
            (Role::Agent, _) => true,
            (Role::Viewer, Page::Dashboard | Page::Settings) => true,
            (Role::Viewer, _) => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "role",
                name: s.to_owned(),
            })
    }
}

/// Stored as its name (`user_page_access.page_name`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    DeriveValueType,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(value_type = "String")]
pub enum Page {
    Dashboard,
    Interviews,
    Candidates,
    Calls,
    Settings,
    UserManagement,
}

impl Page {
    pub const ALL: [Page; 6] = [
        Page::Dashboard,
        Page::Interviews,
        Page::Candidates,
        Page::Calls,
        Page::Settings,
        Page::UserManagement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Page::Dashboard => "dashboard",
            Page::Interviews => "interviews",
            Page::Candidates => "candidates",
            Page::Calls => "calls",
            Page::Settings => "settings",
            Page::UserManagement => "user_management",
        }
    }
}

impl fmt::Display for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Page {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Page::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "page",
                name: s.to_owned(),
            })
    }
}

/// The effective page map of one user: every page, granted or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct PagePermissions(BTreeMap<Page, bool>);

impl PagePermissions {
    /// The role's defaults with the user's overrides applied on top.
    pub fn effective(role: Role, overrides: impl IntoIterator<Item = (Page, bool)>) -> Self {
        let mut map: BTreeMap<Page, bool> = Page::ALL
            .into_iter()
            .map(|p| (p, role.default_access(p)))
            .collect();
        map.extend(overrides);
        Self(map)
    }

    pub fn allows(&self, page: Page) -> bool {
        self.0.get(&page).copied().unwrap_or(false)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Page, bool)> + '_ {
        self.0.iter().map(|(p, a)| (*p, *a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_matrix_matches_the_security_document() {
        use Page::*;
        let expected = [
            (Role::Admin, [true, true, true, true, true, true]),
            (Role::Manager, [true, true, true, true, true, false]),
            (Role::Agent, [true, true, false, true, true, false]),
            (Role::Viewer, [true, false, false, false, true, false]),
        ];
        let pages = [
            Dashboard,
            Interviews,
            Candidates,
            Calls,
            Settings,
            UserManagement,
        ];
        for (role, row) in expected {
            for (page, want) in pages.iter().zip(row) {
                assert_eq!(role.default_access(*page), want, "{role} on {page}");
            }
        }
    }

    #[test]
    fn an_override_wins_over_the_role_default() {
        let perms = PagePermissions::effective(
            Role::Agent,
            [(Page::Candidates, true), (Page::Calls, false)],
        );
        assert!(perms.allows(Page::Candidates));
        assert!(!perms.allows(Page::Calls));
        assert!(perms.allows(Page::Dashboard));
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for page in Page::ALL {
            assert_eq!(page.as_str().parse::<Page>(), Ok(page));
        }
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
        assert!("users".parse::<Page>().is_err());
    }

    #[test]
    fn the_effective_map_serialises_as_page_to_bool() {
        let perms = PagePermissions::effective(Role::Viewer, []);
        let json = serde_json::to_value(&perms).unwrap();
        assert_eq!(json["user_management"], false);
        assert_eq!(json["dashboard"], true);
        assert_eq!(json.as_object().unwrap().len(), 6);
    }
}
