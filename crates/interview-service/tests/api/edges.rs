//! Hostile input at the interview service's edge, and updates racing lifecycle actions.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn paging_past_any_integer_type_is_a_422_naming_the_parameter() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    for list in ["/api/v1/candidates", "/api/v1/interviews"] {
        for skip in ["9223372036854775808", "18446744073709551615", "1e3"] {
            let res = p
                .call(
                    Method::GET,
                    &format!("{list}?skip={skip}"),
                    &admin.access,
                    None,
                )
                .await;
            let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(detail.contains("skip"), "{list} {skip}: {detail}");
        }
        let res = p
            .call(
                Method::GET,
                &format!("{list}?skip=9223372036854775807"),
                &admin.access,
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{list}");
    }
}

#[tokio::test]
async fn unstorable_or_oversized_filter_text_is_a_422_naming_the_parameter() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let long = "a".repeat(600);
    for (query, field) in [
        ("position=a%00b", "position"),
        ("q=%00", "q"),
        ("position=%FF%FE", "position"),
        (&*format!("q={long}"), "q"),
    ] {
        let res = p
            .call(
                Method::GET,
                &format!("/api/v1/candidates?{query}"),
                &admin.access,
                None,
            )
            .await;
        let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(detail.contains(field), "{query}: {detail}");
    }
    let res = p
        .call(
            Method::POST,
            "/api/v1/candidates",
            &admin.access,
            Some(json!({"full_name": "Ada", "email": "ada@example.org", "notes": "x\u{0}y"})),
        )
        .await;
    let detail = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(detail.contains("notes"), "{detail}");
}

#[tokio::test]
async fn a_patch_with_a_wrong_type_is_422_and_malformed_json_400() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let path = format!("/api/v1/candidates/{c}");
    for wrong in [
        json!({"status": 5}),
        json!({"status": ["offer"]}),
        json!({"full_name": 7}),
        json!({"phone": {"n": 1}}),
        json!(["not", "an", "object"]),
    ] {
        let res = p
            .call(Method::PATCH, &path, &admin.access, Some(wrong.clone()))
            .await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let raw = |ct: &'static str, body: &'static str| {
        p.client
            .patch(format!("{}{path}", p.interview))
            .bearer_auth(&admin.access)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    assert_error(
        raw("application/json", "{\"status\":").await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        raw("application/json", "").await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        raw("text/plain", "{\"status\": \"offer\"}").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    // Nothing changed.
    let now = body(p.call(Method::GET, &path, &admin.access, None).await).await;
    assert_eq!(now["status"], "new");
}

#[tokio::test]
async fn grpc_reflection_lists_exactly_what_the_interview_server_serves() {
    let p = spawn_platform().await;
    assert_eq!(
        test_support::grpc_services(&p.interview_grpc).await,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "interview.v1.InterviewService"
        ]
    );
    assert_eq!(
        test_support::grpc_health(&p.interview_grpc, "interview.v1.InterviewService").await,
        test_support::ServingStatus::Serving
    );
}

async fn sequence_and_start(p: &Platform, id: Uuid) -> (i32, String) {
    let row =
        p.db.query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT sequence, status, to_char(scheduled_at AT TIME ZONE 'UTC', 'HH24:MI') AS at \
             FROM interviews WHERE id = $1",
            [id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get::<i32>("", "sequence").unwrap(),
        row.try_get::<String>("", "at").unwrap(),
    )
}

/// A move racing a cancel: either the move came first (both succeed, the calendar
/// sequence counts both) or the cancel did (the move is a 409 and changed nothing).
#[tokio::test]
async fn a_move_racing_a_cancel_never_changes_a_cancelled_interview() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    for round in 0..6u32 {
        let start = format!("2031-02-{:02}T09:00:00Z", round + 1);
        let id = p.scheduled(&admin.access, c, &[alice], &start, 30).await;
        let moved_to = format!("2031-02-{:02}T15:30:00Z", round + 1);
        let (patch_path, cancel_path) = (
            format!("/api/v1/interviews/{id}"),
            format!("/api/v1/interviews/{id}/cancel"),
        );
        let (moved, cancelled) = tokio::join!(
            p.call(
                Method::PATCH,
                &patch_path,
                &admin.access,
                Some(json!({"scheduled_at": moved_to})),
            ),
            p.call(Method::POST, &cancel_path, &admin.access, None,),
        );
        assert_eq!(cancelled.status(), StatusCode::OK, "round {round}");
        let (sequence, at) = sequence_and_start(&p, id).await;
        match moved.status() {
            StatusCode::OK => assert_eq!((sequence, at.as_str()), (2, "15:30"), "round {round}"),
            StatusCode::CONFLICT => {
                assert_eq!((sequence, at.as_str()), (1, "09:00"), "round {round}");
            }
            other => panic!("round {round}: the move answered {other}"),
        }
    }
}
