use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn candidates_are_created_read_changed_and_deleted() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let res = p
        .call(
            Method::POST,
            "/api/v1/candidates",
            &admin.access,
            Some(json!({
                "full_name": "Grace Hopper", "email": "Grace@Navy.mil", "phone": "+1 555 0100",
                "position": "Engineer", "source": "referral", "notes": "Invented the compiler"
            })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let v = body(res).await;
    let id = id_of(&v);
    assert_eq!(location, format!("/api/v1/candidates/{id}"));
    assert_eq!(v["status"], "new");
    assert_eq!(v["email"], "grace@navy.mil");
    for field in [
        "id",
        "full_name",
        "email",
        "phone",
        "position",
        "source",
        "status",
        "notes",
        "created_at",
        "updated_at",
    ] {
        assert!(v.get(field).is_some(), "{field}");
    }

    let path = format!("/api/v1/candidates/{id}");
    assert_eq!(
        body(p.call(Method::GET, &path, &admin.access, None).await).await,
        v
    );
    let res = p
        .call(
            Method::PATCH,
            &path,
            &admin.access,
            Some(json!({"status": "screening", "phone": null})),
        )
        .await;
    let changed = body(res).await;
    assert_eq!(changed["status"], "screening");
    assert_eq!(changed["phone"], serde_json::Value::Null);
    assert_eq!(changed["notes"], "Invented the compiler");

    let res = p.call(Method::DELETE, &path, &admin.access, None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_error(
        p.call(Method::GET, &path, &admin.access, None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        p.call(Method::DELETE, &path, &admin.access, None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let list = body(
        p.call(Method::GET, "/api/v1/candidates", &admin.access, None)
            .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_candidate_list_filters_and_pages() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    for (name, position, status) in [
        ("Ada Lovelace", "Engineer", "new"),
        ("Alan Turing", "Researcher", "screening"),
        ("Barbara Liskov", "engineer", "screening"),
        ("Edsger Dijkstra", "Engineer", "rejected"),
    ] {
        let email = format!(
            "{}@example.org",
            name.split(' ').next().unwrap().to_lowercase()
        );
        let res = p
            .call(
                Method::POST,
                "/api/v1/candidates",
                &admin.access,
                Some(json!({
                    "full_name": name, "email": email, "position": position, "status": status
                })),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let names = |v: serde_json::Value| -> Vec<String> {
        let mut n: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["full_name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let get = |q: &'static str| p.call(Method::GET, q, &admin.access, None);
    assert_eq!(
        names(body(get("/api/v1/candidates?status=screening").await).await),
        ["Alan Turing", "Barbara Liskov"]
    );
    assert_eq!(
        names(body(get("/api/v1/candidates?position=ENGINEER").await).await),
        ["Ada Lovelace", "Barbara Liskov", "Edsger Dijkstra"]
    );
    assert_eq!(
        names(body(get("/api/v1/candidates?q=LOVE").await).await),
        ["Ada Lovelace"]
    );
    assert_eq!(
        names(body(get("/api/v1/candidates?q=alan@").await).await),
        ["Alan Turing"]
    );
    assert_eq!(
        names(body(get("/api/v1/candidates?q=%25").await).await),
        Vec::<String>::new()
    );
    assert_eq!(
        body(get("/api/v1/candidates?skip=1&limit=2").await)
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        body(get("/api/v1/candidates?skip=3&limit=100").await)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for bad in [
        "/api/v1/candidates?status=ghosted",
        "/api/v1/candidates?limit=-1",
        "/api/v1/candidates?skip=x",
    ] {
        assert_error(get(bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}

#[tokio::test]
async fn bad_candidate_input_is_a_clear_4xx() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let raw = |body: &'static str| {
        p.client
            .post(format!("{}/api/v1/candidates", p.interview))
            .bearer_auth(&admin.access)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_error(raw("{oops").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_error(
        raw(r#"{"full_name": "No Email"}"#).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        raw(r#"{"full_name": 7, "email": "a@b.org"}"#)
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let res = raw(r#"{"full_name": "X", "email": "nope", "phone": "call me"}"#)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v = body(res).await;
    assert_eq!(v["errors"].as_array().unwrap().len(), 3);
    let huge =
        json!({"full_name": "Big Notes", "email": "big@example.org", "notes": "x".repeat(70_000)});
    assert_error(
        p.call(
            Method::POST,
            "/api/v1/candidates",
            &admin.access,
            Some(huge),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    let id = p.candidate(&admin.access, "Real Person").await;
    let path = format!("/api/v1/candidates/{id}");
    assert_error(
        p.call(
            Method::PATCH,
            &path,
            &admin.access,
            Some(json!({"company_id": id})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(
        p.call(
            Method::PATCH,
            &path,
            &admin.access,
            Some(json!({"email": "bad"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(
        p.call(
            Method::GET,
            "/api/v1/candidates/not-a-uuid",
            &admin.access,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        p.call(Method::PUT, &path, &admin.access, Some(json!({})))
            .await,
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    // Nothing half-written: the refused requests left the one candidate alone.
    let list = body(
        p.call(Method::GET, "/api/v1/candidates", &admin.access, None)
            .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["email"], "real.person@example.org");
}
