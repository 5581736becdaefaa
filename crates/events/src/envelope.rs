//! The event envelope (version 1) and the notification message.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const VERSION: u16 = 1;

/// Something that happened, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// UUIDv7; the audit log's primary key, so a redelivered event is stored once.
    pub id: Uuid,
    pub version: u16,
    /// `LOGIN`, `USER_CREATED`, `INTERVIEW_CANCELLED`, ...
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub company_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    #[serde(default)]
    pub details: serde_json::Value,
    /// The service that emitted it.
    pub source: String,
    /// W3C `traceparent` of the request that caused it.
    #[serde(default)]
    pub traceparent: Option<String>,
}

/// One type of event a service emits (see [`crate::event_types!`]).
pub trait EventType: Copy {
    /// The emitting service: the envelope's `source`.
    const SOURCE: &'static str;
    /// The wire name, e.g. `LOGIN`.
    fn name(self) -> &'static str;
}

impl Event {
    /// An event of one of a service's types, with its `source`.
    pub fn new<K: EventType>(kind: K) -> Self {
        Self::untyped(K::SOURCE, kind.name())
    }

    /// An event of any source and type: for what no service emits, such as the messages
    /// tests and benchmarks build to probe the audit-writer.
    pub fn untyped(source: &str, kind: &str) -> Self {
        Self {
            id: Uuid::now_v7(),
            version: VERSION,
            kind: kind.to_owned(),
            time: OffsetDateTime::now_utc(),
            company_id: None,
            actor_user_id: None,
            resource_type: None,
            resource_id: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
            source: source.to_owned(),
            traceparent: None,
        }
    }

    pub fn company(mut self, id: impl Into<Uuid>) -> Self {
        self.company_id = Some(id.into());
        self
    }

    pub fn actor(mut self, id: impl Into<Uuid>) -> Self {
        self.actor_user_id = Some(id.into());
        self
    }

    pub fn resource(mut self, kind: &str, id: impl ToString) -> Self {
        self.resource_type = Some(kind.to_owned());
        self.resource_id = Some(id.to_string());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// `event.<source>.<type>`: the audit queue takes `event.#`.
    pub fn routing_key(&self) -> String {
        format!("event.{}.{}", self.source, self.kind.to_ascii_lowercase())
    }
}

/// A message for one user (interview scheduled, moved or cancelled; scorecard submitted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: Uuid,
    pub version: u16,
    pub company_id: Uuid,
    pub user_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// The interview it concerns, if any (absent in messages of earlier releases).
    #[serde(default)]
    pub interview_id: Option<Uuid>,
    /// The candidate it concerns, if any.
    #[serde(default)]
    pub candidate_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

impl Notification {
    pub fn new(
        company: impl Into<Uuid>,
        user: impl Into<Uuid>,
        kind: impl EventType,
        title: String,
        body: String,
    ) -> Self {
        Self::untyped(company, user, kind.name(), title, body)
    }

    /// A notification of any type (tests and benchmarks).
    pub fn untyped(
        company: impl Into<Uuid>,
        user: impl Into<Uuid>,
        kind: &str,
        title: String,
        body: String,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            version: VERSION,
            company_id: company.into(),
            user_id: user.into(),
            kind: kind.to_owned(),
            title,
            body,
            resource_type: None,
            resource_id: None,
            interview_id: None,
            candidate_id: None,
            time: OffsetDateTime::now_utc(),
        }
    }

    pub fn resource(mut self, kind: &str, id: impl ToString) -> Self {
        self.resource_type = Some(kind.to_owned());
        self.resource_id = Some(id.to_string());
        self
    }

    /// The interview and the candidate the notification concerns.
    pub fn concerning(mut self, interview: impl Into<Uuid>, candidate: impl Into<Uuid>) -> Self {
        self.interview_id = Some(interview.into());
        self.candidate_id = Some(candidate.into());
        self
    }

    /// `notification.<type>`: the notification queue takes `notification.#`.
    pub fn routing_key(&self) -> String {
        format!("notification.{}", self.kind.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_round_trips_with_its_wire_names() {
        let e = Event::untyped("auth", "LOGIN")
            .company(Uuid::nil())
            .actor(Uuid::nil())
            .resource("user", Uuid::nil())
            .details(serde_json::json!({"ip": "127.0.0.1"}));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "LOGIN");
        assert_eq!(json["version"], 1);
        assert!(json["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), e);
        assert_eq!(e.routing_key(), "event.auth.login");
    }
}
