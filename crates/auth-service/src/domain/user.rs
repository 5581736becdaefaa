//! What a client may send to create or change a user, and how it is checked.

use super::Email;
use super::password::check_policy;
use crate::error::AuthError;
use auth_types::Role;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_runtime::error::Failures;
use service_runtime::validate::{Checks, present};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    #[schema(format = Email, min_length = 3, max_length = 254, example = "ada@acme.example")]
    pub email: String,
    #[schema(min_length = 2, max_length = 200, example = "Ada Lovelace")]
    pub full_name: String,
    /// 8 to 128 characters with an upper-case letter, a lower-case letter and a digit.
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$",
        example = "Change-me-1",
        value_type = String
    )]
    pub password: SecretString,
    #[serde(default = "default_role")]
    pub role: Role,
    #[serde(default)]
    pub department: Option<String>,
}

fn default_role() -> Role {
    Role::Viewer
}

/// Every field optional; `department: null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: Option<String>,
    #[schema(min_length = 2, max_length = 200)]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub department: Option<Option<String>>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    /// 8 to 128 characters with an upper-case letter, a lower-case letter and a digit.
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$",
        example = "Change-me-1",
        value_type = Option<String>
    )]
    pub password: Option<SecretString>,
}

/// A validated new user.
#[derive(Debug)]
pub struct NewUser {
    pub email: Email,
    pub full_name: String,
    pub password: SecretString,
    pub role: Role,
    pub department: Option<String>,
}

/// A validated change.
#[derive(Debug, Default)]
pub struct UserChange {
    pub email: Option<Email>,
    pub full_name: Option<String>,
    pub department: Option<Option<String>>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    pub password: Option<SecretString>,
}

pub fn full_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match name.chars().count() {
        0..=1 => Err("must be at least 2 characters".into()),
        2..=200 => Ok(name.to_owned()),
        _ => Err("must be at most 200 characters".into()),
    }
}

fn department(raw: Option<String>) -> Result<Option<String>, String> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) if d.chars().count() > 200 => Err("must be at most 200 characters".into()),
        Some(d) => Ok(Some(d.to_owned())),
    }
}

impl CreateUserRequest {
    pub fn validate(self) -> Result<NewUser, AuthError> {
        let mut c = Checks::default();
        let email = c.check("email", Email::parse(&self.email));
        let full_name = c.check("full_name", full_name(&self.full_name));
        let password = c.check(
            "password",
            super::password_policy::check(
                self.password.expose_secret(),
                Some(&self.email),
                Some(&self.full_name),
            )
            .map_err(|v| v.message())
            .map(|()| self.password),
        );
        let department = c.check("department", department(self.department));
        let role = self.role;
        c.finish(|| {
            Some(NewUser {
                email: email?,
                full_name: full_name?,
                password: password?,
                role,
                department: department?,
            })
        })
        .map_err(AuthError::validation)
    }
}

impl UpdateUserRequest {
    pub fn validate(self) -> Result<UserChange, AuthError> {
        let mut c = Checks::default();
        let email = self.email.map(|e| c.check("email", Email::parse(&e)));
        let full_name = self.full_name.map(|n| c.check("full_name", full_name(&n)));
        let department = self
            .department
            .map(|d| c.check("department", department(d)));
        let password = self
            .password
            .map(|p| c.check("password", check_policy(p.expose_secret()).map(|()| p)));
        let (role, is_active) = (self.role, self.is_active);
        c.finish(|| {
            Some(UserChange {
                email: email.map(|e| e.ok_or(())).transpose().ok()?,
                full_name: full_name.map(|n| n.ok_or(())).transpose().ok()?,
                department: department.map(|d| d.ok_or(())).transpose().ok()?,
                password: password.map(|p| p.ok_or(())).transpose().ok()?,
                role,
                is_active,
            })
        })
        .map_err(AuthError::validation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let req = CreateUserRequest {
            email: "nope".into(),
            full_name: "X".into(),
            password: "short".into(),
            role: Role::Agent,
            department: None,
        };
        let Err(AuthError::Failure(service_runtime::error::Failure::Validation(errors))) =
            req.validate()
        else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "full_name", "password"]);
    }

    #[test]
    fn a_patch_tells_null_from_absent() {
        let cleared: UpdateUserRequest = serde_json::from_str(r#"{"department": null}"#).unwrap();
        assert_eq!(cleared.validate().unwrap().department, Some(None));
        let untouched: UpdateUserRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(untouched.validate().unwrap().department, None);
    }
}
