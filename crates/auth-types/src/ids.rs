//! The platform's id newtypes. They are defined with the wire contract
//! (`platform_proto::ids`), so the proto conversions hand out typed ids too; every service
//! names them from here.

pub use platform_proto::ids::{
    CandidateId, CompanyId, InterviewId, RubricId, ScorecardId, SessionId, TokenId, UserId,
};
