//! A PostgreSQL role for the audit-writer that can append to `audit_logs` and read it, and
//! nothing more there: give the audit-writer's login role membership in `audit_writer`.
//! (The append-only triggers hold for every role; this keeps it out of reach twice over.)
//! SQLite has no roles: nothing to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // Roles are cluster-wide: another database may have created it, concurrently even;
        // a migrating user without CREATEROLE gets a notice, not a failure.
        manager
            .get_connection()
            .execute_unprepared(
                "DO $$ BEGIN \
                   BEGIN CREATE ROLE audit_writer NOLOGIN; \
                   EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
                             WHEN insufficient_privilege THEN RAISE NOTICE 'no CREATEROLE: role audit_writer not created'; \
                   END; \
                   IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_writer') THEN \
                     GRANT SELECT, INSERT ON audit_logs TO audit_writer; \
                     GRANT SELECT, INSERT, UPDATE ON notifications TO audit_writer; \
                   END IF; \
                 END $$;",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_writer') THEN \
                   REVOKE ALL ON audit_logs FROM audit_writer; REVOKE ALL ON notifications FROM audit_writer; \
                 END IF; END $$;",
            )
            .await
            .map(|_| ())
    }
}
