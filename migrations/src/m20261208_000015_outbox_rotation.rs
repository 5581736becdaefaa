//! The outbox rotates (issue 15), on PostgreSQL. It is a queue: every entry is written,
//! taken and deleted within moments, and each delete leaves a dead row behind. Only a
//! vacuum gives that space back, and a vacuum is not ours to run: autovacuum may be off
//! (it is on the machine the benchmarks run on) and visits a database once a minute at
//! most, and a service's role, which owns nothing, may not `VACUUM`. At 20,000 events a
//! second the dead rows grew the table past memory within seconds and the relay's claim
//! slowed until the backlog never drained (measured: 20,000/s stored for 14 s, then
//! 6,000/s; 133 ms from commit to stored row at 1,000/s afterwards).
//!
//! So the outbox is partitioned by `slot` (`LIST`, partitions `outbox_0` … `outbox_2` in turn)
//! and written a slot at a time: an entry goes to the slot of the five seconds it is
//! written in (`events::outbox::slot_of`), the slots taking turns. A slot written two turns
//! ago and drained since is emptied by `TRUNCATE`, which gives its space back at once:
//! `outbox_truncate_slot(slot)`, a `SECURITY DEFINER` function of the owner that the
//! service roles may call (they may not truncate), which truncates a partition only if it
//! gets the partition's lock without waiting (no writer or relay in it: it never blocks
//! one) and finds it empty under that lock (nothing is ever lost). The primary key is
//! `(id, slot)`, as a partitioned table's unique indexes must hold the partition key. An
//! entry that gathers repeats (a failed sign-in's, due a minute after it began) goes to a
//! fourth partition, `outbox_3`, out of the rotation: its repeats find it by its key, and
//! in a slot of the rotation it would keep that slot from ever being emptied while a flood
//! goes on (a few such entries a minute; autovacuum, where it runs, keeps it small).
//!
//! The claim's index leads with the slot: `(slot, source, next_attempt_at)`. With the
//! slot only a filter over `(source, next_attempt_at)`, a partition autovacuum never
//! analyzed looked like one row to the planner, which then read and sorted every due
//! entry of the slot for each claim of 500 (measured: 53 ms over 100,000 entries; 0.7 ms
//! with the slot in the index, whatever the statistics).
//!
//! SQLite (the embedded default) keeps a plain table and gets the column only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Slot,
}

/// Where autovacuum runs, it comes to a slot after every few thousand changes, at full
/// speed (as the table had since the outbox-vacuum migration).
const VACUUM: &str = "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, \
                      autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0, \
                      autovacuum_analyze_threshold = 5000";

/// The columns the table had before, as it defined them.
const DEFINITION: &str = "id uuid NOT NULL, source varchar(32) NOT NULL, \
                          routing_key varchar(128) NOT NULL, payload text NOT NULL, \
                          created_at timestamptz NOT NULL, attempts integer NOT NULL DEFAULT 0, \
                          next_attempt_at timestamptz NOT NULL, last_error text, \
                          gathered bigint NOT NULL DEFAULT 0";

/// The columns the table had before, in order (the rows move over).
const COLUMNS: &str = "id, source, routing_key, payload, created_at, attempts, \
                       next_attempt_at, last_error, gathered";

const TRUNCATE_SLOT: &str = r#"
CREATE OR REPLACE FUNCTION outbox_truncate_slot(s smallint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
-- The emptiness check reads the primary key, whose dead entries the relays' scans have
-- marked, rather than every dead row of the heap.
SET enable_seqscan = off
AS $$
DECLARE
    part text;
    busy boolean;
BEGIN
    IF s IS NULL OR s < 0 OR s > 2 THEN
        RETURN false;
    END IF;
    part := format('outbox_%s', s);
    BEGIN
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE NOWAIT', part);
    EXCEPTION WHEN lock_not_available THEN
        -- A writer or a relay is in it: another time.
        RETURN false;
    END;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part) INTO busy;
    IF busy THEN
        RETURN false;
    END IF;
    EXECUTE format('TRUNCATE %I', part);
    RETURN true;
END $$;
REVOKE ALL ON FUNCTION outbox_truncate_slot(smallint) FROM PUBLIC;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return manager
                .alter_table(
                    Table::alter()
                        .table(Outbox::Table)
                        .add_column(
                            ColumnDef::new(Outbox::Slot)
                                .small_integer()
                                .not_null()
                                .default(0),
                        )
                        .to_owned(),
                )
                .await;
        }
        let sql = format!(
            "ALTER TABLE outbox RENAME TO outbox_unrotated;
             ALTER INDEX outbox_pkey RENAME TO outbox_unrotated_pkey;
             ALTER INDEX idx_outbox_source_due RENAME TO idx_outbox_unrotated_source_due;
             CREATE TABLE outbox ({DEFINITION},
                 slot smallint NOT NULL DEFAULT 0,
                 CONSTRAINT outbox_pkey PRIMARY KEY (id, slot)
             ) PARTITION BY LIST (slot);
             CREATE TABLE outbox_0 PARTITION OF outbox FOR VALUES IN (0) WITH ({VACUUM});
             CREATE TABLE outbox_1 PARTITION OF outbox FOR VALUES IN (1) WITH ({VACUUM});
             CREATE TABLE outbox_2 PARTITION OF outbox FOR VALUES IN (2) WITH ({VACUUM});
             CREATE TABLE outbox_3 PARTITION OF outbox FOR VALUES IN (3) WITH ({VACUUM});
             CREATE INDEX idx_outbox_slot_source_due ON outbox (slot, source, next_attempt_at);
             INSERT INTO outbox ({COLUMNS}, slot) SELECT {COLUMNS}, 0 FROM outbox_unrotated;
             DROP TABLE outbox_unrotated;
             ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
             {TRUNCATE_SLOT}"
        );
        manager
            .get_connection()
            .execute_unprepared(&sql)
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return manager
                .alter_table(
                    Table::alter()
                        .table(Outbox::Table)
                        .drop_column(Outbox::Slot)
                        .to_owned(),
                )
                .await;
        }
        let sql = format!(
            "DROP FUNCTION IF EXISTS outbox_truncate_slot(smallint);
             ALTER TABLE outbox RENAME TO outbox_rotated;
             ALTER INDEX outbox_pkey RENAME TO outbox_rotated_pkey;
             CREATE TABLE outbox ({DEFINITION}, CONSTRAINT outbox_pkey PRIMARY KEY (id));
             CREATE INDEX idx_outbox_source_due ON outbox (source, next_attempt_at);
             INSERT INTO outbox ({COLUMNS}) SELECT DISTINCT ON (id) {COLUMNS} FROM outbox_rotated
                 ORDER BY id, gathered DESC;
             DROP TABLE outbox_rotated;
             ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
             ALTER TABLE outbox SET ({VACUUM});"
        );
        manager
            .get_connection()
            .execute_unprepared(&sql)
            .await
            .map(|_| ())
    }
}
