//! The auth service's tables: companies, users, per-user page overrides, sessions.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    CompanyId,
    Email,
    PasswordHash,
    FullName,
    Department,
    Role,
    IsActive,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserPageAccess {
    Table,
    Id,
    UserId,
    PageName,
    HasAccess,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CompanyId,
    UserAgent,
    IpAddress,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
    RevokedReason,
}

fn timestamps<T: IntoIden>(created: T, updated: T) -> [ColumnDef; 2] {
    [
        ColumnDef::new(created)
            .timestamp_with_time_zone()
            .not_null()
            .to_owned(),
        ColumnDef::new(updated)
            .timestamp_with_time_zone()
            .not_null()
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let [created, updated] = timestamps(Companies::CreatedAt, Companies::UpdatedAt);
        manager
            .create_table(
                Table::create()
                    .table(Companies::Table)
                    .col(
                        ColumnDef::new(Companies::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Companies::Name)
                            .string_len(200)
                            .not_null()
                            .unique_key(),
                    )
                    .col(created)
                    .col(updated)
                    .to_owned(),
            )
            .await?;

        let [created, updated] = timestamps(Users::CreatedAt, Users::UpdatedAt);
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Users::CompanyId).uuid().not_null())
                    // Stored lower-cased, so the unique key is case-insensitive.
                    .col(
                        ColumnDef::new(Users::Email)
                            .string_len(255)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Users::PasswordHash)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Users::FullName).string_len(200).not_null())
                    .col(ColumnDef::new(Users::Department).string_len(200).null())
                    .col(ColumnDef::new(Users::Role).string_len(32).not_null())
                    .col(
                        ColumnDef::new(Users::IsActive)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(created)
                    .col(updated)
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_company")
                            .from(Users::Table, Users::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_company_id")
                    .table(Users::Table)
                    .col(Users::CompanyId)
                    .to_owned(),
            )
            .await?;

        let [created, updated] = timestamps(UserPageAccess::CreatedAt, UserPageAccess::UpdatedAt);
        manager
            .create_table(
                Table::create()
                    .table(UserPageAccess::Table)
                    .col(
                        ColumnDef::new(UserPageAccess::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(UserPageAccess::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(UserPageAccess::PageName)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UserPageAccess::HasAccess)
                            .boolean()
                            .not_null(),
                    )
                    .col(created)
                    .col(updated)
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_page_access_user")
                            .from(UserPageAccess::Table, UserPageAccess::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_user_page_access_user_page")
                    .table(UserPageAccess::Table)
                    .col(UserPageAccess::UserId)
                    .col(UserPageAccess::PageName)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(ColumnDef::new(Sessions::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Sessions::UserId).uuid().not_null())
                    .col(ColumnDef::new(Sessions::CompanyId).uuid().not_null())
                    .col(ColumnDef::new(Sessions::UserAgent).string_len(512).null())
                    .col(ColumnDef::new(Sessions::IpAddress).string_len(64).null())
                    .col(
                        ColumnDef::new(Sessions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::LastUsedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::RevokedReason)
                            .string_len(64)
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_company")
                            .from(Sessions::Table, Sessions::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user_id")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Sessions::Table.into_iden(),
            UserPageAccess::Table.into_iden(),
            Users::Table.into_iden(),
            Companies::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
