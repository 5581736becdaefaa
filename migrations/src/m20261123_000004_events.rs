//! The event pipeline's tables: every service's outbox, the append-only audit log and
//! users' notifications.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Source,
    RoutingKey,
    Payload,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    LastError,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    CompanyId,
    UserId,
    Action,
    ResourceType,
    ResourceId,
    Details,
    Source,
    TraceParent,
    OccurredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    CompanyId,
    UserId,
    Type,
    Title,
    Body,
    ResourceType,
    ResourceId,
    CreatedAt,
    ReadAt,
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
                    .table(Outbox::Table)
                    .col(ColumnDef::new(Outbox::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Outbox::Source).string_len(32).not_null())
                    .col(
                        ColumnDef::new(Outbox::RoutingKey)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Outbox::Payload).text().not_null())
                    .col(tstz(Outbox::CreatedAt))
                    .col(
                        ColumnDef::new(Outbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(tstz(Outbox::NextAttemptAt))
                    .col(ColumnDef::new(Outbox::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_source_due")
                    .table(Outbox::Table)
                    .col(Outbox::Source)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLogs::Table)
                    // The event id: inserting the same event twice is a no-op.
                    .col(
                        ColumnDef::new(AuditLogs::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditLogs::CompanyId).uuid().null())
                    .col(ColumnDef::new(AuditLogs::UserId).uuid().null())
                    .col(ColumnDef::new(AuditLogs::Action).string_len(64).not_null())
                    .col(
                        ColumnDef::new(AuditLogs::ResourceType)
                            .string_len(64)
                            .null(),
                    )
                    .col(ColumnDef::new(AuditLogs::ResourceId).string_len(64).null())
                    .col(ColumnDef::new(AuditLogs::Details).text().not_null())
                    .col(ColumnDef::new(AuditLogs::Source).string_len(32).not_null())
                    .col(
                        ColumnDef::new(AuditLogs::TraceParent)
                            .string_len(128)
                            .null(),
                    )
                    .col(tstz(AuditLogs::OccurredAt))
                    .col(tstz(AuditLogs::CreatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_audit_company_time",
                vec![AuditLogs::CompanyId, AuditLogs::OccurredAt],
            ),
            (
                "idx_audit_company_user",
                vec![AuditLogs::CompanyId, AuditLogs::UserId],
            ),
            (
                "idx_audit_company_action",
                vec![AuditLogs::CompanyId, AuditLogs::Action],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditLogs::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        // Append-only, whoever connects: updates and deletes are refused by the database.
        let db = manager.get_connection();
        let sql = if manager.get_database_backend() == DbBackend::Postgres {
            "CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'audit_logs is append-only'; END $$; \
             CREATE TRIGGER audit_logs_no_update BEFORE UPDATE OR DELETE ON audit_logs \
             FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only(); \
             CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs \
             FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();"
        } else {
            "CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs \
             BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only'); END; \
             CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs \
             BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only'); END;"
        };
        db.execute_unprepared(sql).await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(
                        ColumnDef::new(Notifications::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Notifications::CompanyId).uuid().not_null())
                    .col(ColumnDef::new(Notifications::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(Notifications::Type)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Notifications::Title)
                            .string_len(300)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Notifications::Body).text().not_null())
                    .col(
                        ColumnDef::new(Notifications::ResourceType)
                            .string_len(64)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Notifications::ResourceId)
                            .string_len(64)
                            .null(),
                    )
                    .col(tstz(Notifications::CreatedAt))
                    .col(
                        ColumnDef::new(Notifications::ReadAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_user_time")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Notifications::Table.into_iden(),
            AuditLogs::Table.into_iden(),
            Outbox::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS audit_logs_append_only()")
                .await?;
        }
        Ok(())
    }
}
