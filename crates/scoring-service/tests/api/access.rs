//! Tenants, pages, roles, and the services scoring depends on being down.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn another_companys_ids_answer_404_everywhere() {
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
    let card = id_of(
        &body(
            p.submit(&alice_t.access, i, rubric, json!({"coding": 3}), "yes")
                .await,
        )
        .await,
    );
    seed_company(&p.db, "Globex", "boss@globex.example").await;
    let other = p.login("boss@globex.example", ADMIN_PASSWORD).await;

    for (method, path, body_) in [
        (Method::GET, format!("/api/v1/rubrics/{rubric}"), None),
        (
            Method::PATCH,
            format!("/api/v1/rubrics/{rubric}"),
            Some(json!({"name": "Mine now"})),
        ),
        (
            Method::GET,
            format!("/api/v1/interviews/{i}/scorecards"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/interviews/{i}/scorecards"),
            Some(json!({"rubric_id": rubric, "ratings": {"coding": 1}, "recommendation": "no"})),
        ),
        (Method::GET, format!("/api/v1/scorecards/{card}"), None),
        (
            Method::POST,
            format!("/api/v1/scorecards/{card}/amendments"),
            Some(json!({"ratings": {"coding": 1}, "recommendation": "no"})),
        ),
        (Method::GET, format!("/api/v1/candidates/{c}/report"), None),
    ] {
        let res = p.scoring(method.clone(), &path, &other.access, body_).await;
        assert_error(res, StatusCode::NOT_FOUND).await;
    }
    let list = body(
        p.scoring(Method::GET, "/api/v1/rubrics", &other.access, None)
            .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let mine = body(
        p.scoring(
            Method::GET,
            &format!("/api/v1/rubrics/{rubric}"),
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(mine["name"], "Engineering");
}

#[tokio::test]
async fn the_interviews_page_and_the_read_only_role_are_enforced() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (viewer_id, viewer) = p.user("viewer", "Victor Viewer").await;
    let res = p
        .scoring(Method::GET, "/api/v1/rubrics", &viewer.access, None)
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Access denied to interviews"
    );
    p.grant(viewer_id, json!({"interviews": true})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(
        p.scoring(Method::GET, "/api/v1/rubrics", &viewer.access, None)
            .await
            .status(),
        StatusCode::OK
    );
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let rubric = p.rubric(&admin.access, &[("coding", 1.0)]).await;
    let i = p
        .interview(
            &admin.access,
            c,
            &[viewer_id],
            "2030-01-01T09:00:00Z",
            Some("complete"),
        )
        .await;
    // Even as an interviewer, a viewer never writes.
    let res = p
        .submit(&viewer.access, i, rubric, json!({"coding": 3}), "yes")
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Read-only users cannot make changes"
    );
    assert_eq!(
        p.scoring(
            Method::GET,
            &format!("/api/v1/candidates/{c}/report"),
            &viewer.access,
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    let res = p
        .client
        .get(format!("{}/api/v1/rubrics", p.scoring))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn the_interview_service_down_means_503() {
    let p = spawn_platform_with(None, Some(&closed_url())).await;
    let admin = p.admin().await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let rubric = p.rubric(&admin.access, &[("coding", 1.0)]).await;
    let res = p
        .scoring(
            Method::GET,
            &format!("/api/v1/candidates/{c}/report"),
            &admin.access,
            None,
        )
        .await;
    let detail = assert_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(detail.contains("interview service"), "{detail}");
    let res = p
        .submit(
            &admin.access,
            uuid::Uuid::new_v4(),
            rubric,
            json!({"coding": 3}),
            "yes",
        )
        .await;
    assert_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let ready = p
        .client
        .get(format!("{}/readyz", p.scoring))
        .send()
        .await
        .unwrap();
    let detail = assert_error(ready, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(detail.contains("interview"), "{detail}");
}

#[tokio::test]
async fn auth_down_means_503() {
    let p = spawn_platform_with(Some(&closed_url()), None).await;
    let admin = p.admin().await;
    let res = p
        .scoring(Method::GET, "/api/v1/rubrics", &admin.access, None)
        .await;
    assert_eq!(
        assert_error(res, StatusCode::SERVICE_UNAVAILABLE).await,
        "Authentication service unavailable"
    );
}

#[tokio::test]
async fn each_user_has_so_many_requests_a_minute() {
    let p = spawn_platform_env(None, None, &[("API_RATE_LIMIT_PER_MINUTE", "2")]).await;
    let admin = p.admin().await;
    for remaining in [1, 0] {
        let res = p
            .scoring(Method::GET, "/api/v1/rubrics", &admin.access, None)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            test_support::quota_of(&res).map(|q| (q.0, q.1)),
            Some((2, remaining))
        );
    }
    let res = p
        .scoring(Method::GET, "/api/v1/rubrics", &admin.access, None)
        .await;
    assert!(res.headers().contains_key("retry-after"));
    let detail = assert_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(detail.starts_with("Too many requests"), "{detail}");
}
