use auth_types::{CompanyId, InterviewId, UserId};
use sea_orm::entity::prelude::*;

/// An interviewer of an interview.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interview_participants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub interview_id: InterviewId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    pub company_id: CompanyId,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::interview::Entity",
        from = "Column::InterviewId",
        to = "super::interview::Column::Id"
    )]
    Interview,
}

impl Related<super::interview::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Interview.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
