//! An interview as an RFC 5545 calendar file, so interviewers can put it in their
//! calendars: one VEVENT, UTC times, TEXT escaped, lines folded at 75 octets.

use auth_types::InterviewId;
use time::OffsetDateTime;
use time::macros::format_description;

pub struct Person {
    pub name: String,
    pub email: String,
}

pub struct Event<'a> {
    pub id: InterviewId,
    pub title: &'a str,
    pub description: &'a str,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub location: Option<&'a str>,
    pub url: Option<&'a str>,
    pub cancelled: bool,
    /// Bumped whenever the time or place changed, so calendars take the update.
    pub sequence: i32,
    pub stamp: OffsetDateTime,
    pub organizer: Option<Person>,
    pub attendees: Vec<Person>,
}

fn utc(at: OffsetDateTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}

/// TEXT value escaping (RFC 5545 §3.3.11).
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value: quoted, without the characters a quoted value may not hold.
fn param(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// Folds a content line to at most 75 octets a line, never inside a character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

pub fn to_ics(e: &Event<'_>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//AI Interviewer Platform//Interview Service//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@ai-interviewer-platform", e.id),
        format!("DTSTAMP:{}", utc(e.stamp)),
        format!("SEQUENCE:{}", e.sequence.max(0)),
        format!("DTSTART:{}", utc(e.start)),
        format!("DTEND:{}", utc(e.end)),
        format!("SUMMARY:{}", text(e.title)),
        format!("DESCRIPTION:{}", text(e.description)),
    ];
    if let Some(location) = e.location {
        lines.push(format!("LOCATION:{}", text(location)));
    }
    if let Some(url) = e.url {
        lines.push(format!("URL:{url}"));
    }
    lines.push(format!(
        "STATUS:{}",
        if e.cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        }
    ));
    if let Some(o) = &e.organizer {
        lines.push(format!(
            "ORGANIZER;CN={}:mailto:{}",
            param(&o.name),
            o.email
        ));
    }
    for a in &e.attendees {
        lines.push(format!(
            "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mailto:{}",
            param(&a.name),
            a.email
        ));
    }
    lines.push("END:VEVENT".to_owned());
    lines.push("END:VCALENDAR".to_owned());
    let mut out = String::new();
    for line in &lines {
        fold(line, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let line = format!("DESCRIPTION:{}", "é".repeat(100));
        fold(&line, &mut out);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded.trim_end(), line);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
    }

    #[test]
    fn times_are_utc_basic_format() {
        assert_eq!(
            utc(datetime!(2030-01-02 10:00:00 +02:00)),
            "20300102T080000Z"
        );
    }
}
