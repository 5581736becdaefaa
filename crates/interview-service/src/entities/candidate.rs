use crate::domain::candidate::CandidateStatus;
use auth_types::{CandidateId, CompanyId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "candidates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CandidateId,
    pub company_id: CompanyId,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub position: Option<String>,
    pub source: Option<String>,
    pub status: CandidateStatus,
    pub notes: Option<String>,
    pub created_by: UserId,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub deleted_at: Option<TimeDateTimeWithTimeZone>,
    /// When the candidate's personal data was erased (`POST /candidates/{id}/erase`).
    pub erased_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
