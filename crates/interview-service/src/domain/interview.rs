//! Interviews: what is scheduled, with whom, and the lifecycle a scheduler allows.

use auth_types::{CandidateId, UserId};
use serde::Deserialize;
use service_runtime::http::FieldError;
use service_runtime::named_enum;
use service_runtime::validate::{Checks, optional_text, present, text};
use time::{Duration, OffsetDateTime, UtcOffset};
use utoipa::ToSchema;

named_enum!(
    InterviewKind {
        Phone => "phone",
        Video => "video",
        Onsite => "onsite",
        Ai => "ai",
    }
);

named_enum!(
    InterviewStatus {
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Completed => "completed",
        Cancelled => "cancelled",
        NoShow => "no_show",
    }
);

/// The lifecycle actions (`POST /interviews/{id}/<action>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    Complete,
    Cancel,
    NoShow,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Complete => "complete",
            Action::Cancel => "cancel",
            Action::NoShow => "no-show",
        }
    }
}

impl InterviewStatus {
    /// Where `action` takes an interview in this status, or why it cannot.
    ///
    /// | from        | start       | complete  | cancel    | no-show |
    /// |-------------|-------------|-----------|-----------|---------|
    /// | scheduled   | in_progress | completed | cancelled | no_show |
    /// | in_progress | —           | completed | cancelled | —       |
    /// | completed, cancelled, no_show: final |
    pub fn apply(self, action: Action) -> Result<InterviewStatus, String> {
        use InterviewStatus::*;
        match (self, action) {
            (Scheduled, Action::Start) => Ok(InProgress),
            (Scheduled | InProgress, Action::Complete) => Ok(Completed),
            (Scheduled | InProgress, Action::Cancel) => Ok(Cancelled),
            (Scheduled, Action::NoShow) => Ok(NoShow),
            (InProgress, Action::Start | Action::NoShow) | (Completed | Cancelled | NoShow, _) => {
                Err(format!(
                    "Cannot {} an interview that is {}",
                    action.as_str(),
                    self.as_str()
                ))
            }
        }
    }

    /// Whether the interview still holds its interviewers' time.
    pub fn blocks_calendar(self) -> bool {
        matches!(
            self,
            InterviewStatus::Scheduled | InterviewStatus::InProgress
        )
    }
}

