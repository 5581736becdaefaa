//! The gRPC face of the interview service (:50052): interview lookup for the scoring
//! service, behind the internal service credential.

use crate::domain::interview::{InterviewKind, InterviewStatus};
use crate::entities::interview;
use crate::error::InterviewError;
use crate::service::{AppState, interviews};
use crate::store::{candidates, interviews as store};
use auth_types::{CandidateId, CompanyId, InterviewId, UserId};
use platform_proto::conversions::id;
use platform_proto::interview::v1::interview_service_server::InterviewService;
use platform_proto::interview::v1::{
    self as proto, GetInterviewRequest, Interview, ListCandidateInterviewsRequest,
    ListCandidateInterviewsResponse,
};
use service_runtime::error::Failures;
use service_runtime::grpc::authorize;
use time::format_description::well_known::Rfc3339;
use tonic::{Request, Response, Status};

pub struct InterviewGrpc {
    state: AppState,
}

impl InterviewGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// Who may read interviews over gRPC: the scoring service (with `INTERNAL_CALLERS`; the
/// shared credential may call anything).
const CALLERS: &[&str] = &["scoring"];

#[tonic::async_trait]
impl InterviewService for InterviewGrpc {
    async fn get_interview(
        &self,
        request: Request<GetInterviewRequest>,
    ) -> Result<Response<Interview>, Status> {
        authorize(&request, CALLERS)?;
        let req = request.into_inner();
        let company: CompanyId = id("company_id", &req.company_id)?;
        let interview: InterviewId = id("interview_id", &req.interview_id)?;
        let (i, people) = interviews::load(&self.state, company, interview).await?;
        Ok(Response::new(message(i, &people)?))
    }

    async fn list_candidate_interviews(
        &self,
        request: Request<ListCandidateInterviewsRequest>,
    ) -> Result<Response<ListCandidateInterviewsResponse>, Status> {
        authorize(&request, CALLERS)?;
        let req = request.into_inner();
        let company: CompanyId = id("company_id", &req.company_id)?;
        let candidate: CandidateId = id("candidate_id", &req.candidate_id)?;
        let db = &self.state.db;
        if candidates::find(db, company, candidate)
            .await
            .map_err(InterviewError::from)?
            .is_none()
        {
            return Err(InterviewError::not_found("Candidate").into());
        }
        let rows = store::of_candidate(db, company, candidate)
            .await
            .map_err(InterviewError::from)?;
        let ids: Vec<InterviewId> = rows.iter().map(|i| i.id).collect();
        let mut who = store::participants(db, &ids)
            .await
            .map_err(InterviewError::from)?;
        let interviews = rows
            .into_iter()
            .map(|i| {
                let people = who.remove(&i.id).unwrap_or_default();
                message(i, &people)
            })
            .collect::<Result<_, _>>()?;
        Ok(Response::new(ListCandidateInterviewsResponse {
            interviews,
        }))
    }
}

fn message(i: interview::Model, people: &[UserId]) -> Result<Interview, Status> {
    Ok(Interview {
        id: i.id.to_string(),
        company_id: i.company_id.to_string(),
        candidate_id: i.candidate_id.to_string(),
        interviewer_ids: people.iter().map(UserId::to_string).collect(),
        title: i.title,
        kind: proto_kind(i.kind).into(),
        status: proto_status(i.status).into(),
        scheduled_at: i
            .scheduled_at
            .format(&Rfc3339)
            .map_err(|e| Status::internal(e.to_string()))?,
        duration_minutes: u32::try_from(i.duration_minutes).unwrap_or(0),
        created_by: i.created_by.to_string(),
    })
}

fn proto_status(s: InterviewStatus) -> proto::InterviewStatus {
    match s {
        InterviewStatus::Scheduled => proto::InterviewStatus::Scheduled,
        InterviewStatus::InProgress => proto::InterviewStatus::InProgress,
        InterviewStatus::Completed => proto::InterviewStatus::Completed,
        InterviewStatus::Cancelled => proto::InterviewStatus::Cancelled,
        InterviewStatus::NoShow => proto::InterviewStatus::NoShow,
    }
}

fn proto_kind(k: InterviewKind) -> proto::InterviewKind {
    match k {
        InterviewKind::Phone => proto::InterviewKind::Phone,
        InterviewKind::Video => proto::InterviewKind::Video,
        InterviewKind::Onsite => proto::InterviewKind::Onsite,
        InterviewKind::Ai => proto::InterviewKind::Ai,
    }
}
