use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn an_interview_is_scheduled_read_and_listed_with_filters() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let (bob, _) = p.user("manager", "Bob Manager").await;
    let grace = p.candidate(&admin.access, "Grace Hopper").await;
    let alan = p.candidate(&admin.access, "Alan Turing").await;

    let res = p
        .schedule(
            &admin.access,
            grace,
            &[alice, bob],
            "2030-01-02T10:00:00+02:00",
            45,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let v = body(res).await;
    let first = id_of(&v);
    assert_eq!(location, format!("/api/v1/interviews/{first}"));
    assert_eq!(v["scheduled_at"], "2030-01-02T08:00:00Z");
    assert_eq!(v["status"], "scheduled");
    assert_eq!(v["duration_minutes"], 45);
    assert_eq!(v["created_by"], p.admin_id.to_string());
    let mut ids: Vec<String> = v["interviewer_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want = vec![alice.to_string(), bob.to_string()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(
        body(p.call(Method::GET, &location, &admin.access, None).await).await,
        v
    );

    let second = p
        .scheduled(&admin.access, alan, &[bob], "2030-01-03T08:00:00Z", 30)
        .await;
    let list = |q: String| {
        let (p, t) = (&p, admin.access.clone());
        async move {
            let v = body(p.call(Method::GET, &q, &t, None).await).await;
            v.as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect::<Vec<Uuid>>()
        }
    };
    assert_eq!(list("/api/v1/interviews".into()).await, [first, second]);
    assert_eq!(
        list(format!("/api/v1/interviews?interviewer_id={alice}")).await,
        [first]
    );
    assert_eq!(
        list(format!("/api/v1/interviews?candidate_id={alan}")).await,
        [second]
    );
    assert_eq!(
        list("/api/v1/interviews?from=2030-01-03T00:00:00Z".into()).await,
        [second]
    );
    assert_eq!(
        list("/api/v1/interviews?to=2030-01-03T00:00:00Z".into()).await,
        [first]
    );
    assert_eq!(
        list("/api/v1/interviews?status=cancelled".into()).await,
        Vec::<Uuid>::new()
    );
    assert_eq!(
        list("/api/v1/interviews?skip=1&limit=1".into()).await,
        [second]
    );
    for bad in [
        "/api/v1/interviews?from=yesterday",
        "/api/v1/interviews?status=done",
        "/api/v1/interviews?interviewer_id=7",
    ] {
        assert_error(
            p.call(Method::GET, bad, &admin.access, None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
}

#[tokio::test]
async fn the_lifecycle_allows_what_a_scheduler_allows_and_409s_the_rest() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let act = |id: Uuid, action: &'static str| {
        let (p, t) = (&p, admin.access.clone());
        async move {
            p.call(
                Method::POST,
                &format!("/api/v1/interviews/{id}/{action}"),
                &t,
                None,
            )
            .await
        }
    };

    // scheduled -> in_progress -> completed; nothing after.
    let a = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T09:00:00Z", 30)
        .await;
    assert_eq!(body(act(a, "start").await).await["status"], "in_progress");
    for refused in ["start", "no-show"] {
        let detail = assert_error(act(a, refused).await, StatusCode::CONFLICT).await;
        assert!(detail.contains("in_progress"), "{detail}");
    }
    assert_eq!(body(act(a, "complete").await).await["status"], "completed");
    for refused in ["start", "complete", "cancel", "no-show"] {
        assert_error(act(a, refused).await, StatusCode::CONFLICT).await;
    }
    // scheduled -> no_show, scheduled -> cancelled, scheduled -> completed.
    let b = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T10:00:00Z", 30)
        .await;
    assert_eq!(body(act(b, "no-show").await).await["status"], "no_show");
    assert_error(act(b, "cancel").await, StatusCode::CONFLICT).await;
    let d = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T11:00:00Z", 30)
        .await;
    assert_eq!(body(act(d, "cancel").await).await["status"], "cancelled");
    assert_error(act(d, "start").await, StatusCode::CONFLICT).await;
    let e = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T12:00:00Z", 30)
        .await;
    assert_eq!(body(act(e, "complete").await).await["status"], "completed");
    // Only a scheduled interview can be changed.
    let res = p
        .call(
            Method::PATCH,
            &format!("/api/v1/interviews/{e}"),
            &admin.access,
            Some(json!({"title": "Late"})),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT).await;
    assert_error(act(Uuid::new_v4(), "start").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn concurrent_actions_on_one_interview_let_one_win() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let id = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T09:00:00Z", 30)
        .await;
    let path = format!("/api/v1/interviews/{id}/cancel");
    let attempts = (0..6).map(|_| p.call(Method::POST, &path, &admin.access, None));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT)
    );
}

