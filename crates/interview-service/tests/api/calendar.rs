//! The calendar file, read back with a real iCalendar parser.

use crate::helpers::*;
use icalendar::{Calendar, CalendarComponent, Component, EventLike};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_calendar_file_is_valid_icalendar_with_the_interview() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice, \"Ace\" Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let res = p
        .call(Method::POST, "/api/v1/interviews", &admin.access, Some(json!({
            "candidate_id": c, "interviewer_ids": [alice], "kind": "onsite",
            "title": "System design; round 2, with a rather long title that needs folding across lines ✓",
            "scheduled_at": "2030-01-02T10:00:00+01:00", "duration_minutes": 90, "location": "HQ, Room 4"
        })))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = id_of(&body(res).await);

    let res = p
        .call(
            Method::GET,
            &format!("/api/v1/interviews/{id}/calendar.ics"),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = res.text().await.unwrap();
    assert!(text.lines().all(|l| l.len() <= 75), "lines are folded");
    assert!(text.contains("\r\n"), "CRLF line ends");

    let calendar: Calendar = text.parse().expect("parses as iCalendar");
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter_map(|c| {
            if let CalendarComponent::Event(e) = c {
                Some(e)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(events.len(), 1);
    let e = events[0];
    assert_eq!(
        e.get_summary(),
        Some("System design; round 2, with a rather long title that needs folding across lines ✓")
    );
    assert_eq!(e.get_location(), Some("HQ, Room 4"));
    assert_eq!(
        e.get_uid(),
        Some(format!("{id}@ai-interviewer-platform").as_str())
    );
    assert_eq!(e.property_value("DTSTART"), Some("20300102T090000Z"));
    assert_eq!(e.property_value("DTEND"), Some("20300102T103000Z"));
    assert_eq!(e.property_value("STATUS"), Some("CONFIRMED"));
    assert!(e.get_description().unwrap().contains("Grace Hopper"));
    let attendees = e.multi_properties().get("ATTENDEE").expect("attendees");
    assert_eq!(attendees.len(), 1);
    assert!(attendees[0].value().starts_with("mailto:alice"));

    // Cancelled: the calendar says so, with a higher sequence.
    p.call(
        Method::POST,
        &format!("/api/v1/interviews/{id}/cancel"),
        &admin.access,
        None,
    )
    .await;
    let text = p
        .call(
            Method::GET,
            &format!("/api/v1/interviews/{id}/calendar.ics"),
            &admin.access,
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    let calendar: Calendar = text.parse().unwrap();
    let Some(CalendarComponent::Event(e)) = calendar
        .components
        .iter()
        .find(|c| matches!(c, CalendarComponent::Event(_)))
    else {
        panic!("no event");
    };
    assert_eq!(e.property_value("STATUS"), Some("CANCELLED"));
    assert_eq!(e.property_value("SEQUENCE"), Some("1"));
}
