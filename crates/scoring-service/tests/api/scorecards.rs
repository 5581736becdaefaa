use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn only_started_or_completed_interviews_take_scorecards() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, alice_t) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let rubric = p.rubric(&admin.access, &[("coding", 1.0)]).await;
    for (start, action) in [
        ("2030-01-01T09:00:00Z", None),
        ("2030-01-01T11:00:00Z", Some("cancel")),
        ("2030-01-01T13:00:00Z", Some("no-show")),
    ] {
        let i = p.interview(&admin.access, c, &[alice], start, action).await;
        let detail = assert_error(
            p.submit(&alice_t.access, i, rubric, json!({"coding": 3}), "yes")
                .await,
            StatusCode::CONFLICT,
        )
        .await;
        assert!(detail.contains("started or completed"), "{detail}");
    }
    let started = p
        .interview(
            &admin.access,
            c,
            &[alice],
            "2030-01-02T09:00:00Z",
            Some("start"),
        )
        .await;
    assert_eq!(
        p.submit(
            &alice_t.access,
            started,
            rubric,
            json!({"coding": 3}),
            "yes"
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let done = p
        .interview(
            &admin.access,
            c,
            &[alice],
            "2030-01-03T09:00:00Z",
            Some("complete"),
        )
        .await;
    assert_eq!(
        p.submit(&alice_t.access, done, rubric, json!({"coding": 3}), "yes")
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn one_scorecard_per_evaluator_by_interviewers_admins_and_managers_only() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, alice_t) = p.user("agent", "Alice Agent").await;
    let (_, bob_t) = p.user("agent", "Bob Bystander").await;
    let (_, mia_t) = p.user("manager", "Mia Manager").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let rubric = p
        .rubric(&admin.access, &[("coding", 2.0), ("comms", 1.0)])
        .await;
    let i = p
        .interview(
            &admin.access,
            c,
            &[alice],
            "2030-01-01T09:00:00Z",
            Some("complete"),
        )
        .await;

    let res = p
        .submit(
            &alice_t.access,
            i,
            rubric,
            json!({"coding": 4, "comms": 3}),
            "strong_yes",
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let card = body(res).await;
    assert_eq!(card["evaluator_id"], alice.to_string());
    assert_eq!(
        (card["revision"].as_i64(), card["rubric_version"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(card["ratings"], json!({"coding": 4, "comms": 3}));
    let again = p
        .submit(
            &alice_t.access,
            i,
            rubric,
            json!({"coding": 1, "comms": 1}),
            "no",
        )
        .await;
    assert_error(again, StatusCode::CONFLICT).await;

    let res = p
        .submit(
            &bob_t.access,
            i,
            rubric,
            json!({"coding": 1, "comms": 1}),
            "no",
        )
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Only the interview's interviewers, admins and managers can submit scorecards"
    );
    assert_eq!(
        p.submit(
            &mia_t.access,
            i,
            rubric,
            json!({"coding": 2, "comms": 2}),
            "no"
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        p.submit(
            &admin.access,
            i,
            rubric,
            json!({"coding": 3, "comms": 2}),
            "yes"
        )
        .await
        .status(),
        StatusCode::CREATED
    );

    let list = body(
        p.scoring(
            Method::GET,
            &format!("/api/v1/interviews/{i}/scorecards"),
            &bob_t.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn ratings_must_cover_the_rubric_on_the_four_point_scale() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let me = body(
        p.client
            .get(format!("{}/api/v1/users/me", p.auth))
            .bearer_auth(&admin.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let admin_id: Uuid = me["id"].as_str().unwrap().parse().unwrap();
    let rubric = p
        .rubric(&admin.access, &[("coding", 1.0), ("comms", 1.0)])
        .await;
    let i = p
        .interview(
            &admin.access,
            c,
            &[admin_id],
            "2030-01-01T09:00:00Z",
            Some("start"),
        )
        .await;
    for (ratings, field) in [
        (json!({"coding": 3}), "ratings.comms"),
        (json!({"coding": 5, "comms": 3}), "ratings.coding"),
        (json!({"coding": 0, "comms": 3}), "ratings.coding"),
        (
            json!({"coding": 3, "comms": 3, "typing": 2}),
            "ratings.typing",
        ),
    ] {
        let res = p.submit(&admin.access, i, rubric, ratings, "yes").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body(res).await["errors"][0]["field"], field);
    }
    for bad in [
        json!({"coding": -1, "comms": 3}),
        json!({"coding": "four", "comms": 3}),
    ] {
        assert_error(
            p.submit(&admin.access, i, rubric, bad, "yes").await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    assert_error(
        p.submit(
            &admin.access,
            i,
            rubric,
            json!({"coding": 3, "comms": 3}),
            "maybe",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let res = p
        .submit(
            &admin.access,
            i,
            Uuid::new_v4(),
            json!({"coding": 3, "comms": 3}),
            "yes",
        )
        .await;
    assert_eq!(body(res).await["errors"][0]["field"], "rubric_id");
    assert_error(
        p.submit(
            &admin.access,
            Uuid::new_v4(),
            rubric,
            json!({"coding": 3, "comms": 3}),
            "yes",
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Nothing was written by the refusals.
    let list = body(
        p.scoring(
            Method::GET,
            &format!("/api/v1/interviews/{i}/scorecards"),
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn an_amendment_is_a_new_revision_and_the_old_one_stays() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, alice_t) = p.user("agent", "Alice Agent").await;
    let (_, mia_t) = p.user("manager", "Mia Manager").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let rubric = p.rubric(&admin.access, &[("coding", 1.0)]).await;
    let i = p
        .interview(
            &admin.access,
            c,
            &[alice],
            "2030-01-01T09:00:00Z",
            Some("complete"),
        )
        .await;
    let first = body(
        p.submit(&alice_t.access, i, rubric, json!({"coding": 2}), "no")
            .await,
    )
    .await;
    let first_id = id_of(&first);

    let amend = |id: Uuid, token: String, ratings: serde_json::Value| {
        let p = &p;
        async move {
            p.scoring(
                Method::POST,
                &format!("/api/v1/scorecards/{id}/amendments"),
                &token,
                Some(json!({"ratings": ratings, "recommendation": "yes"})),
            )
            .await
        }
    };
    let res = amend(first_id, mia_t.access.clone(), json!({"coding": 4})).await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Only the evaluator can amend a scorecard"
    );
    let res = amend(first_id, alice_t.access.clone(), json!({"coding": 3})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let second = body(res).await;
    assert_eq!(
        (second["revision"].as_i64(), second["amends"].as_str()),
        (Some(2), Some(first_id.to_string().as_str()))
    );
    assert_error(
        amend(first_id, alice_t.access.clone(), json!({"coding": 4})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_error(
        amend(id_of(&second), alice_t.access.clone(), json!({"coding": 9})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // The first revision is unchanged; the list shows the latest unless asked for all.
    assert_eq!(
        body(
            p.scoring(
                Method::GET,
                &format!("/api/v1/scorecards/{first_id}"),
                &admin.access,
                None
            )
            .await
        )
        .await,
        first
    );
    let latest = body(
        p.scoring(
            Method::GET,
            &format!("/api/v1/interviews/{i}/scorecards"),
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        latest
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect::<Vec<_>>(),
        [id_of(&second)]
    );
    let all = body(
        p.scoring(
            Method::GET,
            &format!("/api/v1/interviews/{i}/scorecards?revisions=all"),
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_error(
        p.scoring(
            Method::GET,
            &format!("/api/v1/interviews/{i}/scorecards?revisions=some"),
            &admin.access,
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn concurrent_first_submissions_let_one_through() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, alice_t) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let rubric = p.rubric(&admin.access, &[("coding", 1.0)]).await;
    let i = p
        .interview(
            &admin.access,
            c,
            &[alice],
            "2030-01-01T09:00:00Z",
            Some("complete"),
        )
        .await;
    let attempts =
        (0..6).map(|_| p.submit(&alice_t.access, i, rubric, json!({"coding": 3}), "yes"));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
}

/// Each service with a gRPC key of its own (`INTERNAL_CALLERS`): scoring still reads the
/// interview from the interview service and the evaluators from auth, with its key.
#[tokio::test]
async fn scoring_works_with_a_key_of_its_own_for_each_service() {
    const INTERVIEW_KEY: &str = "interview-own-key-0123456789ab";
    const SCORING_KEY: &str = "scoring-own-key-0123456789abcd";
    let on_auth = json!({"interview": INTERVIEW_KEY, "scoring": SCORING_KEY}).to_string();
    let on_interview = json!({"scoring": SCORING_KEY}).to_string();
    let p = spawn_platform_each(
        None,
        None,
        &[("INTERNAL_CALLERS", on_auth.as_str())],
        &[
            ("INTERNAL_API_KEY", INTERVIEW_KEY),
            ("INTERNAL_CALLERS", on_interview.as_str()),
        ],
        &[("INTERNAL_API_KEY", SCORING_KEY)],
    )
    .await;
    let admin = p.admin().await;
    let (alice, alice_t) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let rubric = p.rubric(&admin.access, &[("coding", 1.0)]).await;
    let i = p
        .interview(
            &admin.access,
            c,
            &[alice],
            "2030-01-02T09:00:00Z",
            Some("start"),
        )
        .await;
    let res = p
        .submit(&alice_t.access, i, rubric, json!({"coding": 3}), "yes")
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report = p
        .scoring(
            Method::GET,
            &format!("/api/v1/candidates/{c}/report"),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(report.status(), StatusCode::OK);
}
