//! Erasure (GDPR right to erasure): when auth erases a user (`USER_ERASED`) or interview a
//! candidate (`CANDIDATE_ERASED`), the writer deletes the person's personal data from
//! `audit_pii` and from the notifications, in the transaction that stores the event. The
//! chain keeps every row: their links cover the PII-free details and the digests, not the
//! data ([`crate::chain`]), so the verifier counts the rows as erased, not broken.

use crate::store::{audit, notifications, pii};
use events::Event;
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

/// Auth erased a user: resource `("user", id)`.
pub const USER_ERASED: &str = "USER_ERASED";
/// Interview erased a candidate: resource `("candidate", id)`.
pub const CANDIDATE_ERASED: &str = "CANDIDATE_ERASED";

/// Terms shorter than this are ignored: they would hit unrelated text.
pub const MIN_TERM_CHARS: usize = 3;

/// Whose data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    User(Uuid),
    Candidate(Uuid),
}

/// What an erasure event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub company: Uuid,
    pub subject: Subject,
    /// `details.erase_terms` (the person's name, email, ...): trimmed, without the short
    /// ones and repeats, longest first (so a name goes before a part of it).
    pub terms: Vec<String>,
}

impl Erasure {
    /// The erasure `e` asks for, if it is one: the type, its source's service, its company
    /// and its subject as the resource. An erasure event that lacks any of them erases
    /// nothing (and is logged); it is stored like any event.
    pub fn of(e: &Event) -> Option<Self> {
        let (source, resource, subject): (&str, &str, fn(Uuid) -> Subject) = match e.kind.as_str() {
            USER_ERASED => ("auth", "user", Subject::User),
            CANDIDATE_ERASED => ("interview", "candidate", Subject::Candidate),
            _ => return None,
        };
        let id = e
            .resource_id
            .as_deref()
            .and_then(|id| id.parse::<Uuid>().ok());
        let (Some(company), Some(id), true, true) = (
            e.company_id,
            id,
            e.source == source,
            e.resource_type.as_deref() == Some(resource),
        ) else {
            tracing::warn!(event_id = %e.id, kind = %e.kind, source = %e.source,
                "an erasure event without its source, company or subject: nothing erased");
            return None;
        };
        Some(Self {
            company,
            subject: subject(id),
            terms: terms(&e.details),
        })
    }
}

/// The usable `erase_terms` of `details`.
fn terms(details: &serde_json::Value) -> Vec<String> {
    let mut terms: Vec<String> = details
        .get("erase_terms")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|t| t.chars().count() >= MIN_TERM_CHARS)
        .map(str::to_owned)
        .collect();
    terms.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
    terms.dedup();
    terms
}

/// Carries out an erasure (idempotent): the personal data of the company's rows about the
/// subject (the erasure event's own terms included), that of rows of no company holding
/// one of the terms, a user's own notifications, and the terms in the company's other
/// notifications.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn apply(db: &impl ConnectionTrait, erasure: &Erasure) -> Result<(), DbErr> {
    let company = erasure.company;
    let (about, kind) = match erasure.subject {
        Subject::User(user) => (audit::about_user(user), "user"),
        Subject::Candidate(candidate) => (audit::about_candidate(candidate, &[]), "candidate"),
    };
    let mut erased = pii::delete_about(db, company, about).await?;
    erased += pii::delete_of_no_company_matching(db, &erasure.terms).await?;
    let mut notes = 0;
    if let Subject::User(user) = erasure.subject {
        notes += notifications::delete_to_user(db, company, user).await?;
    }
    notes += notifications::scrub(db, company, &erasure.terms).await?;
    tracing::info!(%company, subject = kind, audit_rows = erased, notifications = notes, "erased personal data");
    metrics::counter!("audit_erasures_total", "subject" => kind).increment(1);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user_erased(terms: serde_json::Value) -> Event {
        Event::untyped("auth", USER_ERASED)
            .company(Uuid::from_u128(1))
            .actor(Uuid::from_u128(2))
            .resource("user", Uuid::from_u128(3))
            .details(json!({"erase_terms": terms, "sessions_ended": 2}))
    }

    #[test]
    fn an_erasure_event_names_its_subject_and_usable_terms() {
        let e = user_erased(json!([
            " Ada Lovelace ",
            "ada@example.com",
            "Ad",
            "",
            7,
            "Ada Lovelace"
        ]));
        assert_eq!(
            Erasure::of(&e),
            Some(Erasure {
                company: Uuid::from_u128(1),
                subject: Subject::User(Uuid::from_u128(3)),
                terms: vec!["ada@example.com".to_owned(), "Ada Lovelace".to_owned()],
            })
        );
        let c = Event::untyped("interview", CANDIDATE_ERASED)
            .company(Uuid::from_u128(1))
            .resource("candidate", Uuid::from_u128(4));
        assert_eq!(
            Erasure::of(&c).map(|e| (e.subject, e.terms)),
            Some((Subject::Candidate(Uuid::from_u128(4)), Vec::new()))
        );
    }

    #[test]
    fn only_its_own_service_may_erase_and_only_a_named_subject() {
        let mut wrong_source = user_erased(json!(["Ada Lovelace"]));
        wrong_source.source = "interview".into();
        let mut no_company = user_erased(json!(["Ada Lovelace"]));
        no_company.company_id = None;
        let wrong_resource = user_erased(json!([])).resource("candidate", Uuid::from_u128(3));
        let bad_id = user_erased(json!([])).resource("user", "not-a-uuid");
        let other = Event::untyped("auth", "USER_UPDATED").resource("user", Uuid::from_u128(3));
        for e in [wrong_source, no_company, wrong_resource, bad_id, other] {
            assert_eq!(Erasure::of(&e), None, "{e:?}");
        }
    }
}
