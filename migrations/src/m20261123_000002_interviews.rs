//! The interview service's tables: candidates, interviews and who interviews in each.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Candidates {
    Table,
    Id,
    CompanyId,
    FullName,
    Email,
    Phone,
    Position,
    Source,
    Status,
    Notes,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Interviews {
    Table,
    Id,
    CompanyId,
    CandidateId,
    Title,
    Kind,
    ScheduledAt,
    EndsAt,
    DurationMinutes,
    Location,
    MeetingUrl,
    Status,
    Sequence,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InterviewParticipants {
    Table,
    InterviewId,
    UserId,
    CompanyId,
}

fn tstz<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Candidates::Table)
                    .col(
                        ColumnDef::new(Candidates::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Candidates::CompanyId).uuid().not_null())
                    .col(
                        ColumnDef::new(Candidates::FullName)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Candidates::Email).string_len(255).not_null())
                    .col(ColumnDef::new(Candidates::Phone).string_len(50).null())
                    .col(ColumnDef::new(Candidates::Position).string_len(200).null())
                    .col(ColumnDef::new(Candidates::Source).string_len(100).null())
                    .col(ColumnDef::new(Candidates::Status).string_len(32).not_null())
                    .col(ColumnDef::new(Candidates::Notes).text().null())
                    .col(ColumnDef::new(Candidates::CreatedBy).uuid().not_null())
                    .col(tstz(Candidates::CreatedAt))
                    .col(tstz(Candidates::UpdatedAt))
                    .col(
                        ColumnDef::new(Candidates::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_candidates_company_created")
                    .table(Candidates::Table)
                    .col(Candidates::CompanyId)
                    .col(Candidates::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Interviews::Table)
                    .col(
                        ColumnDef::new(Interviews::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Interviews::CompanyId).uuid().not_null())
                    .col(ColumnDef::new(Interviews::CandidateId).uuid().not_null())
                    .col(ColumnDef::new(Interviews::Title).string_len(200).not_null())
                    .col(ColumnDef::new(Interviews::Kind).string_len(16).not_null())
                    .col(tstz(Interviews::ScheduledAt))
                    // Stored, not computed, so overlap checks are plain comparisons on any backend.
                    .col(tstz(Interviews::EndsAt))
                    .col(
                        ColumnDef::new(Interviews::DurationMinutes)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Interviews::Location).string_len(500).null())
                    .col(
                        ColumnDef::new(Interviews::MeetingUrl)
                            .string_len(2000)
                            .null(),
                    )
                    .col(ColumnDef::new(Interviews::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Interviews::Sequence)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Interviews::CreatedBy).uuid().not_null())
                    .col(tstz(Interviews::CreatedAt))
                    .col(tstz(Interviews::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_interviews_candidate")
                            .from(Interviews::Table, Interviews::CandidateId)
                            .to(Candidates::Table, Candidates::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interviews_company_scheduled")
                    .table(Interviews::Table)
                    .col(Interviews::CompanyId)
                    .col(Interviews::ScheduledAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interviews_candidate")
                    .table(Interviews::Table)
                    .col(Interviews::CandidateId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InterviewParticipants::Table)
                    .col(
                        ColumnDef::new(InterviewParticipants::InterviewId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InterviewParticipants::UserId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InterviewParticipants::CompanyId)
                            .uuid()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(InterviewParticipants::InterviewId)
                            .col(InterviewParticipants::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_participants_interview")
                            .from(
                                InterviewParticipants::Table,
                                InterviewParticipants::InterviewId,
                            )
                            .to(Interviews::Table, Interviews::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_participants_user")
                    .table(InterviewParticipants::Table)
                    .col(InterviewParticipants::CompanyId)
                    .col(InterviewParticipants::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            InterviewParticipants::Table.into_iden(),
            Interviews::Table.into_iden(),
            Candidates::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
