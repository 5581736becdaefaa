//! Forged, expired and misused tokens are refused (TRD §9.3).

use crate::helpers::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn sign(claims: &Value, key: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v1/users/me", token).await.status()
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    let payload = tokens.access.split('.').nth(1).unwrap();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    assert_eq!(
        me_status(&app, &format!("{header}.{payload}.")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_token_signed_with_another_key_or_algorithm_is_rejected() {
    let app = spawn_app().await;
    let claims = claims_of(&app.admin_tokens().await.access);
    assert_eq!(
        me_status(
            &app,
            &sign(&claims, "another-secret-key-of-at-least-32-bytes")
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(me_status(&app, &hs512).await, StatusCode::UNAUTHORIZED);
    // The same claims with the right key and algorithm pass: the refusals were not luck.
    assert_eq!(
        me_status(&app, &sign(&claims, SECRET)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    assert_eq!(
        me_status(&app, &tokens.refresh).await,
        StatusCode::UNAUTHORIZED
    );
    let mut claims = claims_of(&tokens.access);
    claims["typ"] = json!("refresh");
    assert_eq!(
        me_status(&app, &sign(&claims, SECRET)).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn jwt_token_expiration_is_enforced() {
    let app = spawn_app().await;
    let mut claims = claims_of(&app.admin_tokens().await.access);
    claims["exp"] = json!(claims["iat"].as_i64().unwrap() - 1);
    let res = app.get("/api/v1/users/me", &sign(&claims, SECRET)).await;
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Invalid token"
    );
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let app = spawn_app().await;
    let (_, agent) = app.user_with_role("viewer").await;
    let mut parts: Vec<String> = agent.access.split('.').map(str::to_owned).collect();
    let mut claims = claims_of(&agent.access);
    claims["role"] = json!("admin");
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    assert_eq!(
        me_status(&app, &parts.join(".")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unauthorized_access_is_rejected() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        assert_error(res, StatusCode::UNAUTHORIZED).await,
        "Not authenticated"
    );
    for header in ["Basic abc", "Bearer", "Bearer ", "garbage"] {
        let res = app
            .client
            .get(app.url("/api/v1/users/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
    let metrics = app.metrics().await;
    assert!(metrics.contains("auth_invalid_tokens_total"), "{metrics}");
}

/// With the signing key, a user signs a token naming another user (an admin) and their
/// own live session: the session was issued to them, so it is refused.
#[tokio::test]
async fn a_token_naming_another_user_on_ones_own_live_session_is_refused() {
    let app = spawn_app().await;
    let (_, agent) = app.user_with_role("agent").await;
    for token in [&agent.access, &agent.refresh] {
        let mut claims = claims_of(token);
        claims["sub"] = json!(app.admin_id.to_string());
        if claims["typ"] == "access" {
            claims["role"] = json!("admin");
        }
        let forged = sign(&claims, SECRET);
        if claims["typ"] == "access" {
            assert_eq!(me_status(&app, &forged).await, StatusCode::UNAUTHORIZED);
        } else {
            assert_eq!(
                app.refresh(&forged).await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
    }
    // The agent's own tokens still work: the forgery changed nothing.
    assert_eq!(me_status(&app, &agent.access).await, StatusCode::OK);
    assert_eq!(app.refresh(&agent.refresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_of_another_issuer_or_audience_is_refused() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    let claims = claims_of(&tokens.access);
    assert_eq!(claims["iss"], "auth");
    assert_eq!(claims["aud"], "ai-interviewer-platform");
    for (field, value) in [("iss", "someone-else"), ("aud", "another-platform")] {
        let mut forged = claims.clone();
        forged[field] = json!(value);
        assert_eq!(
            me_status(&app, &sign(&forged, SECRET)).await,
            StatusCode::UNAUTHORIZED,
            "{field}"
        );
        let mut missing = claims.clone();
        missing.as_object_mut().unwrap().remove(field);
        assert_eq!(
            me_status(&app, &sign(&missing, SECRET)).await,
            StatusCode::UNAUTHORIZED,
            "no {field}"
        );
    }
}

#[tokio::test]
async fn a_refresh_token_dies_when_idle_and_no_session_outlives_session_max_days() {
    let app = spawn_app_with(&[("SESSION_IDLE_MINUTES", "1"), ("SESSION_MAX_DAYS", "30")]).await;
    let tokens = app.admin_tokens().await;
    let claims = claims_of(&tokens.refresh);
    // Unused for a minute, the refresh token has expired.
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    assert_eq!(claims["auth_time"], claims["iat"]);

    // The same token, as if the session had begun 30 days ago (signed with the key, so
    // only the session limit can refuse it): refused, and nothing rotated.
    let mut old = claims.clone();
    old["auth_time"] = json!(claims["iat"].as_i64().unwrap() - 30 * 86_400);
    let res = app.refresh(&sign(&old, SECRET)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // The real one still refreshes, and the session's start travels with the rotation.
    let res = app.refresh(&tokens.refresh).await;
    assert_eq!(res.status(), StatusCode::OK);
    let next = claims_of(&tokens_of(body(res).await).refresh);
    assert_eq!(next["auth_time"], claims["auth_time"]);
    assert_eq!(next["fam"], claims["fam"]);
}
