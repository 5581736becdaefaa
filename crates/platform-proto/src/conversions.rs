//! Proto ↔ Rust conversions every side of a contract shares: ids parsed once, with the
//! field named, and the interview facts the scoring service works from, typed.

use crate::ids::{CandidateId, InterviewId, UserId};
use crate::interview::v1::{Interview, InterviewStatus};
use uuid::Uuid;

/// A field of a message that does not hold what the contract says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is not {expected}")]
pub struct Malformed {
    pub field: &'static str,
    pub expected: &'static str,
}

impl From<Malformed> for tonic::Status {
    fn from(e: Malformed) -> Self {
        tonic::Status::invalid_argument(e.to_string())
    }
}

/// A UUID field of a request or an answer.
#[expect(
    clippy::map_err_ignore,
    reason = "the field's name and what it should hold are the message; the parser's detail is noise"
)]
pub fn uuid(field: &'static str, raw: &str) -> Result<Uuid, Malformed> {
    raw.parse().map_err(|_| Malformed {
        field,
        expected: "a UUID",
    })
}

/// A typed id field (`UserId`, `InterviewId`, ...) of a request or an answer.
pub fn id<T: From<Uuid>>(field: &'static str, raw: &str) -> Result<T, Malformed> {
    uuid(field, raw).map(T::from)
}

/// What the scoring service needs to know about an interview, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterviewFacts {
    pub id: InterviewId,
    pub candidate_id: CandidateId,
    pub status: InterviewStatus,
    pub interviewer_ids: Vec<UserId>,
    pub created_by: UserId,
    pub title: String,
}

impl InterviewFacts {
    /// Started or finished: the interview can be scored.
    pub fn is_scorable(&self) -> bool {
        matches!(
            self.status,
            InterviewStatus::InProgress | InterviewStatus::Completed
        )
    }
}

impl TryFrom<Interview> for InterviewFacts {
    type Error = Malformed;

    fn try_from(m: Interview) -> Result<Self, Malformed> {
        let status = InterviewStatus::try_from(m.status)
            .ok()
            .filter(|s| *s != InterviewStatus::Unspecified)
            .ok_or(Malformed {
                field: "status",
                expected: "an interview status",
            })?;
        Ok(Self {
            id: id("id", &m.id)?,
            candidate_id: id("candidate_id", &m.candidate_id)?,
            status,
            interviewer_ids: m
                .interviewer_ids
                .iter()
                .map(|raw| id("interviewer_ids", raw))
                .collect::<Result<_, _>>()?,
            created_by: id("created_by", &m.created_by)?,
            title: m.title,
        })
    }
}

/// The status's name as the HTTP API and the events write it.
pub fn status_name(status: InterviewStatus) -> &'static str {
    match status {
        InterviewStatus::Unspecified => "unspecified",
        InterviewStatus::Scheduled => "scheduled",
        InterviewStatus::InProgress => "in_progress",
        InterviewStatus::Completed => "completed",
        InterviewStatus::Cancelled => "cancelled",
        InterviewStatus::NoShow => "no_show",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Interview {
        Interview {
            id: Uuid::from_u128(1).to_string(),
            company_id: Uuid::from_u128(2).to_string(),
            candidate_id: Uuid::from_u128(3).to_string(),
            interviewer_ids: vec![Uuid::from_u128(4).to_string()],
            title: "Loop".into(),
            kind: crate::interview::v1::InterviewKind::Onsite.into(),
            status: InterviewStatus::Completed.into(),
            scheduled_at: "2030-01-01T09:00:00Z".into(),
            duration_minutes: 60,
            created_by: Uuid::from_u128(5).to_string(),
        }
    }

    #[test]
    fn a_well_formed_interview_becomes_typed_facts() {
        let facts = InterviewFacts::try_from(message()).unwrap();
        assert_eq!(facts.interviewer_ids, [UserId(Uuid::from_u128(4))]);
        assert_eq!(facts.created_by, UserId(Uuid::from_u128(5)));
        assert_eq!(facts.id, InterviewId(Uuid::from_u128(1)));
        assert!(facts.is_scorable());
        assert_eq!(status_name(facts.status), "completed");
    }

    #[test]
    fn malformed_fields_are_named() {
        let mut m = message();
        m.interviewer_ids.push("nope".into());
        assert_eq!(
            InterviewFacts::try_from(m).unwrap_err().field,
            "interviewer_ids"
        );
        let mut m = message();
        m.status = 42;
        assert_eq!(InterviewFacts::try_from(m).unwrap_err().field, "status");
        let mut m = message();
        m.status = 0;
        assert_eq!(InterviewFacts::try_from(m).unwrap_err().field, "status");
    }
}
