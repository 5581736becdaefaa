//! The platform's schema as sea-orm migrations; every migration runs on PostgreSQL and
//! on SQLite (the embedded default).

pub use sea_orm_migration::prelude::*;

pub mod roles;

mod m20261123_000001_auth;
mod m20261123_000002_interviews;
mod m20261123_000003_scoring;
mod m20261123_000004_events;
mod m20261123_000005_audit_role;
mod m20261201_000006_notification_context;
mod m20261203_000007_outbox_gathered;
mod m20261207_000008_account_security;
mod m20261207_000009_audit_chain;
mod m20261207_000010_audit_daily;
mod m20261207_000011_audit_pii;
mod m20261207_000012_erasure;
mod m20261207_000013_audit_partitions;
mod m20261207_000014_outbox_vacuum;
mod m20261208_000015_outbox_rotation;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_auth::Migration),
            Box::new(m20261123_000002_interviews::Migration),
            Box::new(m20261123_000003_scoring::Migration),
            Box::new(m20261123_000004_events::Migration),
            Box::new(m20261123_000005_audit_role::Migration),
            Box::new(m20261201_000006_notification_context::Migration),
            Box::new(m20261203_000007_outbox_gathered::Migration),
            Box::new(m20261207_000008_account_security::Migration),
            Box::new(m20261207_000009_audit_chain::Migration),
            Box::new(m20261207_000010_audit_daily::Migration),
            Box::new(m20261207_000011_audit_pii::Migration),
            Box::new(m20261207_000012_erasure::Migration),
            Box::new(m20261207_000013_audit_partitions::Migration),
            Box::new(m20261207_000014_outbox_vacuum::Migration),
            Box::new(m20261208_000015_outbox_rotation::Migration),
        ]
    }
}

/// Applies every pending migration, then the service roles' grants ([`roles`]).
pub async fn migrate(db: &sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    migrate_setting_passwords(db, &[]).await
}

/// [`migrate`], setting the service roles' passwords given as `(variable, password)`
/// (`AUTH_DB_PASSWORD`, ...; see [`roles::passwords_from`]).
pub async fn migrate_setting_passwords(
    db: &sea_orm::DatabaseConnection,
    passwords: &[(&str, String)],
) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    roles::apply(db, passwords).await
}
