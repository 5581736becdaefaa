//! User management: tenant isolation, roles and pages, overrides, deactivation.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn me_answers_the_user_shape() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    let v = body(app.get("/api/v1/users/me", &tokens.access).await).await;
    for field in [
        "id",
        "company_id",
        "email",
        "full_name",
        "role",
        "department",
        "is_active",
        "created_at",
        "updated_at",
    ] {
        assert!(v.get(field).is_some(), "{field} missing in {v}");
    }
    assert_eq!(v["email"], app.admin_email);
    assert_eq!(v["role"], "admin");
    assert_eq!(v["company_id"], app.company.to_string());
    assert!(v.get("password_hash").is_none());
}

#[tokio::test]
async fn my_permissions_follow_the_role_matrix() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_role("viewer").await;
    let v = body(
        app.get("/api/v1/users/me/permissions", &viewer.access)
            .await,
    )
    .await;
    assert_eq!(
        v,
        json!({"dashboard": true, "interviews": false, "candidates": false, "calls": false,
               "settings": true, "user_management": false})
    );
}

#[tokio::test]
async fn the_user_list_holds_only_the_callers_company_and_pages() {
    let app = spawn_app().await;
    let (other_company, other_admin) = seed_company(&app.db, "Globex", "boss@globex.example").await;
    assert_ne!(other_company, app.company);
    let admin = app.admin_tokens().await;
    for i in 0..3 {
        app.create_user(
            &admin.access,
            &format!("u{i}@acme.example"),
            "User-Pass1",
            "agent",
        )
        .await;
    }
    let list = body(app.get("/api/v1/users", &admin.access).await).await;
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 4);
    assert!(!emails.contains(&"boss@globex.example"));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|u| u["company_id"] == app.company.to_string())
    );

    let page = body(app.get("/api/v1/users?skip=1&limit=2", &admin.access).await).await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["email"], emails[1]);

    for bad in ["limit=-1", "skip=abc", "limit=1.5"] {
        let res = app
            .get(&format!("/api/v1/users?{bad}"), &admin.access)
            .await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let _ = other_admin;
}

