//! Introspection and user lookup over real gRPC, the caller credential, and the open
//! health and reflection services.

use crate::helpers::*;
use platform_proto::auth::v1::auth_service_client::AuthServiceClient;
use platform_proto::auth::v1::{IntrospectRequest, IntrospectResponse, LookupUsersRequest};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tonic::Code;
use tonic::transport::Channel;

async fn client(app: &TestApp) -> AuthServiceClient<Channel> {
    AuthServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap()
}

fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    req
}

async fn introspect(app: &TestApp, token: &str) -> IntrospectResponse {
    client(app)
        .await
        .introspect(with_key(
            IntrospectRequest {
                token: token.into(),
            },
            INTERNAL_KEY,
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn an_active_token_introspects_with_rfc7662_fields() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    let r = introspect(&app, &tokens.access).await;
    assert!(r.active);
    assert_eq!(r.sub, app.admin_id.to_string());
    assert_eq!(r.company_id, app.company.to_string());
    assert_eq!(r.role, "admin");
    assert_eq!(r.token_type, "access");
    assert_eq!(r.exp - r.iat, 900);
    assert_eq!(r.permissions.len(), 6);
    assert!(r.permissions.values().all(|v| *v));
    assert!(!r.jti.is_empty() && !r.session_id.is_empty());
}

#[tokio::test]
async fn every_kind_of_dead_token_is_inactive_with_no_fields() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let (agent_id, agent) = app.user_with_role("agent").await;
    let (_, leaver) = app.user_with_role("viewer").await;

    let mut expired = crate::tokens::claims_of(&admin.access);
    expired["exp"] = json!(expired["iat"].as_i64().unwrap() - 1);
    let forged = crate::tokens::sign(
        &crate::tokens::claims_of(&admin.access),
        "some-other-key-that-is-32-bytes-long",
    );
    assert_eq!(app.logout(&leaver.access).await.status(), StatusCode::OK);
    let res = app
        .send_json(
            Method::DELETE,
            &format!("/api/v1/users/{agent_id}"),
            &admin.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    for (what, token) in [
        ("expired", crate::tokens::sign(&expired, SECRET)),
        ("wrong key", forged),
        ("refresh token", admin.refresh.clone()),
        ("revoked by logout", leaver.access.clone()),
        ("deactivated user", agent.access.clone()),
        ("garbage", "x.y.z".to_owned()),
    ] {
        let r = introspect(&app, &token).await;
        assert_eq!(r, IntrospectResponse::default(), "{what}");
    }
}

#[tokio::test]
async fn introspection_reports_overrides_in_the_permission_map() {
    let app = spawn_app().await;
    let admin = app.admin_tokens().await;
    let (id, agent) = app.user_with_role("agent").await;
    app.send_json(
        Method::PUT,
        &format!("/api/v1/users/{id}/permissions"),
        &admin.access,
        &json!({"candidates": true, "calls": false}),
    )
    .await;
    let r = introspect(&app, &agent.access).await;
    assert!(r.permissions["candidates"]);
    assert!(!r.permissions["calls"]);
    assert!(!r.permissions["user_management"]);
}

#[tokio::test]
async fn a_caller_without_the_service_credential_is_unauthenticated() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    let mut c = client(&app).await;
    let err = c
        .introspect(IntrospectRequest {
            token: tokens.access.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = c
        .introspect(with_key(
            IntrospectRequest {
                token: tokens.access,
            },
            "wrong-key-0123456789",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = c
        .lookup_users(LookupUsersRequest {
            company_id: app.company.to_string(),
            user_ids: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn lookup_answers_only_users_of_the_company() {
    let app = spawn_app().await;
    let (_, foreign) = seed_company(&app.db, "Globex", "boss@globex.example").await;
    let (agent, _) = app.user_with_role("agent").await;
    let nobody = uuid::Uuid::new_v4();
    let reply = client(&app)
        .await
        .lookup_users(with_key(
            LookupUsersRequest {
                company_id: app.company.to_string(),
                user_ids: vec![
                    agent.to_string(),
                    foreign.to_string(),
                    nobody.to_string(),
                    app.admin_id.to_string(),
                ],
            },
            INTERNAL_KEY,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut ids: Vec<String> = reply.users.iter().map(|u| u.id.clone()).collect();
    ids.sort();
    let mut want = vec![agent.to_string(), app.admin_id.to_string()];
    want.sort();
    assert_eq!(ids, want);
    assert!(
        reply
            .users
            .iter()
            .all(|u| u.is_active && !u.full_name.is_empty())
    );

    let err = client(&app)
        .await
        .lookup_users(with_key(
            LookupUsersRequest {
                company_id: "not-a-uuid".into(),
                user_ids: vec![],
            },
            INTERNAL_KEY,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn health_and_reflection_answer_without_the_credential() {
    use tonic_health::pb::health_check_response::ServingStatus;

    let app = spawn_app().await;
    for service in ["", "auth.v1.AuthService"] {
        assert_eq!(
            test_support::grpc_health(&app.grpc_address, service).await,
            ServingStatus::Serving,
            "{service:?}"
        );
    }

    // Exactly what this server serves: not the interview service, whose descriptors
    // share the platform's descriptor set.
    assert_eq!(
        test_support::grpc_services(&app.grpc_address).await,
        [
            "auth.v1.AuthService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection"
        ]
    );
}

#[tokio::test]
async fn health_is_not_serving_while_the_database_is_unreachable() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let (database_url, _) = test_support::fresh_database().await;
    let proxy = test_support::Proxy::start("127.0.0.1:5432").await;
    let proxied = test_support::via_proxy(&database_url, &proxy);
    let conn = service_runtime::db::connect(&proxied, 2).await.unwrap();
    let auth = test_support::spawn_auth(&proxied, conn, &[]).await;
    for service in ["", "auth.v1.AuthService"] {
        test_support::wait_for_grpc_health(&auth.grpc_address, service, ServingStatus::Serving, 5)
            .await;
    }

    proxy.cut();
    for service in ["", "auth.v1.AuthService"] {
        test_support::wait_for_grpc_health(
            &auth.grpc_address,
            service,
            ServingStatus::NotServing,
            15,
        )
        .await;
    }
    // HTTP readiness names the dependency, not what the driver said about it.
    let res = test_support::client()
        .get(format!("{}/readyz", auth.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let v = test_support::body(res).await;
    assert!(v["detail"].as_str().unwrap().contains("database"), "{v}");
    assert_eq!(v["failing"]["database"], "not answering", "{v}");

    proxy.restore();
    test_support::wait_for_grpc_health(
        &auth.grpc_address,
        "auth.v1.AuthService",
        ServingStatus::Serving,
        15,
    )
    .await;
}

/// The line of `/metrics` for the gRPC calls of `method` answered with `code`.
fn grpc_count(metrics: &str, method: &str, code: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with("grpc_requests_total{"))
        .filter(|l| l.contains(&format!("method=\"{method}\"")))
        .filter(|l| l.contains(&format!("code=\"{code}\"")))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn every_grpc_call_is_counted_and_timed_by_method_and_status() {
    let app = spawn_app().await;
    let tokens = app.admin_tokens().await;
    introspect(&app, &tokens.access).await;
    let refused = client(&app)
        .await
        .lookup_users(LookupUsersRequest {
            company_id: app.company.to_string(),
            user_ids: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let metrics = app.metrics().await;
    assert!(
        grpc_count(&metrics, "Introspect", "Ok").is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert!(
        grpc_count(&metrics, "LookupUsers", "Unauthenticated").is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert!(
        metrics.contains("grpc_request_duration_seconds"),
        "no gRPC latency in {metrics}"
    );
}

/// With `INTERNAL_CALLERS` each service calls with a key of its own and auth knows who is
/// calling: the audit-writer may introspect but not read users; a key of nobody is refused.
#[tokio::test]
async fn each_service_calls_with_its_own_key_and_only_what_it_needs() {
    const INTERVIEW: &str = "interview-caller-key-0123456789";
    const AUDIT: &str = "audit-caller-key-0123456789abcd";
    let callers = json!({"interview": INTERVIEW, "audit-writer": AUDIT}).to_string();
    let app = spawn_app_with(&[("INTERNAL_CALLERS", callers.as_str())]).await;
    let t = app.admin_tokens().await;
    let lookup = |key: &'static str| {
        let app_grpc = app.grpc_address.clone();
        let company = app.company.to_string();
        let admin = app.admin_id.to_string();
        async move {
            AuthServiceClient::connect(app_grpc)
                .await
                .unwrap()
                .lookup_users(with_key(
                    LookupUsersRequest {
                        company_id: company,
                        user_ids: vec![admin],
                    },
                    key,
                ))
                .await
        }
    };
    assert_eq!(lookup(INTERVIEW).await.unwrap().into_inner().users.len(), 1);
    let denied = lookup(AUDIT).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(
        denied.message().contains("audit-writer"),
        "{}",
        denied.message()
    );
    // The shared key is no credential once each service has its own.
    assert_eq!(
        lookup(INTERNAL_KEY).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let answer = client(&app)
        .await
        .introspect(with_key(
            IntrospectRequest {
                token: t.access.clone(),
            },
            AUDIT,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.active);
}

/// The files of a CA the test makes and of a certificate for `localhost` it signs: (CA
/// PEM, certificate path, key path).
fn test_pki(dir: &std::path::Path) -> (String, String, String) {
    std::fs::create_dir_all(dir).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "platform test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (
        ca.pem(),
        cert_path.display().to_string(),
        key_path.display().to_string(),
    )
}

/// With `GRPC_TLS_CERT` and `GRPC_TLS_KEY` the gRPC server speaks TLS: a client trusting
/// the CA (`GRPC_TLS_CA`) introspects over `https://`; plaintext, and a client trusting
/// another CA, get nowhere.
#[tokio::test]
async fn grpc_speaks_tls_with_the_certificate_it_is_given() {
    use auth_types::IntrospectionClient;
    use secrecy::SecretString;
    use std::time::Duration;
    let dir = std::env::temp_dir().join(format!("aip-tls-{}", uuid::Uuid::new_v4().simple()));
    let (ca, cert, key) = test_pki(&dir);
    let (other_ca, _, _) = test_pki(&dir.join("other"));
    let app = spawn_app_with(&[
        ("GRPC_TLS_CERT", cert.as_str()),
        ("GRPC_TLS_KEY", key.as_str()),
    ])
    .await;
    let port = app.grpc_address.rsplit(':').next().unwrap().to_owned();
    let t = app.admin_tokens().await;
    let key = SecretString::from(INTERNAL_KEY.to_owned());
    let tls = IntrospectionClient::with_tls(
        &format!("https://localhost:{port}"),
        &key,
        Duration::ZERO,
        Some(&ca),
    )
    .unwrap();
    let principal = tls.introspect(&t.access).await.unwrap();
    assert!(principal.is_some(), "introspected over TLS");
    let plain = IntrospectionClient::new(&format!("http://127.0.0.1:{port}"), &key, Duration::ZERO)
        .unwrap();
    assert!(
        plain.introspect(&t.access).await.is_err(),
        "plaintext to a TLS port"
    );
    let stranger = IntrospectionClient::with_tls(
        &format!("https://localhost:{port}"),
        &key,
        Duration::ZERO,
        Some(&other_ca),
    )
    .unwrap();
    assert!(
        stranger.introspect(&t.access).await.is_err(),
        "another CA's trust"
    );
    // An https URL without a CA to trust is a configuration error, named.
    let err = IntrospectionClient::with_tls(
        &format!("https://localhost:{port}"),
        &key,
        Duration::ZERO,
        None,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("GRPC_TLS_CA"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
