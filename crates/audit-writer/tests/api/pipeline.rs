use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn auth_events_reach_the_audit_log_and_search_filters_and_pages() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let bad = p.login("admin@acme.example", "Wrong-Pass1").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let (agent, agent_t) = p.user("agent", "Alice Agent").await;
    let res = p
        .call(
            &p.auth,
            Method::PUT,
            &format!("/api/v1/users/{agent}/permissions"),
            &admin.access,
            Some(json!({"candidates": true})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = p
        .client
        .post(format!("{}/api/v1/auth/refresh", p.auth))
        .json(&json!({"refresh_token": agent_t.refresh}))
        .send()
        .await
        .unwrap();
    let refreshed = tokens_of(&body(res).await);
    assert_eq!(
        p.call(
            &p.auth,
            Method::POST,
            "/api/v1/auth/logout",
            &refreshed.access,
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    let res = p
        .call(
            &p.auth,
            Method::DELETE,
            &format!("/api/v1/users/{agent}"),
            &admin.access,
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let all = p.wait_for(&admin.access, "", 9).await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in [
        "LOGIN",
        "LOGIN_FAILED",
        "USER_CREATED",
        "PERMISSION_CHANGED",
        "TOKEN_REFRESHED",
        "LOGOUT",
        "USER_DEACTIVATED",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    // Newest first.
    assert_eq!(actions[0], "USER_DEACTIVATED");
    let entry = &all[0];
    for field in [
        "id",
        "company_id",
        "user_id",
        "action",
        "resource_type",
        "resource_id",
        "details",
        "source",
        "created_at",
    ] {
        assert!(entry.get(field).is_some(), "{field}");
    }
    assert_eq!(entry["resource_id"], agent.to_string());
    assert_eq!(entry["source"], "auth");

    let by_user = p
        .audit_logs(&admin.access, &format!("?user_id={agent}"))
        .await;
    let mine: Vec<&str> = by_user["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(mine, ["LOGOUT", "TOKEN_REFRESHED", "LOGIN"]);
    // As the TRD records it: the user signed out, the session in the details.
    let logout = &by_user["items"][0];
    assert_eq!(logout["resource_type"], "user", "{logout}");
    assert_eq!(logout["resource_id"], agent.to_string(), "{logout}");
    assert!(logout["details"]["session_id"].is_string(), "{logout}");
    let logins = p.audit_logs(&admin.access, "?action=LOGIN").await;
    assert_eq!(logins["items"].as_array().unwrap().len(), 3);
    let on_agent = p
        .audit_logs(
            &admin.access,
            &format!("?resource_type=user&resource_id={agent}"),
        )
        .await;
    assert!(on_agent["items"].as_array().unwrap().len() >= 3);
    let future = p
        .audit_logs(&admin.access, "?from=2099-01-01T00:00:00Z")
        .await;
    assert_eq!(future["items"].as_array().unwrap().len(), 0);

    // Paging by cursor walks every entry exactly once.
    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let page = p.audit_logs(&admin.access, &query).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=3&cursor={c}"),
            None => break,
        }
    }
    let total = p.audit_logs(&admin.access, "?limit=200").await["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(seen.len(), total);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total);
    let res = p
        .call(
            &p.audit,
            Method::GET,
            "/api/v1/audit-logs?cursor=garbage",
            &admin.access,
            None,
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn only_admins_search_and_only_their_own_company() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let (_, manager) = p.user("manager", "Mia Manager").await;
    let res = p
        .call(
            &p.audit,
            Method::GET,
            "/api/v1/audit-logs",
            &manager.access,
            None,
        )
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Only admins can read the audit log"
    );
    p.wait_for(&admin.access, "?action=LOGIN", 2).await;
    seed_company(&p.db, "Globex", "boss@globex.example").await;
    let res = p.login("boss@globex.example", ADMIN_PASSWORD).await;
    let other = tokens_of(&body(res).await);
    let theirs = p.wait_for(&other.access, "", 1).await;
    assert_eq!(theirs.len(), 1, "only Globex's own login: {theirs:?}");
    let res = p
        .client
        .get(format!("{}/api/v1/audit-logs", p.audit))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn interviewers_are_notified_and_read_their_notifications() {
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    let (alice, alice_t) = p.user("agent", "Alice Agent").await;
    let (_, bob_t) = p.user("agent", "Bob Builder").await;
    let res = p
        .call(
            &p.interview,
            Method::POST,
            "/api/v1/candidates",
            &admin.access,
            Some(json!({"full_name": "Grace Hopper", "email": "g@example.org"})),
        )
        .await;
    let candidate = id_of(&body(res).await);
    let res = p
        .call(&p.interview, Method::POST, "/api/v1/interviews", &admin.access, Some(json!({
            "candidate_id": candidate, "interviewer_ids": [alice], "title": "Onsite", "kind": "onsite",
            "scheduled_at": "2030-01-01T09:00:00Z", "duration_minutes": 60
        })))
        .await;
    let interview = id_of(&body(res).await);
    p.call(
        &p.interview,
        Method::PATCH,
        &format!("/api/v1/interviews/{interview}"),
        &admin.access,
        Some(json!({"scheduled_at": "2030-01-01T10:00:00Z"})),
    )
    .await;
    p.call(
        &p.interview,
        Method::POST,
        &format!("/api/v1/interviews/{interview}/cancel"),
        &admin.access,
        None,
    )
    .await;

    let events = p
        .wait_for(
            &admin.access,
            &format!("?resource_type=interview&resource_id={interview}"),
            3,
        )
        .await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "INTERVIEW_CANCELLED",
            "INTERVIEW_UPDATED",
            "INTERVIEW_SCHEDULED"
        ]
    );
    assert_eq!(
        p.wait_for(&admin.access, "?action=CANDIDATE_CREATED", 1)
            .await
            .len(),
        1
    );

    let mut notes = Vec::new();
    for _ in 0..150 {
        notes = body(
            p.call(
                &p.audit,
                Method::GET,
                "/api/v1/notifications",
                &alice_t.access,
                None,
            )
            .await,
        )
        .await
        .as_array()
        .cloned()
        .unwrap();
        if notes.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let kinds: Vec<&str> = notes.iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "INTERVIEW_CANCELLED",
            "INTERVIEW_MOVED",
            "INTERVIEW_SCHEDULED"
        ]
    );
    assert!(
        notes
            .iter()
            .all(|n| n["read_at"].is_null() && n["resource_id"] == interview.to_string())
    );
    // Each names the interview and the candidate it concerns.
    assert!(
        notes
            .iter()
            .all(|n| n["interview_id"] == interview.to_string()
                && n["candidate_id"] == candidate.to_string()),
        "{notes:?}"
    );
    let first = id_of(&notes[0]);
    // Bob sees none of Alice's, and cannot mark them read.
    let his = body(
        p.call(
            &p.audit,
            Method::GET,
            "/api/v1/notifications",
            &bob_t.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(his.as_array().unwrap().len(), 0);
    let res = p
        .call(
            &p.audit,
            Method::POST,
            &format!("/api/v1/notifications/{first}/read"),
            &bob_t.access,
            None,
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND).await;
    let res = p
        .call(
            &p.audit,
            Method::POST,
            &format!("/api/v1/notifications/{first}/read"),
            &alice_t.access,
            None,
        )
        .await;
    let read = body(res).await;
    assert!(read["read_at"].is_string());
    let again = body(
        p.call(
            &p.audit,
            Method::POST,
            &format!("/api/v1/notifications/{first}/read"),
            &alice_t.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(again["read_at"], read["read_at"], "the first read counts");
    let unread = body(
        p.call(
            &p.audit,
            Method::GET,
            "/api/v1/notifications?unread=true",
            &alice_t.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(unread.as_array().unwrap().len(), 2);
    let res = p
        .call(
            &p.audit,
            Method::POST,
            &format!("/api/v1/notifications/{}/read", Uuid::new_v4()),
            &alice_t.access,
            None,
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_audit_log_refuses_updates_and_deletes() {
    use sea_orm::ConnectionTrait;
    let p = spawn_pipeline().await;
    let admin = p.admin().await;
    p.wait_for(&admin.access, "?action=LOGIN", 1).await;
    for sql in [
        "UPDATE audit_logs SET action = 'FORGED'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
    ] {
        let err = p.db.execute_unprepared(sql).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(p.wait_for(&admin.access, "?action=LOGIN", 1).await.len(), 1);

    // The audit-writer's own role cannot change rows even without the triggers.
    use sea_orm::TransactionTrait;
    let txn = p.db.begin().await.unwrap();
    txn.execute_unprepared("SET LOCAL ROLE audit_writer")
        .await
        .unwrap();
    txn.execute_unprepared("SELECT COUNT(*) FROM audit_logs")
        .await
        .unwrap();
    let err = txn
        .execute_unprepared("UPDATE audit_logs SET action = 'FORGED'")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    txn.rollback().await.unwrap();
}
