//! Passwords, password resets, outgoing mail and TOTP multi-factor authentication
//! (issue 13): when each user last set a password and whether they must change it, the
//! hashes of their recent passwords, single-use reset tokens (digests only), the mail
//! outbox the mailer drains, each user's sealed TOTP secret with its last accepted step,
//! recovery code digests, and a company's `mfa_required_roles`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    PasswordChangedAt,
    PasswordChangeRequired,
    MfaEnabled,
}

#[derive(DeriveIden)]
enum Companies {
    Table,
    MfaRequiredRoles,
}

#[derive(DeriveIden)]
enum PasswordHistory {
    Table,
    Id,
    UserId,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PasswordResets {
    Table,
    Id,
    UserId,
    CompanyId,
    TokenDigest,
    IpAddress,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    Body,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    LastError,
}

#[derive(DeriveIden)]
enum UserMfa {
    Table,
    UserId,
    SecretSealed,
    ConfirmedAt,
    LastUsedStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MfaRecoveryCodes {
    Table,
    Id,
    UserId,
    Digest,
    UsedAt,
    CreatedAt,
}

fn at<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn user_fk(name: &str, from: impl IntoTableRef, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, col)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::PasswordChangedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::PasswordChangeRequired)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::MfaEnabled)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Companies::Table)
                    .add_column(
                        ColumnDef::new(Companies::MfaRequiredRoles)
                            .string_len(200)
                            .not_null()
                            .default("[]"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PasswordHistory::Table)
                    .col(
                        ColumnDef::new(PasswordHistory::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PasswordHistory::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(PasswordHistory::PasswordHash)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(at(PasswordHistory::CreatedAt))
                    .foreign_key(&mut user_fk(
                        "fk_password_history_user",
                        PasswordHistory::Table,
                        PasswordHistory::UserId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_password_history_user")
                    .table(PasswordHistory::Table)
                    .col(PasswordHistory::UserId)
                    .col(PasswordHistory::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PasswordResets::Table)
                    .col(
                        ColumnDef::new(PasswordResets::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PasswordResets::UserId).uuid().not_null())
                    .col(ColumnDef::new(PasswordResets::CompanyId).uuid().not_null())
                    .col(
                        ColumnDef::new(PasswordResets::TokenDigest)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(PasswordResets::IpAddress)
                            .string_len(64)
                            .null(),
                    )
                    .col(at(PasswordResets::CreatedAt))
                    .col(at(PasswordResets::ExpiresAt))
                    .col(
                        ColumnDef::new(PasswordResets::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(&mut user_fk(
                        "fk_password_resets_user",
                        PasswordResets::Table,
                        PasswordResets::UserId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_password_resets_user")
                    .table(PasswordResets::Table)
                    .col(PasswordResets::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .col(
                        ColumnDef::new(MailOutbox::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::Recipient)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::Subject)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(MailOutbox::Body).text().not_null())
                    .col(at(MailOutbox::CreatedAt))
                    .col(
                        ColumnDef::new(MailOutbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(at(MailOutbox::NextAttemptAt))
                    .col(ColumnDef::new(MailOutbox::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_outbox_due")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserMfa::Table)
                    .col(
                        ColumnDef::new(UserMfa::UserId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(UserMfa::SecretSealed).text().not_null())
                    .col(
                        ColumnDef::new(UserMfa::ConfirmedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(UserMfa::LastUsedStep).big_integer().null())
                    .col(at(UserMfa::CreatedAt))
                    .foreign_key(&mut user_fk(
                        "fk_user_mfa_user",
                        UserMfa::Table,
                        UserMfa::UserId,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MfaRecoveryCodes::Table)
                    .col(
                        ColumnDef::new(MfaRecoveryCodes::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MfaRecoveryCodes::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(MfaRecoveryCodes::Digest)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MfaRecoveryCodes::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(at(MfaRecoveryCodes::CreatedAt))
                    .foreign_key(&mut user_fk(
                        "fk_mfa_recovery_codes_user",
                        MfaRecoveryCodes::Table,
                        MfaRecoveryCodes::UserId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_mfa_recovery_codes_user_digest")
                    .table(MfaRecoveryCodes::Table)
                    .col(MfaRecoveryCodes::UserId)
                    .col(MfaRecoveryCodes::Digest)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MfaRecoveryCodes::Table.into_iden(),
            UserMfa::Table.into_iden(),
            MailOutbox::Table.into_iden(),
            PasswordResets::Table.into_iden(),
            PasswordHistory::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Companies::Table)
                    .drop_column(Companies::MfaRequiredRoles)
                    .to_owned(),
            )
            .await?;
        for col in [
            Users::MfaEnabled,
            Users::PasswordChangeRequired,
            Users::PasswordChangedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
