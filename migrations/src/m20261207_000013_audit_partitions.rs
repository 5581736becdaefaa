//! The audit log at scale (issue 15), on PostgreSQL: `audit_logs` becomes a table
//! partitioned by month on `created_at` (declarative range partitioning), so retention
//! drops whole months — detached concurrently, never a row-by-row `DELETE` — and each
//! search touches indexes of a month's size. The rows already stored move over.
//!
//! - Partitions are `audit_logs_yYYYYmMM`, `[first of the month, first of the next)` in
//!   UTC, made by `audit_ensure_partitions(from_month, months)`: a `SECURITY DEFINER`
//!   function of the schema's owner that the audit-writer's role may call (it owns no
//!   table and may create none), which creates what is missing from `from_month`'s month
//!   through `months` months after it. The audit-writer calls it at start and every hour
//!   for three months ahead. There is no default partition: it would make every new
//!   partition scan it, and forbids detaching concurrently.
//! - The primary key is `(id, created_at)` and the chain's unique index
//!   `(chain_key, chain_seq, created_at)`: a partitioned table's unique indexes must hold
//!   the partition key. The writer's lock on the chain's head is what keeps a position
//!   single (it always was); the verifier catches a duplicate anyway.
//! - The search indexes end with `occurred_at`, the order searches page in.
//! - The append-only triggers: the row trigger on the partitioned table is cloned to
//!   every partition; the `TRUNCATE` trigger, which is not, is made on each partition.
//! - `audit_chain_anchors`: where a chain resumes after retention dropped its oldest rows
//!   (the last dropped row's position and link), so the verifier checks what is left.
//!
//! SQLite (the embedded default) keeps a plain table and gets only the anchors.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Anchors {
    #[sea_orm(iden = "audit_chain_anchors")]
    Table,
    ChainKey,
    Seq,
    Hash,
    PartitionName,
    CutAt,
}

/// The search indexes, `(name, columns)`, the same on the plain and the partitioned table.
const INDEXES: [(&str, &str); 4] = [
    ("idx_audit_company_time", "company_id, occurred_at, id"),
    ("idx_audit_company_user", "company_id, user_id, occurred_at"),
    (
        "idx_audit_company_action",
        "company_id, action, occurred_at",
    ),
    (
        "idx_audit_company_resource",
        "company_id, resource_type, resource_id, occurred_at",
    ),
];

/// The old indexes' names, renamed out of the way while both tables exist.
const OLD_INDEXES: [&str; 6] = [
    "audit_logs_pkey",
    "uq_audit_logs_chain",
    "idx_audit_company_time",
    "idx_audit_company_user",
    "idx_audit_company_action",
    "idx_audit_company_resource",
];

const ENSURE_PARTITIONS: &str = r#"
CREATE OR REPLACE FUNCTION audit_ensure_partitions(from_month date, months integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date := date_trunc('month', from_month)::date;
    name text;
    made integer := 0;
BEGIN
    IF months IS NULL OR months < 0 OR months > 1200 THEN
        RAISE EXCEPTION 'months must be 0 to 1200, not %', months;
    END IF;
    FOR i IN 0..months LOOP
        name := format('audit_logs_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(name) IS NULL THEN
            BEGIN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF audit_logs FOR VALUES FROM (%L) TO (%L)',
                    name, to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00',
                    to_char((m + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00');
                EXECUTE format(
                    'CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON %I '
                    'FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only()', name);
                made := made + 1;
            EXCEPTION WHEN duplicate_table OR duplicate_object THEN
                -- Another writer made it meanwhile.
                NULL;
            END;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN made;
END $$;
REVOKE ALL ON FUNCTION audit_ensure_partitions(date, integer) FROM PUBLIC;
"#;

fn create_indexes(table: &str) -> String {
    INDEXES
        .iter()
        .map(|(name, cols)| format!("CREATE INDEX {name} ON {table} ({cols});"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rename_old_indexes(suffix: &str) -> String {
    OLD_INDEXES
        .iter()
        .map(|name| format!("ALTER INDEX IF EXISTS {name} RENAME TO {name}{suffix};"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Anchors::Table)
                    .col(
                        ColumnDef::new(Anchors::ChainKey)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Anchors::Seq).big_integer().not_null())
                    .col(ColumnDef::new(Anchors::Hash).string_len(64).not_null())
                    .col(ColumnDef::new(Anchors::PartitionName).text().not_null())
                    .col(
                        ColumnDef::new(Anchors::CutAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let sql = format!(
            "ALTER TABLE audit_logs RENAME TO audit_logs_unpartitioned;
             {renames}
             CREATE TABLE audit_logs (LIKE audit_logs_unpartitioned INCLUDING DEFAULTS)
                 PARTITION BY RANGE (created_at);
             ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_pkey PRIMARY KEY (id, created_at);
             CREATE UNIQUE INDEX uq_audit_logs_chain ON audit_logs (chain_key, chain_seq, created_at);
             {indexes}
             CREATE TRIGGER audit_logs_no_update BEFORE UPDATE OR DELETE ON audit_logs
                 FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
             {ensure}
             DO $$ DECLARE
                 this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
                 first date;
             BEGIN
                 SELECT LEAST(date_trunc('month', min(created_at) AT TIME ZONE 'UTC')::date, this_month)
                     INTO first FROM audit_logs_unpartitioned;
                 first := COALESCE(first, this_month);
                 PERFORM audit_ensure_partitions(first,
                     ((EXTRACT(YEAR FROM this_month) - EXTRACT(YEAR FROM first)) * 12
                      + EXTRACT(MONTH FROM this_month) - EXTRACT(MONTH FROM first))::integer + 3);
                 IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_writer') THEN
                     GRANT SELECT, INSERT ON audit_logs TO audit_writer;
                     GRANT SELECT ON audit_chain_anchors TO audit_writer;
                     GRANT EXECUTE ON FUNCTION audit_ensure_partitions(date, integer) TO audit_writer;
                 END IF;
             END $$;
             INSERT INTO audit_logs SELECT * FROM audit_logs_unpartitioned;
             DROP TABLE audit_logs_unpartitioned;",
            renames = rename_old_indexes("_unpartitioned"),
            indexes = create_indexes("audit_logs"),
            ensure = ENSURE_PARTITIONS,
        );
        db.execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            let sql = format!(
                "ALTER TABLE audit_logs RENAME TO audit_logs_partitioned;
                 {renames}
                 CREATE TABLE audit_logs (LIKE audit_logs_partitioned INCLUDING DEFAULTS);
                 ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_pkey PRIMARY KEY (id);
                 CREATE UNIQUE INDEX uq_audit_logs_chain ON audit_logs (chain_key, chain_seq);
                 CREATE INDEX idx_audit_company_time ON audit_logs (company_id, occurred_at);
                 CREATE INDEX idx_audit_company_user ON audit_logs (company_id, user_id);
                 CREATE INDEX idx_audit_company_action ON audit_logs (company_id, action);
                 CREATE INDEX idx_audit_company_resource ON audit_logs (company_id, resource_type, resource_id);
                 INSERT INTO audit_logs SELECT * FROM audit_logs_partitioned;
                 DROP TABLE audit_logs_partitioned;
                 CREATE TRIGGER audit_logs_no_update BEFORE UPDATE OR DELETE ON audit_logs
                     FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
                 CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
                     FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();
                 DROP FUNCTION IF EXISTS audit_ensure_partitions(date, integer);",
                renames = rename_old_indexes("_partitioned"),
            );
            db.execute_unprepared(&sql).await?;
        }
        manager
            .drop_table(Table::drop().table(Anchors::Table).to_owned())
            .await
    }
}
