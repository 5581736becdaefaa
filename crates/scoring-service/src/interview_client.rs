//! The interview service, asked over gRPC: which interviews exist, their status and
//! interviewers. Not found is 404 here too; anything else it answers is 503.

use crate::error::ScoringError;
use auth_types::{CandidateId, CompanyId, InterviewId};
use platform_proto::conversions::InterviewFacts;
use platform_proto::interview::v1::interview_service_client::InterviewServiceClient;
use platform_proto::interview::v1::{GetInterviewRequest, ListCandidateInterviewsRequest};
use secrecy::SecretString;
use service_runtime::config::ConfigError;
use service_runtime::error::Failure;
use service_runtime::error::Failures;
use service_runtime::grpc::PresentCredential;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

#[derive(Clone)]
pub struct InterviewClient {
    grpc: InterviewServiceClient<InterceptedService<Channel, PresentCredential>>,
}

fn failed(status: tonic::Status, missing: &'static str) -> ScoringError {
    if status.code() == tonic::Code::NotFound {
        return ScoringError::not_found(missing);
    }
    tracing::warn!(code = ?status.code(), message = status.message(), "interview service call failed");
    ScoringError::unavailable("interview service", status.message())
}

fn malformed(e: platform_proto::conversions::Malformed) -> ScoringError {
    ScoringError::unexpected(anyhow::anyhow!("the interview service answered: {e}"))
}

impl InterviewClient {
    /// Connects lazily, like the introspection client.
    /// Over TLS for an `https://` URL, trusting `ca` (`GRPC_TLS_CA`).
    pub fn new(url: &str, key: &SecretString, ca: Option<&str>) -> Result<Self, ConfigError> {
        let endpoint = service_runtime::grpc::client_endpoint(url, "INTERVIEW_GRPC_URL", ca)?;
        Ok(Self {
            grpc: InterviewServiceClient::with_interceptor(
                endpoint.connect_lazy(),
                PresentCredential::new(key)?,
            ),
        })
    }

    pub async fn interview(
        &self,
        company: CompanyId,
        id: InterviewId,
    ) -> Result<InterviewFacts, ScoringError> {
        let message = self
            .grpc
            .clone()
            .get_interview(GetInterviewRequest {
                company_id: company.to_string(),
                interview_id: id.to_string(),
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| failed(s, "Interview"))?;
        InterviewFacts::try_from(message).map_err(malformed)
    }

    pub async fn of_candidate(
        &self,
        company: CompanyId,
        candidate: CandidateId,
    ) -> Result<Vec<InterviewFacts>, ScoringError> {
        self.grpc
            .clone()
            .list_candidate_interviews(ListCandidateInterviewsRequest {
                company_id: company.to_string(),
                candidate_id: candidate.to_string(),
            })
            .await
            .map_err(|s| failed(s, "Candidate"))?
            .into_inner()
            .interviews
            .into_iter()
            .map(|m| InterviewFacts::try_from(m).map_err(malformed))
            .collect()
    }
}

/// Readiness: the interview service answers an authenticated call.
pub struct InterviewCheck(pub InterviewClient);

#[async_trait::async_trait]
impl service_runtime::health::ReadinessCheck for InterviewCheck {
    fn name(&self) -> &'static str {
        "interview"
    }

    async fn check(&self) -> Result<(), String> {
        match self
            .0
            .interview(CompanyId(Uuid::nil()), InterviewId(Uuid::nil()))
            .await
        {
            Ok(_) | Err(ScoringError::Failure(Failure::NotFound(_))) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}
