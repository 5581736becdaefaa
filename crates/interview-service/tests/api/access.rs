//! Who may do what: tokens checked by auth over gRPC, pages and roles, tenants, and
//! revocations reaching this service within the cache bound.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// Comfortably past the 1 s cache bound.
const PAST_THE_CACHE: Duration = Duration::from_millis(1300);

#[tokio::test]
async fn without_a_valid_token_everything_is_401() {
    let p = spawn_platform().await;
    let res = p
        .client
        .get(format!("{}/api/v1/candidates", p.interview))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Not authenticated"
    );
    let admin = p.admin().await;
    for token in ["garbage", admin.refresh.as_str()] {
        let res = p.call(Method::GET, "/api/v1/interviews", token, None).await;
        assert_eq!(
            assert_error(res, StatusCode::UNAUTHORIZED).await,
            "Invalid token"
        );
    }
}

#[tokio::test]
async fn pages_and_the_read_only_role_are_enforced_per_endpoint() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (agent_id, agent) = p.user("agent", "Alice Agent").await;
    let (viewer_id, viewer) = p.user("viewer", "Victor Viewer").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;

    // An agent has interviews but not candidates; a viewer has neither.
    let res = p
        .call(Method::GET, "/api/v1/candidates", &agent.access, None)
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Access denied to candidates"
    );
    assert_eq!(
        p.call(Method::GET, "/api/v1/interviews", &agent.access, None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        p.schedule(&agent.access, c, &[agent_id], "2030-01-01T09:00:00Z", 30)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        p.call(Method::GET, "/api/v1/interviews", &viewer.access, None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Overrides: the agent gets candidates; the viewer gets both, but still only reads.
    let grant = |id: Uuid, pages: serde_json::Value| {
        let (p, t) = (&p, admin.access.clone());
        async move {
            let res = p
                .auth_call(
                    Method::PUT,
                    &format!("/api/v1/users/{id}/permissions"),
                    &t,
                    Some(pages),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    };
    grant(agent_id, json!({"candidates": true})).await;
    grant(viewer_id, json!({"candidates": true, "interviews": true})).await;
    tokio::time::sleep(PAST_THE_CACHE).await;
    assert_eq!(
        p.call(Method::GET, "/api/v1/candidates", &agent.access, None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        p.call(
            Method::GET,
            &format!("/api/v1/candidates/{c}"),
            &viewer.access,
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        p.call(Method::GET, "/api/v1/interviews", &viewer.access, None)
            .await
            .status(),
        StatusCode::OK
    );
    let res = p
        .call(
            Method::POST,
            "/api/v1/candidates",
            &viewer.access,
            Some(json!({"full_name": "Nope Never", "email": "n@example.org"})),
        )
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Read-only users cannot make changes"
    );
    let res = p
        .call(
            Method::PATCH,
            &format!("/api/v1/candidates/{c}"),
            &viewer.access,
            Some(json!({"status": "hired"})),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN).await;
    let res = p
        .schedule(&viewer.access, c, &[agent_id], "2030-01-02T09:00:00Z", 30)
        .await;
    assert_error(res, StatusCode::FORBIDDEN).await;
    // The refused writes changed nothing.
    assert_eq!(
        body(
            p.call(
                Method::GET,
                &format!("/api/v1/candidates/{c}"),
                &admin.access,
                None
            )
            .await
        )
        .await["status"],
        "new"
    );
}

#[tokio::test]
async fn another_companys_ids_answer_404_on_every_endpoint() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let i = p
        .scheduled(&admin.access, c, &[alice], "2030-01-01T09:00:00Z", 30)
        .await;
    seed_company(&p.db, "Globex", "boss@globex.example").await;
    let other = p.login("boss@globex.example", ADMIN_PASSWORD).await;

    let cp = format!("/api/v1/candidates/{c}");
    let ip = format!("/api/v1/interviews/{i}");
    for (method, path, body_) in [
        (Method::GET, cp.clone(), None),
        (Method::PATCH, cp.clone(), Some(json!({"status": "hired"}))),
        (Method::DELETE, cp.clone(), None),
        (Method::GET, ip.clone(), None),
        (
            Method::PATCH,
            ip.clone(),
            Some(json!({"title": "Hijacked"})),
        ),
        (Method::GET, format!("{ip}/calendar.ics"), None),
        (Method::POST, format!("{ip}/start"), None),
        (Method::POST, format!("{ip}/complete"), None),
        (Method::POST, format!("{ip}/cancel"), None),
        (Method::POST, format!("{ip}/no-show"), None),
    ] {
        let res = p.call(method.clone(), &path, &other.access, body_).await;
        assert_error(res, StatusCode::NOT_FOUND).await;
    }
    for list in ["/api/v1/candidates", "/api/v1/interviews"] {
        let v = body(p.call(Method::GET, list, &other.access, None).await).await;
        assert_eq!(v.as_array().unwrap().len(), 0, "{list}");
    }
    // Scheduling another company's candidate, or with its interviewers, is refused too.
    let res = p
        .schedule(&other.access, c, &[alice], "2030-01-02T09:00:00Z", 30)
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    // Untouched.
    let v = body(p.call(Method::GET, &ip, &admin.access, None).await).await;
    assert_eq!(
        (v["status"].as_str(), v["title"].as_str()),
        (Some("scheduled"), Some("Technical interview"))
    );
}

#[tokio::test]
async fn logout_deactivation_and_role_changes_count_here_within_a_second() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (manager_id, manager) = p.user("manager", "Mia Manager").await;
    let (leaver_id, leaver) = p.user("manager", "Lee Leaver").await;
    let (_, quitter) = p.user("manager", "Quinn Quitter").await;
    for t in [&manager, &leaver, &quitter] {
        assert_eq!(
            p.call(Method::GET, "/api/v1/candidates", &t.access, None)
                .await
                .status(),
            StatusCode::OK
        );
    }

    let res = p
        .auth_call(Method::POST, "/api/v1/auth/logout", &quitter.access, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    p.auth_call(
        Method::DELETE,
        &format!("/api/v1/users/{leaver_id}"),
        &admin.access,
        None,
    )
    .await;
    p.auth_call(
        Method::PATCH,
        &format!("/api/v1/users/{manager_id}"),
        &admin.access,
        Some(json!({"role": "viewer"})),
    )
    .await;
    tokio::time::sleep(PAST_THE_CACHE).await;

    let res = p
        .call(Method::GET, "/api/v1/candidates", &quitter.access, None)
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED).await;
    let res = p
        .call(Method::GET, "/api/v1/candidates", &leaver.access, None)
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED).await;
    let res = p
        .call(Method::GET, "/api/v1/candidates", &manager.access, None)
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Access denied to candidates"
    );
}

#[tokio::test]
async fn auth_down_means_503_never_a_pass() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let p = spawn_platform_with(Some(&url)).await;
    let admin = p.admin().await;
    for path in ["/api/v1/candidates", "/api/v1/interviews"] {
        let res = p.call(Method::GET, path, &admin.access, None).await;
        let detail = assert_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(detail, "Authentication service unavailable");
    }
    let res = p
        .call(
            Method::POST,
            "/api/v1/candidates",
            &admin.access,
            Some(json!({"full_name": "Grace Hopper", "email": "g@example.org"})),
        )
        .await;
    assert_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
    // The service itself is alive; only auth-dependent work is refused.
    let res = p
        .client
        .get(format!("{}/healthz", p.interview))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
