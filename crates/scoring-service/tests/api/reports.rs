//! The candidate report, every number checked against a hand-computed example.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

fn close(v: &serde_json::Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

/// Two interviews of Grace; rubric v1 = coding (w 2), comms (w 1), later v2 = coding (w 1), comms (w 3).
///
/// Interview 1 (completed, interviewers Alice, Bob, Carol):
///   Alice (v1): coding 4, comms 3, strong_yes → (8 + 3)/3 = 11/3
///   Bob   (v1): coding 1, comms 2, no — then amended (v2): coding 2, comms 2, no → (2 + 6)/4 = 2
///   Carol: nothing → missing.
/// Interview 2 (in progress, interviewer Dan): Dan (v2): coding 4, comms 4, yes → 4.
///
/// coding: 4, 2, 4 → mean 10/3, population variance ((2/3)² + (4/3)² + (2/3)²)/3 = 24/27, range 2 → disagreement.
/// comms: 3, 2, 4 → mean 3, variance (0 + 1 + 1)/3 = 2/3, range 2 → disagreement.
/// overall: (11/3 + 2 + 4)/3 = 29/9. Tally: strong_yes 1, no 1, yes 1.
#[tokio::test]
async fn the_report_matches_the_hand_computed_example() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, alice_t) = p.user("agent", "Alice A").await;
    let (bob, bob_t) = p.user("agent", "Bob B").await;
    let (carol, _) = p.user("agent", "Carol C").await;
    let (dan, dan_t) = p.user("agent", "Dan D").await;
    let grace = p.candidate(&admin.access, "Grace Hopper").await;
    let other = p.candidate(&admin.access, "Alan Turing").await;
    let rubric = p
        .rubric(&admin.access, &[("coding", 2.0), ("comms", 1.0)])
        .await;
    let i1 = p
        .interview(
            &admin.access,
            grace,
            &[alice, bob, carol],
            "2030-01-01T09:00:00Z",
            Some("complete"),
        )
        .await;
    let i2 = p
        .interview(
            &admin.access,
            grace,
            &[dan],
            "2030-01-02T09:00:00Z",
            Some("start"),
        )
        .await;
    let i3 = p
        .interview(
            &admin.access,
            other,
            &[alice],
            "2030-01-03T09:00:00Z",
            Some("complete"),
        )
        .await;

    assert_eq!(
        p.submit(
            &alice_t.access,
            i1,
            rubric,
            json!({"coding": 4, "comms": 3}),
            "strong_yes"
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let bob_card = body(
        p.submit(
            &bob_t.access,
            i1,
            rubric,
            json!({"coding": 1, "comms": 2}),
            "no",
        )
        .await,
    )
    .await;
    // Another candidate's scorecard must not leak into Grace's report.
    assert_eq!(
        p.submit(
            &alice_t.access,
            i3,
            rubric,
            json!({"coding": 1, "comms": 1}),
            "strong_no"
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let res = p
        .scoring(Method::PATCH, &format!("/api/v1/rubrics/{rubric}"), &admin.access, Some(json!({"criteria": [
            {"key": "coding", "name": "Coding", "weight": 1}, {"key": "comms", "name": "Communication", "weight": 3}
        ]})))
        .await;
    assert_eq!(body(res).await["version"], 2);
    let res = p
        .scoring(
            Method::POST,
            &format!("/api/v1/scorecards/{}/amendments", id_of(&bob_card)),
            &bob_t.access,
            Some(json!({"ratings": {"coding": 2, "comms": 2}, "recommendation": "no"})),
        )
        .await;
    assert_eq!(body(res).await["rubric_version"], 2);
    assert_eq!(
        p.submit(
            &dan_t.access,
            i2,
            rubric,
            json!({"coding": 4, "comms": 4}),
            "yes"
        )
        .await
        .status(),
        StatusCode::CREATED
    );

    let r = body(
        p.scoring(
            Method::GET,
            &format!("/api/v1/candidates/{grace}/report"),
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (r["interviews"].as_i64(), r["scorecards"].as_i64()),
        (Some(2), Some(3))
    );
    let coding = &r["criteria"][0];
    assert_eq!(
        (
            coding["key"].as_str(),
            coding["n"].as_i64(),
            coding["min"].as_i64(),
            coding["max"].as_i64()
        ),
        (Some("coding"), Some(3), Some(2), Some(4))
    );
    assert!(close(&coding["mean"], 10.0 / 3.0), "{coding}");
    assert!(
        close(&coding["stddev"], (24.0f64 / 27.0).sqrt()),
        "{coding}"
    );
    let comms = &r["criteria"][1];
    assert_eq!(comms["name"], "Communication");
    assert!(
        close(&comms["mean"], 3.0) && close(&comms["stddev"], (2.0f64 / 3.0).sqrt()),
        "{comms}"
    );
    assert!(
        close(&r["overall_score"], 29.0 / 9.0),
        "{}",
        r["overall_score"]
    );
    assert_eq!(
        r["recommendations"],
        json!({"strong_no": 0, "no": 1, "yes": 1, "strong_yes": 1})
    );
    assert_eq!(
        r["missing_scorecards"],
        json!([{"interview_id": i1, "interviewer_id": carol}])
    );
    assert_eq!(r["disagreements"], json!(["coding", "comms"]));

    let res = p
        .scoring(
            Method::GET,
            &format!("/api/v1/candidates/{grace}/report?format=csv"),
            &admin.access,
            None,
        )
        .await;
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let rows: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(rows[0], "kind,key,name,mean,stddev,min,max,n,value");
    assert_eq!(rows[1], "criterion,coding,Coding,3.3333,0.9428,2,4,3,");
    assert_eq!(rows[2], "criterion,comms,Communication,3,0.8165,2,4,3,");
    assert_eq!(rows[3], "overall_score,,,,,,,,3.2222");
    assert!(
        rows.contains(&format!("missing_scorecard,{i1},,,,,,,{carol}").as_str()),
        "{csv}"
    );
    assert!(rows.contains(&"disagreement,comms,,,,,,,"));

    let res = p
        .scoring(
            Method::GET,
            &format!("/api/v1/candidates/{grace}/report?format=pdf"),
            &admin.access,
            None,
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn a_candidate_without_scorecards_has_an_empty_report_and_unknown_ones_404() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let r = body(
        p.scoring(
            Method::GET,
            &format!("/api/v1/candidates/{c}/report"),
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(r["overall_score"], serde_json::Value::Null);
    assert_eq!(r["scorecards"], 0);
    let res = p
        .scoring(
            Method::GET,
            &format!("/api/v1/candidates/{}/report", Uuid::new_v4()),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(
        assert_error(res, StatusCode::NOT_FOUND).await,
        "Candidate not found"
    );
}
