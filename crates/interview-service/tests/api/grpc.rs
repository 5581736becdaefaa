//! Interview lookup over gRPC for the scoring service.

use crate::helpers::*;
use platform_proto::interview::v1::GetInterviewRequest;
use platform_proto::interview::v1::interview_service_client::InterviewServiceClient;
use tonic::Code;

fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    req
}

#[tokio::test]
async fn an_interview_is_looked_up_by_company_and_id_with_the_credential() {
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let c = p.candidate(&admin.access, "Grace Hopper").await;
    let id = p
        .scheduled(&admin.access, c, &[alice], "2030-01-02T10:00:00Z", 60)
        .await;
    let me = body(
        p.auth_call(
            reqwest::Method::GET,
            "/api/v1/users/me",
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    let company = me["company_id"].as_str().unwrap().to_owned();
    let mut client = InterviewServiceClient::connect(p.interview_grpc.clone())
        .await
        .unwrap();

    let ask = |company: &str, id: &str| GetInterviewRequest {
        company_id: company.into(),
        interview_id: id.into(),
    };
    let i = client
        .get_interview(with_key(ask(&company, &id.to_string()), INTERNAL_KEY))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(i.id, id.to_string());
    assert_eq!(i.candidate_id, c.to_string());
    assert_eq!(i.interviewer_ids, vec![alice.to_string()]);
    assert_eq!(
        i.status(),
        platform_proto::interview::v1::InterviewStatus::Scheduled
    );
    assert_eq!(
        i.kind(),
        platform_proto::interview::v1::InterviewKind::Video
    );
    assert_eq!(i.scheduled_at, "2030-01-02T10:00:00Z");
    assert_eq!(i.duration_minutes, 60);

    let (other, _) = seed_company(&p.db, "Globex", "boss@globex.example").await;
    let err = client
        .get_interview(with_key(
            ask(&other.to_string(), &id.to_string()),
            INTERNAL_KEY,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .get_interview(with_key(ask("nope", &id.to_string()), INTERNAL_KEY))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = client
        .get_interview(ask(&company, &id.to_string()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = client
        .get_interview(with_key(
            ask(&company, &id.to_string()),
            "wrong-key-0123456789",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_candidates_interviews_are_listed_for_scoring() {
    use platform_proto::interview::v1::ListCandidateInterviewsRequest;
    let p = spawn_platform().await;
    let admin = p.admin().await;
    let (alice, _) = p.user("agent", "Alice Agent").await;
    let grace = p.candidate(&admin.access, "Grace Hopper").await;
    let alan = p.candidate(&admin.access, "Alan Turing").await;
    let second = p
        .scheduled(&admin.access, grace, &[alice], "2030-01-03T10:00:00Z", 60)
        .await;
    let first = p
        .scheduled(&admin.access, grace, &[alice], "2030-01-02T10:00:00Z", 60)
        .await;
    p.scheduled(&admin.access, alan, &[alice], "2030-01-04T10:00:00Z", 60)
        .await;
    let me = body(
        p.auth_call(
            reqwest::Method::GET,
            "/api/v1/users/me",
            &admin.access,
            None,
        )
        .await,
    )
    .await;
    let company = me["company_id"].as_str().unwrap().to_owned();
    let mut client = InterviewServiceClient::connect(p.interview_grpc.clone())
        .await
        .unwrap();
    let ask = |company: &str, candidate: String| ListCandidateInterviewsRequest {
        company_id: company.into(),
        candidate_id: candidate,
    };

    let list = client
        .list_candidate_interviews(with_key(ask(&company, grace.to_string()), INTERNAL_KEY))
        .await
        .unwrap()
        .into_inner()
        .interviews;
    let ids: Vec<String> = list.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids, [first.to_string(), second.to_string()]);
    let (other, _) = seed_company(&p.db, "Globex", "boss@globex.example").await;
    let err = client
        .list_candidate_interviews(with_key(
            ask(&other.to_string(), grace.to_string()),
            INTERNAL_KEY,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
