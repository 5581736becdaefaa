//! The security report's aggregate (issue 15): per company (the nil UUID for events of
//! no company), day (UTC) and metric, how many events; the audit-writer adds to it in the
//! transaction that stores the events, so the report reads days, not rows. Filled here
//! from the rows already stored.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditDailyCounts {
    Table,
    CompanyKey,
    Day,
    Metric,
    N,
}

/// The metric of an event, as SQL over `audit_logs` (its `attempts` weight for gathered
/// failed sign-ins): the same mapping as `audit_writer::report::metric_of`.
fn backfill(backend: DbBackend) -> String {
    let postgres = backend == DbBackend::Postgres;
    let (attempts, has_role, uuid_nil) = if postgres {
        (
            "COALESCE((details::jsonb->>'attempts')::bigint, 1)",
            "(details::jsonb ? 'role')",
            "'00000000-0000-0000-0000-000000000000'::uuid",
        )
    } else {
        (
            "COALESCE(CAST(json_extract(details, '$.attempts') AS INTEGER), 1)",
            "(json_type(details, '$.role') IS NOT NULL)",
            "'00000000-0000-0000-0000-000000000000'",
        )
    };
    let day = if postgres {
        "(occurred_at AT TIME ZONE 'UTC')::date"
    } else {
        "date(occurred_at)"
    };
    format!(
        "INSERT INTO audit_daily_counts (company_key, day, metric, n) \
         SELECT company_key, day, metric, SUM(weight) FROM ( \
           SELECT COALESCE(company_id, {uuid_nil}) AS company_key, {day} AS day, \
             CASE \
               WHEN action = 'LOGIN' THEN 'logins_succeeded' \
               WHEN action = 'LOGIN_FAILED' THEN 'logins_failed' \
               WHEN action = 'ACCOUNT_LOCKED' THEN 'lockouts' \
               WHEN action = 'PASSWORD_CHANGED' THEN 'password_changes' \
               WHEN action = 'PASSWORD_RESET_REQUESTED' THEN 'password_reset_requests' \
               WHEN action = 'PASSWORD_RESET' THEN 'password_resets' \
               WHEN action = 'PERMISSION_CHANGED' THEN 'permission_changes' \
               WHEN action = 'USER_UPDATED' AND {has_role} THEN 'role_changes' \
               WHEN action = 'TOKEN_REUSE_DETECTED' THEN 'token_reuse_detections' \
               WHEN action = 'MFA_FAILED' THEN 'mfa_failures' \
             END AS metric, \
             CASE WHEN action = 'LOGIN_FAILED' THEN {attempts} ELSE 1 END AS weight \
           FROM audit_logs) AS e \
         WHERE metric IS NOT NULL GROUP BY company_key, day, metric"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditDailyCounts::Table)
                    .col(
                        ColumnDef::new(AuditDailyCounts::CompanyKey)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditDailyCounts::Day).date().not_null())
                    .col(
                        ColumnDef::new(AuditDailyCounts::Metric)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditDailyCounts::N).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(AuditDailyCounts::CompanyKey)
                            .col(AuditDailyCounts::Day)
                            .col(AuditDailyCounts::Metric),
                    )
                    .to_owned(),
            )
            .await?;
        let backend = manager.get_database_backend();
        manager
            .get_connection()
            .execute_unprepared(&backfill(backend))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditDailyCounts::Table).to_owned())
            .await
    }
}