pub const MAX_INTERVIEWERS: usize = 20;
pub const DURATION_MINUTES: std::ops::RangeInclusive<u32> = 5..=480;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateInterview {
    pub candidate_id: CandidateId,
    /// 1 to 20 active users of your company.
    #[schema(min_items = 1, max_items = 20)]
    pub interviewer_ids: Vec<UserId>,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub kind: InterviewKind,
    /// RFC 3339; stored in UTC, to the second.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_at: OffsetDateTime,
    #[schema(minimum = 5, maximum = 480)]
    pub duration_minutes: u32,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub meeting_url: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInterview {
    pub interviewer_ids: Option<Vec<UserId>>,
    pub title: Option<String>,
    pub kind: Option<InterviewKind>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<OffsetDateTime>,
    pub duration_minutes: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub meeting_url: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct NewInterview {
    pub candidate_id: CandidateId,
    pub interviewer_ids: Vec<UserId>,
    pub title: String,
    pub kind: InterviewKind,
    pub scheduled_at: OffsetDateTime,
    pub duration_minutes: u32,
    pub location: Option<String>,
    pub meeting_url: Option<String>,
}

#[derive(Debug, Default)]
pub struct InterviewChange {
    pub interviewer_ids: Option<Vec<UserId>>,
    pub title: Option<String>,
    pub kind: Option<InterviewKind>,
    pub scheduled_at: Option<OffsetDateTime>,
    pub duration_minutes: Option<u32>,
    pub location: Option<Option<String>>,
    pub meeting_url: Option<Option<String>>,
}

impl InterviewChange {
    /// Whether the change moves the interview in time or place (calendars must update).
    pub fn moves(&self) -> bool {
        self.scheduled_at.is_some()
            || self.duration_minutes.is_some()
            || self.location.is_some()
            || self.meeting_url.is_some()
    }
}

/// The end of a slot.
pub fn ends_at(start: OffsetDateTime, minutes: u32) -> OffsetDateTime {
    start + Duration::minutes(i64::from(minutes))
}

/// In UTC, whole seconds: one representation, so comparisons are exact on any backend.
fn normalise(at: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let utc = at.to_offset(UtcOffset::UTC);
    let utc = utc.replace_nanosecond(0).map_err(|e| e.to_string())?;
    if !(2000..=9000).contains(&utc.year()) {
        return Err("must be between the years 2000 and 9000".into());
    }
    Ok(utc)
}

fn interviewers(ids: Vec<UserId>) -> Result<Vec<UserId>, String> {
    let mut unique = ids;
    unique.sort();
    unique.dedup();
    match unique.len() {
        0 => Err("must name at least one interviewer".into()),
        n if n > MAX_INTERVIEWERS => {
            Err(format!("must name at most {MAX_INTERVIEWERS} interviewers"))
        }
        _ => Ok(unique),
    }
}

fn duration(minutes: u32) -> Result<u32, String> {
    if DURATION_MINUTES.contains(&minutes) {
        Ok(minutes)
    } else {
        Err(format!(
            "must be {} to {} minutes",
            DURATION_MINUTES.start(),
            DURATION_MINUTES.end()
        ))
    }
}

fn meeting_url(raw: Option<String>) -> Result<Option<String>, String> {
    let url = optional_text(raw, 2000)?;
    match url {
        Some(u)
            if !(u.starts_with("https://") || u.starts_with("http://"))
                || u.contains(char::is_whitespace) =>
        {
            Err("must be an http(s) URL".into())
        }
        other => Ok(other),
    }
}

impl CreateInterview {
    pub fn validate(self) -> Result<NewInterview, Vec<FieldError>> {
        let mut c = Checks::default();
        let interviewer_ids = c.check("interviewer_ids", interviewers(self.interviewer_ids));
        let title = c.check("title", text(&self.title, 1, 200));
        let scheduled_at = c.check("scheduled_at", normalise(self.scheduled_at));
        let duration_minutes = c.check("duration_minutes", duration(self.duration_minutes));
        let location = c.check("location", optional_text(self.location, 500));
        let meeting_url = c.check("meeting_url", meeting_url(self.meeting_url));
        let (candidate_id, kind) = (self.candidate_id, self.kind);
        c.finish(|| {
            Some(NewInterview {
                candidate_id,
                interviewer_ids: interviewer_ids?,
                title: title?,
                kind,
                scheduled_at: scheduled_at?,
                duration_minutes: duration_minutes?,
                location: location?,
                meeting_url: meeting_url?,
            })
        })
    }
}

impl UpdateInterview {
    pub fn validate(self) -> Result<InterviewChange, Vec<FieldError>> {
        let mut c = Checks::default();
        let interviewer_ids = c.check_opt("interviewer_ids", self.interviewer_ids, interviewers);
        let title = c.check_opt("title", self.title, |t| text(&t, 1, 200));
        let scheduled_at = c.check_opt("scheduled_at", self.scheduled_at, normalise);
        let duration_minutes = c.check_opt("duration_minutes", self.duration_minutes, duration);
        let location = c.check_opt("location", self.location, |l| optional_text(l, 500));
        let meeting_url = c.check_opt("meeting_url", self.meeting_url, meeting_url);
        let kind = self.kind;
        c.finish(|| {
            Some(InterviewChange {
                interviewer_ids: interviewer_ids?,
                title: title?,
                kind,
                scheduled_at: scheduled_at?,
                duration_minutes: duration_minutes?,
                location: location?,
                meeting_url: meeting_url?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InterviewStatus::*;
    use uuid::Uuid;

    #[test]
    fn the_lifecycle_table() {
        let actions = [
            Action::Start,
            Action::Complete,
            Action::Cancel,
            Action::NoShow,
        ];
        let table: [(InterviewStatus, [Option<InterviewStatus>; 4]); 5] = [
            (
                Scheduled,
                [
                    Some(InProgress),
                    Some(Completed),
                    Some(Cancelled),
                    Some(NoShow),
                ],
            ),
            (InProgress, [None, Some(Completed), Some(Cancelled), None]),
            (Completed, [None, None, None, None]),
            (Cancelled, [None, None, None, None]),
            (NoShow, [None, None, None, None]),
        ];
        for (from, row) in table {
            for (action, want) in actions.iter().zip(row) {
                assert_eq!(
                    from.apply(*action).ok(),
                    want,
                    "{from} + {}",
                    action.as_str()
                );
            }
        }
        assert_eq!(
            Completed.apply(Action::Start).unwrap_err(),
            "Cannot start an interview that is completed"
        );
    }

    #[test]
    fn times_are_normalised_to_utc_seconds() {
        let req: CreateInterview = serde_json::from_value(serde_json::json!({
            "candidate_id": Uuid::nil(), "interviewer_ids": [Uuid::nil(), Uuid::nil()], "title": "Loop",
            "kind": "onsite", "scheduled_at": "2030-01-02T10:00:00.75+02:00", "duration_minutes": 60
        }))
        .unwrap();
        let i = req.validate().unwrap();
        assert_eq!(
            i.scheduled_at,
            time::macros::datetime!(2030-01-02 08:00:00 UTC)
        );
        assert_eq!(i.interviewer_ids.len(), 1);
        assert_eq!(
            ends_at(i.scheduled_at, 60),
            time::macros::datetime!(2030-01-02 09:00:00 UTC)
        );
    }

    #[test]
    fn bad_fields_are_all_reported() {
        let req: CreateInterview = serde_json::from_value(serde_json::json!({
            "candidate_id": Uuid::nil(), "interviewer_ids": [], "title": " ", "kind": "video",
            "scheduled_at": "2030-01-02T10:00:00Z", "duration_minutes": 1, "meeting_url": "javascript:alert(1)"
        }))
        .unwrap();
        let fields: Vec<_> = req
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "interviewer_ids",
                "title",
                "duration_minutes",
                "meeting_url"
            ]
        );
    }
}
