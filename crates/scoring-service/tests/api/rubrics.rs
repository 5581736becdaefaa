use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn rubrics_are_created_listed_and_versioned_on_criteria_changes() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let res = p
        .scoring(Method::POST, "/api/v1/rubrics", &admin.access, Some(json!({
            "name": "Backend", "position": "Engineer",
            "criteria": [{"key": "coding", "name": "Coding", "description": "Writes code", "weight": 2},
                         {"key": "comms", "name": "Communication", "weight": 1}]
        })))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let v1 = body(res).await;
    let id = id_of(&v1);
    assert_eq!(location, format!("/api/v1/rubrics/{id}"));
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["criteria"][1]["description"], "");

    let path = format!("/api/v1/rubrics/{id}");
    let renamed = body(
        p.scoring(
            Method::PATCH,
            &path,
            &admin.access,
            Some(json!({"name": "Backend v2"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (renamed["version"].as_i64(), renamed["name"].as_str()),
        (Some(1), Some("Backend v2"))
    );
    // The same criteria again are not a new version.
    let same = body(
        p.scoring(
            Method::PATCH,
            &path,
            &admin.access,
            Some(json!({"criteria": v1["criteria"]})),
        )
        .await,
    )
    .await;
    assert_eq!(same["version"], 1);
    let changed = p
        .scoring(
            Method::PATCH,
            &path,
            &admin.access,
            Some(json!({"criteria": [{"key": "coding", "name": "Coding", "weight": 3}]})),
        )
        .await;
    let v2 = body(changed).await;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["criteria"].as_array().unwrap().len(), 1);
    let old = body(
        p.scoring(
            Method::GET,
            &format!("{path}?version=1"),
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(old["criteria"], v1["criteria"]);
    assert_error(
        p.scoring(
            Method::GET,
            &format!("{path}?version=9"),
            &admin.access,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let list = body(
        p.scoring(
            Method::GET,
            "/api/v1/rubrics?position=Engineer",
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["version"], 2);
}

#[tokio::test]
async fn bad_rubrics_are_422_and_only_admins_and_managers_write() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    for criteria in [
        json!([]),
        json!([{"key": "a", "name": "A", "weight": 0}]),
        json!([{"key": "a", "name": "A", "weight": -1}]),
        json!([{"key": "a", "name": "A", "weight": 1}, {"key": "a", "name": "A again", "weight": 1}]),
        json!([{"key": "Not A Key", "name": "A", "weight": 1}]),
        json!([{"key": "a", "name": "", "weight": 1}]),
    ] {
        let res = p
            .scoring(
                Method::POST,
                "/api/v1/rubrics",
                &admin.access,
                Some(json!({"name": "R", "criteria": criteria})),
            )
            .await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let res = p
        .scoring(
            Method::POST,
            "/api/v1/rubrics",
            &admin.access,
            Some(json!({"name": "R", "criteria": [{"key": "a", "name": "A", "weight": "heavy"}]})),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = p
        .scoring(
            Method::POST,
            "/api/v1/rubrics",
            &admin.access,
            Some(json!({"name": "R"})),
        )
        .await;
    assert_error(res, StatusCode::BAD_REQUEST).await;

    let (_, manager) = p.user("manager", "Mia Manager").await;
    let (_, agent) = p.user("agent", "Alice Agent").await;
    p.rubric(&manager.access, &[("a", 1.0)]).await;
    let res = p
        .scoring(
            Method::POST,
            "/api/v1/rubrics",
            &agent.access,
            Some(json!({"name": "R", "criteria": [{"key": "a", "name": "A", "weight": 1}]})),
        )
        .await;
    assert_eq!(
        assert_error(res, StatusCode::FORBIDDEN).await,
        "Only admins and managers can change rubrics"
    );
    // Agents read them.
    let list = body(
        p.scoring(Method::GET, "/api/v1/rubrics", &agent.access, None)
            .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_page_of_rubrics_carries_each_ones_current_criteria() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let a = p.rubric(&admin.access, &[("coding", 1.0)]).await;
    let b = p
        .rubric(&admin.access, &[("design", 2.0), ("comms", 1.0)])
        .await;
    let c = p.rubric(&admin.access, &[("sql", 1.0)]).await;
    // b moves on to a second version; a page must show it, not its first.
    let res = p
        .scoring(
            Method::PATCH,
            &format!("/api/v1/rubrics/{b}"),
            &admin.access,
            Some(json!({"criteria": [{"key": "systems", "name": "Systems", "weight": 1}]})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let list = body(
        p.scoring(Method::GET, "/api/v1/rubrics", &admin.access, None)
            .await,
    )
    .await;
    let page = list.as_array().unwrap();
    assert_eq!(page.len(), 3);
    let keys = |id: uuid::Uuid| -> (i64, Vec<String>) {
        let r = page
            .iter()
            .find(|r| r["id"] == id.to_string())
            .unwrap_or_else(|| panic!("rubric {id} missing from {list}"));
        let keys = r["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap().to_owned())
            .collect();
        (r["version"].as_i64().unwrap(), keys)
    };
    assert_eq!(keys(a), (1, vec!["coding".to_owned()]));
    assert_eq!(keys(b), (2, vec!["systems".to_owned()]));
    assert_eq!(keys(c), (1, vec!["sql".to_owned()]));
}