#[tokio::test]
async fn a_double_booked_interviewer_is_refused_with_the_clash_named() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let (bob, _) = p.user("agent", "Bob Builder").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let first = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T09:00:00Z", 60)
        .await;

    let res = p
        .schedule(&admin.access, c, &[bob, alice], "2030-01-01T09:30:00Z", 60)
        .await;
    let detail = assert_error(res, StatusCode::CONFLICT).await;
    assert!(detail.contains("Alice Agent"), "{detail}");
    assert!(detail.contains(&first.to_string()), "{detail}");
    assert!(detail.contains("09:00"), "{detail}");
    // Containing, contained and exact slots clash too; touching ones do not.
    for (start, minutes) in [
        ("2030-01-01T08:00:00Z", 180),
        ("2030-01-01T09:15:00Z", 15),
        ("2030-01-01T09:00:00Z", 60),
    ] {
        assert_eq!(
            p.schedule(&admin.access, c, &[alice], start, minutes)
                .await
                .status(),
            StatusCode::CONFLICT
        );
    }
    p.scheduled(&admin.access, c, &[alice], "2030-01-01T10:00:00Z", 30)
        .await;
    p.scheduled(&admin.access, c, &[alice], "2030-01-01T08:30:00Z", 30)
        .await;
    // Another interviewer is free at the same time.
    p.scheduled(&admin.access, c, &[bob], "2030-01-01T09:00:00Z", 60)
        .await;

    // Cancelling frees the slot; moving into a busy slot is refused.
    p.call(
        Method::POST,
        &format!("/api/v1/interviews/{first}/cancel"),
        &admin.access,
        None,
    )
    .await;
    let again = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T09:00:00Z", 60)
        .await;
    let res = p
        .call(
            Method::PATCH,
            &format!("/api/v1/interviews/{again}"),
            &admin.access,
            Some(json!({"scheduled_at": "2030-01-01T10:15:00Z"})),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT).await;
    let res = p
        .call(
            Method::PATCH,
            &format!("/api/v1/interviews/{again}"),
            &admin.access,
            Some(json!({"interviewer_ids": [alice, bob]})),
        )
        .await;
    let detail = assert_error(res, StatusCode::CONFLICT).await;
    assert!(detail.contains("Bob Builder"), "{detail}");
    // Moving within its own slot is not a clash with itself.
    let res = p
        .call(
            Method::PATCH,
            &format!("/api/v1/interviews/{again}"),
            &admin.access,
            Some(json!({"duration_minutes": 45, "location": "Room 2"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v = body(res).await;
    assert_eq!(
        (v["duration_minutes"].as_i64(), v["location"].as_str()),
        (Some(45), Some("Room 2"))
    );
}

#[tokio::test]
async fn concurrent_bookings_of_one_slot_let_exactly_one_through() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let attempts = (0..6).map(|i| {
        let start = format!("2030-01-01T09:{:02}:00Z", i * 5);
        let (p, t) = (&p, admin.access.clone());
        async move { p.schedule(&t, c, &[alice], &start, 60).await.status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn interviewers_and_candidates_must_exist_in_the_company() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let (gone, _) = p.user("agent", "Gone Person").await;
    p.auth_call(
        Method::DELETE,
        &format!("/api/v1/users/{gone}"),
        &admin.access,
        None,
    )
    .await;
    let (_, foreigner) = seed_company(&p.db, "Globex", "boss@globex.example").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;

    for who in [Uuid::new_v4(), Uuid::from(foreigner), gone] {
        let res = p
            .schedule(&admin.access, c, &[alice, who], "2030-01-01T09:00:00Z", 30)
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v = body(res).await;
        assert_eq!(v["errors"][0]["field"], "interviewer_ids");
        assert!(v["detail"].as_str().unwrap().contains(&who.to_string()));
    }
    let res = p
        .schedule(
            &admin.access,
            Uuid::new_v4(),
            &[alice],
            "2030-01-01T09:00:00Z",
            30,
        )
        .await;
    assert_eq!(body(res).await["errors"][0]["field"], "candidate_id");
    let list = body(
        p.call(Method::GET, "/api/v1/interviews", &admin.access, None)
            .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing half-written");
}

#[tokio::test]
async fn bad_interview_input_is_a_clear_4xx() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let base = json!({"candidate_id": c, "interviewer_ids": [alice], "title": "T", "kind": "video",
                      "scheduled_at": "2030-01-01T09:00:00Z", "duration_minutes": 30});
    let with = |key: &str, value: serde_json::Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    for (body_, status) in [
        (
            with("kind", json!("carrier-pigeon")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("scheduled_at", json!("tomorrow")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("duration_minutes", json!(-5)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("duration_minutes", json!(1000)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("interviewer_ids", json!([])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("interviewer_ids", json!(["not-a-uuid"])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("meeting_url", json!("ftp://x")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("candidate_id", json!(12)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"title": "no candidate"}), StatusCode::BAD_REQUEST),
    ] {
        let res = p
            .call(
                Method::POST,
                "/api/v1/interviews",
                &admin.access,
                Some(body_.clone()),
            )
            .await;
        assert_error(res, status).await;
    }
    let id = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T09:00:00Z", 30)
        .await;
    let path = format!("/api/v1/interviews/{id}");
    assert_error(
        p.call(
            Method::PATCH,
            &path,
            &admin.access,
            Some(json!({"status": "completed"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(
        p.call(Method::DELETE, &path, &admin.access, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_error(
        p.call(Method::GET, &format!("{path}/launch"), &admin.access, None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
