//! Candidates: who is in the pipeline, and where.

use serde::Deserialize;
use service_runtime::email::Email;
use service_runtime::http::FieldError;
use service_runtime::named_enum;
use service_runtime::validate::{Checks, optional_text, present, text};
use utoipa::ToSchema;

named_enum!(
    /// Where a candidate is in the hiring pipeline.
    CandidateStatus {
        New => "new",
        Screening => "screening",
        Interviewing => "interviewing",
        Offer => "offer",
        Hired => "hired",
        Rejected => "rejected",
    }
);

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCandidate {
    #[schema(min_length = 2, max_length = 200, example = "Grace Hopper")]
    pub full_name: String,
    #[schema(format = Email, min_length = 3, max_length = 254, example = "grace@example.org")]
    pub email: String,
    /// Digits, spaces and `+ - ( ) .`, at least 3 digits.
    #[serde(default)]
    #[schema(
        max_length = 50,
        pattern = "^[0-9 +().-]*[0-9][0-9 +().-]*[0-9][0-9 +().-]*[0-9][0-9 +().-]*$",
        example = "+1 555 0100"
    )]
    pub phone: Option<String>,
    #[serde(default)]
    pub position: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub status: Option<CandidateStatus>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Every field optional; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCandidate {
    pub full_name: Option<String>,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub position: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub status: Option<CandidateStatus>,
}

#[derive(Debug, Clone)]
pub struct NewCandidate {
    pub full_name: String,
    pub email: Email,
    pub phone: Option<String>,
    pub position: Option<String>,
    pub source: Option<String>,
    pub status: CandidateStatus,
    pub notes: Option<String>,
}

#[derive(Debug, Default)]
pub struct CandidateChange {
    pub full_name: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Option<String>>,
    pub position: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub status: Option<CandidateStatus>,
}

pub const NOTES_MAX: usize = 10_000;

fn phone(raw: Option<String>) -> Result<Option<String>, String> {
    let Some(p) = optional_text(raw, 50)? else {
        return Ok(None);
    };
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let allowed = p
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if allowed && digits >= 3 {
        Ok(Some(p))
    } else {
        Err("must be digits, spaces and + - ( ) . with at least 3 digits".into())
    }
}

impl CreateCandidate {
    pub fn validate(self) -> Result<NewCandidate, Vec<FieldError>> {
        let mut c = Checks::default();
        let full_name = c.check("full_name", text(&self.full_name, 2, 200));
        let email = c.check("email", Email::parse(&self.email));
        let phone = c.check("phone", phone(self.phone));
        let position = c.check("position", optional_text(self.position, 200));
        let source = c.check("source", optional_text(self.source, 100));
        let notes = c.check("notes", optional_text(self.notes, NOTES_MAX));
        let status = self.status.unwrap_or(CandidateStatus::New);
        c.finish(|| {
            Some(NewCandidate {
                full_name: full_name?,
                email: email?,
                phone: phone?,
                position: position?,
                source: source?,
                status,
                notes: notes?,
            })
        })
    }
}

impl UpdateCandidate {
    pub fn validate(self) -> Result<CandidateChange, Vec<FieldError>> {
        let mut c = Checks::default();
        let full_name = c.check_opt("full_name", self.full_name, |n| text(&n, 2, 200));
        let email = c.check_opt("email", self.email, |e| Email::parse(&e));
        let phone_ = c.check_opt("phone", self.phone, phone);
        let position = c.check_opt("position", self.position, |p| optional_text(p, 200));
        let source = c.check_opt("source", self.source, |s| optional_text(s, 100));
        let notes = c.check_opt("notes", self.notes, |n| optional_text(n, NOTES_MAX));
        let status = self.status;
        c.finish(|| {
            Some(CandidateChange {
                full_name: full_name?,
                email: email?,
                phone: phone_?,
                position: position?,
                source: source?,
                notes: notes?,
                status,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_candidate_needs_a_name_and_an_email() {
        let req: CreateCandidate =
            serde_json::from_str(r#"{"full_name": "A", "email": "x", "phone": "call me"}"#)
                .unwrap();
        let fields: Vec<_> = req
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["full_name", "email", "phone"]);
    }

    #[test]
    fn defaults_and_normalisation() {
        let req: CreateCandidate =
            serde_json::from_str(r#"{"full_name": " Grace Hopper ", "email": "Grace@Navy.MIL", "phone": "+1 (555) 010-0199", "position": "  "}"#).unwrap();
        let c = req.validate().unwrap();
        assert_eq!(c.full_name, "Grace Hopper");
        assert_eq!(c.email.as_str(), "grace@navy.mil");
        assert_eq!(c.status, CandidateStatus::New);
        assert_eq!(c.position, None);
    }

    #[test]
    fn a_patch_clears_with_null_and_leaves_the_rest() {
        let req: UpdateCandidate =
            serde_json::from_str(r#"{"phone": null, "status": "offer"}"#).unwrap();
        let change = req.validate().unwrap();
        assert_eq!(change.phone, Some(None));
        assert_eq!(change.position, None);
        assert_eq!(change.status, Some(CandidateStatus::Offer));
        assert!(serde_json::from_str::<UpdateCandidate>(r#"{"status": "ghosted"}"#).is_err());
    }
}