#[tokio::test]
async fn another_companys_user_answers_404_on_every_endpoint() {
    let app = spawn_app().await;
    let (_, foreign) = seed_company(&app.db, "Globex", "boss@globex.example").await;
    let admin = app.admin_tokens().await;
    let path = format!("/api/v1/users/{foreign}");
    assert_error(app.get(&path, &admin.access).await, StatusCode::NOT_FOUND).await;
    let res = app
        .send_json(
            Method::PATCH,
            &path,
            &admin.access,
            &json!({"full_name": "Hijacked"}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND).await;
    let res = app
        .send_json(Method::DELETE, &path, &admin.access, &json!({}))
        .await;
    assert_error(res, StatusCode::NOT_FOUND).await;
    let perms = format!("{path}/permissions");
    assert_error(app.get(&perms, &admin.access).await, StatusCode::NOT_FOUND).await;
    let res = app
        .send_json(Method::PUT, &perms, &admin.access, &json!({"calls": false}))
        .await;
    assert_error(res, StatusCode::NOT_FOUND).await;
    // The foreign admin is untouched and can still sign in.
    app.login_ok("boss@globex.example", ADMIN_PASSWORD).await;
    let missing = format!("/api/v1/users/{}", Uuid::new_v4());
    assert_error(
        app.get(&missing, &admin.access).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn creating_a_user_checks_every_field() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            &admin.access,
            &json!({"email": "New.Hire@Acme.example", "full_name": "New Hire", "password": "Strong-Pass1",
                    "role": "manager", "department": "Engineering"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let v = body(res).await;
    assert_eq!(
        location,
        format!("/api/v1/users/{}", v["id"].as_str().unwrap())
    );
    assert_eq!(v["email"], "new.hire@acme.example");
    assert_eq!(v["department"], "Engineering");
    assert_eq!(v["is_active"], true);
    app.login_ok("new.hire@acme.example", "Strong-Pass1").await;

    let create = |body: Value| {
        let (app, access) = (&app, admin.access.clone());
        async move {
            app.send_json(Method::POST, "/api/v1/users", &access, &body)
                .await
        }
    };
    let dup = create(
        json!({"email": "NEW.HIRE@acme.example", "full_name": "Twin", "password": "Strong-Pass1"}),
    )
    .await;
    assert_error(dup, StatusCode::CONFLICT).await;
    let weak =
        create(json!({"email": "w@acme.example", "full_name": "Weak", "password": "weakpass"}))
            .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v = body(weak).await;
    assert_eq!(v["errors"][0]["field"], "password");
    let role = create(json!({"email": "r@acme.example", "full_name": "Root", "password": "Strong-Pass1", "role": "root"})).await;
    assert_error(role, StatusCode::UNPROCESSABLE_ENTITY).await;
    let missing = create(json!({"email": "m@acme.example", "password": "Strong-Pass1"})).await;
    assert_error(missing, StatusCode::BAD_REQUEST).await;
    let long = create(json!({"email": "l@acme.example", "full_name": "Long", "password": format!("Aa1{}", "x".repeat(130))})).await;
    assert_error(long, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn pages_and_roles_are_enforced() {
    let app = spawn_app().await;
    let (_, agent) = app.user_with_role("agent").await;
    let (_, viewer) = app.user_with_role("viewer").await;
    let (_, manager) = app.user_with_role("manager").await;
    for tokens in [&agent, &viewer, &manager] {
        let res = app.get("/api/v1/users", &tokens.access).await;
        assert_eq!(
            assert_error(res, StatusCode::FORBIDDEN).await,
            "Access denied to user_management"
        );
        let res = app
            .send_json(
                Method::POST,
                "/api/v1/users",
                &tokens.access,
                &json!({"email": "x@acme.example", "full_name": "X Y", "password": "Strong-Pass1"}),
            )
            .await;
        assert_error(res, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn an_override_grants_a_page_at_once_and_null_drops_it() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let (viewer_id, viewer) = app.user_with_role("viewer").await;
    let (manager_id, manager) = app.user_with_role("manager").await;
    let perms = |id: Uuid| format!("/api/v1/users/{id}/permissions");

    let res = app
        .send_json(
            Method::PUT,
            &perms(manager_id),
            &admin.access,
            &json!({"user_management": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["user_management"], true);
    // The manager's existing token sees the new page without signing in again.
    assert_eq!(
        app.get("/api/v1/users", &manager.access).await.status(),
        StatusCode::OK
    );
    // A manager with the page still cannot make or change admins.
    let res = app
        .send_json(Method::POST, "/api/v1/users", &manager.access,
            &json!({"email": "boss2@acme.example", "full_name": "Boss", "password": "Strong-Pass1", "role": "admin"}))
        .await;
    assert_error(res, StatusCode::FORBIDDEN).await;
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", app.admin_id),
            &manager.access,
            &json!({"full_name": "Demoted"}),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN).await;
    let res = app
        .send_json(Method::POST, "/api/v1/users", &manager.access,
            &json!({"email": "agent2@acme.example", "full_name": "Agent Two", "password": "Strong-Pass1", "role": "agent"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // A viewer with the page reads users but never writes.
    app.send_json(
        Method::PUT,
        &perms(viewer_id),
        &admin.access,
        &json!({"user_management": true}),
    )
    .await;
    assert_eq!(
        app.get("/api/v1/users", &viewer.access).await.status(),
        StatusCode::OK
    );
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            &viewer.access,
            &json!({"email": "v2@acme.example", "full_name": "V Two", "password": "Strong-Pass1"}),
        )
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Read-only users cannot make changes"
    );

    // Deny a default page, then drop both overrides with null.
    let res = app
        .send_json(
            Method::PUT,
            &perms(viewer_id),
            &admin.access,
            &json!({"dashboard": false, "user_management": null}),
        )
        .await;
    let v = body(res).await;
    assert_eq!(v["dashboard"], false);
    assert_eq!(v["user_management"], false);
    assert_eq!(
        app.get("/api/v1/users", &viewer.access).await.status(),
        StatusCode::FORBIDDEN
    );
    let v = body(
        app.send_json(
            Method::PUT,
            &perms(viewer_id),
            &admin.access,
            &json!({"dashboard": null}),
        )
        .await,
    )
    .await;
    assert_eq!(v["dashboard"], true);
    assert_eq!(
        body(app.get(&perms(viewer_id), &admin.access).await).await,
        v
    );
}

#[tokio::test]
async fn bad_permission_bodies_are_422() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let (id, _) = app.user_with_role("agent").await;
    let path = format!("/api/v1/users/{id}/permissions");
    for bad in [
        json!({"billing": true}),
        json!({"calls": "yes"}),
        json!(["calls"]),
    ] {
        let res = app.send_json(Method::PUT, &path, &admin.access, &bad).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // Nothing was written by the refused requests.
    let v = body(app.get(&path, &admin.access).await).await;
    assert_eq!(v["calls"], true);
}

#[tokio::test]
async fn deactivation_stops_the_users_tokens_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let (id, agent) = app.user_with_role("agent").await;
    assert_eq!(
        app.get("/api/v1/users/me", &agent.access).await.status(),
        StatusCode::OK
    );
    let res = app
        .send_json(
            Method::DELETE,
            &format!("/api/v1/users/{id}"),
            &admin.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/users/me", &agent.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let v = body(app.get(&format!("/api/v1/users/{id}"), &admin.access).await).await;
    assert_eq!(v["is_active"], false);
    // Reactivated, the user signs in again (old sessions stay revoked).
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &admin.access,
            &json!({"is_active": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.refresh(&agent.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn patching_a_user_changes_what_it_may_do_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let (id, agent) = app.user_with_role("agent").await;
    let path = format!("/api/v1/users/{id}");
    let res = app
        .send_json(
            Method::PATCH,
            &path,
            &admin.access,
            &json!({"role": "viewer", "department": "Sales", "full_name": "Renamed"}),
        )
        .await;
    let v = body(res).await;
    assert_eq!(
        (
            v["role"].as_str(),
            v["department"].as_str(),
            v["full_name"].as_str()
        ),
        (Some("viewer"), Some("Sales"), Some("Renamed"))
    );
    let perms = body(app.get("/api/v1/users/me/permissions", &agent.access).await).await;
    assert_eq!(perms["interviews"], false);
    let v = body(
        app.send_json(
            Method::PATCH,
            &path,
            &admin.access,
            &json!({"department": null}),
        )
        .await,
    )
    .await;
    assert_eq!(v["department"], Value::Null);

    let res = app
        .send_json(
            Method::PATCH,
            &path,
            &admin.access,
            &json!({"email": app.admin_email}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT).await;
    let res = app
        .send_json(
            Method::PATCH,
            &path,
            &admin.access,
            &json!({"company_id": Uuid::new_v4()}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app
        .send_json(
            Method::PATCH,
            &path,
            &admin.access,
            &json!({"is_active": "no"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn the_last_admin_cannot_lock_the_company_out() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let me = format!("/api/v1/users/{}", app.admin_id);
    let res = app
        .send_json(Method::DELETE, &me, &admin.access, &json!({}))
        .await;
    assert_error(res, StatusCode::CONFLICT).await;
    let res = app
        .send_json(
            Method::PATCH,
            &me,
            &admin.access,
            &json!({"role": "manager"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT).await;
    assert_eq!(
        app.get("/api/v1/users", &admin.access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_password_reset_the_token_store_cannot_record_changes_nothing() {
    let redis = test_support::Proxy::start("127.0.0.1:6379").await;
    let redis_url = format!("redis://127.0.0.1:{}", redis.port);
    let app = spawn_app_with(&[("REDIS_URL", redis_url.as_str())]).await;
    let admin = app.admin_tokens().await;
    let (id, user) = app.user_with_role("agent").await;
    let reset = |token: String| {
        let app = &app;
        async move {
            app.send_json(
                Method::PATCH,
                &format!("/api/v1/users/{id}"),
                &token,
                &json!({"password": "Reset-Pass9"}),
            )
            .await
        }
    };
    // The store cannot revoke the user's sessions: nothing is committed.
    redis.cut();
    let res = reset(admin.access.clone()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    redis.restore();
    let res = app.get(&format!("/api/v1/users/{id}"), &admin.access).await;
    let email = body(res).await["email"].as_str().unwrap().to_owned();
    assert_eq!(
        app.login(&email, "Reset-Pass9").await.status(),
        StatusCode::UNAUTHORIZED,
        "the new password was not committed"
    );
    app.login_ok(&email, test_support::USER_PASSWORD).await;
    let res = app.refresh(&user.refresh).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the session lives on, as the password did"
    );
    let user = tokens_of(body(res).await);
    // Once it can, the reset ends every session of the user.
    let mut res = reset(admin.access.clone()).await;
    for _ in 0..20 {
        if res.status() == StatusCode::OK {
            break;
        }
        // The pool may hand out a connection the cut broke once more.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        res = reset(admin.access.clone()).await;
    }
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.refresh(&user.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/users/me", &user.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn users_me_answers_the_new_record_at_once_after_an_admin_changes_it() {
    // Long enough that only the announcement explains a fresh answer.
    let app = spawn_app_with(&[("INTROSPECTION_CACHE_MS", "5000")]).await;
    let admin = app.admin_tokens().await;
    let (id, user) = app.user_with_role("agent").await;
    let me = || async { body(app.get("/api/v1/users/me", &user.access).await).await };
    assert_eq!(me().await["full_name"], "agent");
    assert_eq!(me().await["full_name"], "agent");
    let res = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &admin.access,
            &serde_json::json!({"full_name": "Renamed Agent", "role": "manager"}),
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let now = me().await;
    assert_eq!(now["full_name"], "Renamed Agent");
    assert_eq!(now["role"], "manager");
}
