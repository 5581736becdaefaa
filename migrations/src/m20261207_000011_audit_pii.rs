//! Personal data out of the hash chain (GDPR: access and erasure). The top-level personal
//! keys of an event's `details` (email, name, address, ...) go to `audit_pii`, one row per
//! audit row, which the audit-writer may delete; `audit_logs` keeps the rest and
//! `pii_digest`, an HMAC of the side row the chain covers instead of the data itself.
//! `chain_version` says how a row is linked: 1 for every row written before (verified as
//! before), 2 for rows whose link covers the PII-free details and the digest. Also the
//! indexes erasure and export look rows up by: an audit row's resource, a company's
//! notifications.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditPii {
    Table,
    LogId,
    CompanyId,
    Data,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    CompanyId,
    ResourceType,
    ResourceId,
    PiiDigest,
    ChainVersion,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    CompanyId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditPii::Table)
                    .col(
                        ColumnDef::new(AuditPii::LogId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditPii::CompanyId).uuid().null())
                    .col(ColumnDef::new(AuditPii::Data).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_pii_company")
                    .table(AuditPii::Table)
                    .col(AuditPii::CompanyId)
                    .to_owned(),
            )
            .await?;
        // SQLite takes one column per ALTER TABLE; adding a column fires no row trigger.
        for col in [
            ColumnDef::new(AuditLogs::PiiDigest)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(AuditLogs::ChainVersion)
                .small_integer()
                .not_null()
                .default(1)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLogs::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_company_resource")
                    .table(AuditLogs::Table)
                    .col(AuditLogs::CompanyId)
                    .col(AuditLogs::ResourceType)
                    .col(AuditLogs::ResourceId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_company")
                    .table(Notifications::Table)
                    .col(Notifications::CompanyId)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            // The older group role of migration 5, kept in step with `roles::GRANTS`.
            manager
                .get_connection()
                .execute_unprepared(
                    "DO $$ BEGIN \
                       IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_writer') THEN \
                         GRANT SELECT, INSERT, DELETE ON audit_pii TO audit_writer; \
                       END IF; \
                     END $$;",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_notifications_company")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_audit_company_resource")
                    .table(AuditLogs::Table)
                    .to_owned(),
            )
            .await?;
        for col in [AuditLogs::ChainVersion, AuditLogs::PiiDigest] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLogs::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AuditPii::Table).to_owned())
            .await
    }
}
