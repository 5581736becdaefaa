//! The scoring service's tables: rubrics with their versions, and scorecard revisions.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Rubrics {
    Table,
    Id,
    CompanyId,
    Name,
    Position,
    CurrentVersion,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RubricVersions {
    Table,
    RubricId,
    Version,
    /// JSON: `[{key, name, description, weight}]`.
    Criteria,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Scorecards {
    Table,
    Id,
    CompanyId,
    InterviewId,
    CandidateId,
    EvaluatorId,
    RubricId,
    RubricVersion,
    /// JSON: `{criterion_key: 1..4}`.
    Ratings,
    Recommendation,
    Notes,
    Revision,
    /// The revision this one amends, if any.
    Amends,
    SubmittedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Rubrics::Table)
                    .col(ColumnDef::new(Rubrics::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Rubrics::CompanyId).uuid().not_null())
                    .col(ColumnDef::new(Rubrics::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Rubrics::Position).string_len(200).null())
                    .col(ColumnDef::new(Rubrics::CurrentVersion).integer().not_null())
                    .col(ColumnDef::new(Rubrics::CreatedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Rubrics::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Rubrics::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_rubrics_company")
                    .table(Rubrics::Table)
                    .col(Rubrics::CompanyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RubricVersions::Table)
                    .col(ColumnDef::new(RubricVersions::RubricId).uuid().not_null())
                    .col(ColumnDef::new(RubricVersions::Version).integer().not_null())
                    .col(ColumnDef::new(RubricVersions::Criteria).text().not_null())
                    .col(
                        ColumnDef::new(RubricVersions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(RubricVersions::RubricId)
                            .col(RubricVersions::Version),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rubric_versions_rubric")
                            .from(RubricVersions::Table, RubricVersions::RubricId)
                            .to(Rubrics::Table, Rubrics::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Scorecards::Table)
                    .col(
                        ColumnDef::new(Scorecards::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Scorecards::CompanyId).uuid().not_null())
                    .col(ColumnDef::new(Scorecards::InterviewId).uuid().not_null())
                    .col(ColumnDef::new(Scorecards::CandidateId).uuid().not_null())
                    .col(ColumnDef::new(Scorecards::EvaluatorId).uuid().not_null())
                    .col(ColumnDef::new(Scorecards::RubricId).uuid().not_null())
                    .col(
                        ColumnDef::new(Scorecards::RubricVersion)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Scorecards::Ratings).text().not_null())
                    .col(
                        ColumnDef::new(Scorecards::Recommendation)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Scorecards::Notes).text().null())
                    .col(ColumnDef::new(Scorecards::Revision).integer().not_null())
                    .col(ColumnDef::new(Scorecards::Amends).uuid().null())
                    .col(
                        ColumnDef::new(Scorecards::SubmittedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scorecards_rubric_version")
                            .from(
                                Scorecards::Table,
                                (Scorecards::RubricId, Scorecards::RubricVersion),
                            )
                            .to(
                                RubricVersions::Table,
                                (RubricVersions::RubricId, RubricVersions::Version),
                            )
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // One scorecard per evaluator per interview; each amendment is the next revision.
        manager
            .create_index(
                Index::create()
                    .name("uq_scorecards_interview_evaluator_revision")
                    .table(Scorecards::Table)
                    .col(Scorecards::InterviewId)
                    .col(Scorecards::EvaluatorId)
                    .col(Scorecards::Revision)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_scorecards_candidate")
                    .table(Scorecards::Table)
                    .col(Scorecards::CompanyId)
                    .col(Scorecards::CandidateId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Scorecards::Table.into_iden(),
            RubricVersions::Table.into_iden(),
            Rubrics::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
