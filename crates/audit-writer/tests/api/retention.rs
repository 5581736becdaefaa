//! Retention without locks (issue 15), on PostgreSQL: `audit-writer retention` removes
//! whole months older than the retention while a writer keeps appending, every chain
//! still verifies from where it resumes, and the run is itself in the audit log.

use audit_writer::chain::{ChainKey, PLATFORM_CHAIN};
use audit_writer::retention::{self, Options};
use audit_writer::writer::{self, Message};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use secrecy::SecretString;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn key() -> ChainKey {
    ChainKey::new(SecretString::from(test_support::CHAIN_KEY.to_owned()))
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

async fn companies(db: &DatabaseConnection) -> Vec<Uuid> {
    audit_writer::store::audit::chains(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| *c != PLATFORM_CHAIN)
        .collect()
}

/// A writer appending an event of one of `companies` every few milliseconds until told
/// to stop: the commit times.
fn keep_writing(
    db: DatabaseConnection,
    companies: Vec<Uuid>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<Instant>> {
    tokio::spawn(async move {
        let key = key();
        let mut commits = Vec::new();
        let mut i = 0_usize;
        while !stop.load(Ordering::Relaxed) {
            let company = companies[i % companies.len()];
            let event = events::Event::untyped("auth", "LOGIN")
                .company(company)
                .resource("user", Uuid::now_v7())
                .details(serde_json::json!({"session_id": Uuid::now_v7()}));
            writer::store(&db, &key, &[Message::Event(event)])
                .await
                .unwrap();
            commits.push(Instant::now());
            i += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        commits
    })
}

async fn seeded(months: u32) -> (String, DatabaseConnection) {
    let (url, db) = test_support::fresh_database().await;
    audit_writer::seed::seed(
        &db,
        &key(),
        &audit_writer::seed::SeedOptions {
            rows: 6_000,
            companies: 3,
            months,
            ..audit_writer::seed::SeedOptions::default()
        },
    )
    .await
    .unwrap();
    (url, db)
}

#[tokio::test]
async fn old_months_are_dropped_while_inserts_keep_committing_and_chains_still_verify() {
    let (_url, db) = seeded(30).await;
    let before = scalar(&db, "SELECT count(*) FROM audit_logs").await;
    let companies = companies(&db).await;
    assert_eq!(companies.len(), 3);
    let old = scalar(
        &db,
        "SELECT count(*) FROM audit_logs WHERE created_at < date_trunc('month', now() - interval '365 days')",
    )
    .await;
    assert!(
        old > 1_000,
        "the seed spreads rows over 30 months: {old} old"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let writing = keep_writing(db.clone(), companies.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let outcome = retention::run(
        &db,
        &key(),
        Options {
            days: 365,
            detach: false,
        },
    )
    .await
    .unwrap();
    let finished = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let commits = writing.await.unwrap();

    // Inserts went on committing throughout: none waited on the retention.
    let during = commits
        .iter()
        .filter(|t| **t >= started && **t <= finished)
        .count();
    let longest = commits
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    assert!(
        during > 0 || finished - started < Duration::from_millis(50),
        "no insert committed during {:?} of retention",
        finished - started
    );
    assert!(
        longest < Duration::from_secs(2),
        "an insert waited {longest:?}"
    );
    eprintln!(
        "retention: {} partitions, {} rows, in {:?}; {} inserts committed meanwhile, longest gap {:?}",
        outcome.removed.len(),
        outcome.removed.iter().map(|r| r.rows).sum::<i64>(),
        finished - started,
        during,
        longest
    );

    // Whole months older than the retention are gone, and only those.
    assert!(outcome.removed.len() >= 17, "{outcome:?}");
    let removed: i64 = outcome.removed.iter().map(|r| r.rows).sum();
    assert_eq!(removed, old);
    let left = scalar(&db, "SELECT count(*) FROM audit_logs").await;
    let written = i64::try_from(commits.len()).unwrap();
    // The retention's own record is one more row.
    assert_eq!(left, before - old + written + 1);
    for r in &outcome.removed {
        let exists = scalar(
            &db,
            &format!(
                "SELECT count(*) FROM pg_class WHERE relname = '{}'",
                r.partition
            ),
        )
        .await;
        assert_eq!(exists, 0, "{} dropped", r.partition);
    }
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM audit_logs WHERE created_at < now() - interval '365 days' - interval '31 days'"
        )
        .await,
        0
    );

    // Every chain still verifies, from where it resumes.
    for company in &companies {
        let report = audit_writer::verify::verify(&db, &key(), Some(*company))
            .await
            .unwrap();
        assert!(report.ok, "{report:?}");
        assert!(report.resumes_after.is_some(), "{report:?}");
        assert!(report.checked > 0);
    }
    let platform = audit_writer::verify::verify(&db, &key(), None)
        .await
        .unwrap();
    assert!(platform.ok, "{platform:?}");

    // The retention is on the record.
    let recorded = scalar(
        &db,
        "SELECT count(*) FROM audit_logs WHERE action = 'AUDIT_RETENTION' AND company_id IS NULL \
         AND details LIKE '%\"mode\":\"drop\"%'",
    )
    .await;
    assert_eq!(recorded, 1);

    // Again: nothing more to remove, nothing recorded.
    let again = retention::run(
        &db,
        &key(),
        Options {
            days: 365,
            detach: false,
        },
    )
    .await
    .unwrap();
    assert!(again.removed.is_empty(), "{again:?}");
}

#[tokio::test]
async fn detached_months_stay_as_tables_for_archiving() {
    let (_url, db) = seeded(14).await;
    let outcome = retention::run(
        &db,
        &key(),
        Options {
            days: 200,
            detach: true,
        },
    )
    .await
    .unwrap();
    assert!(!outcome.removed.is_empty());
    for r in &outcome.removed {
        // Still there, with its rows, but no longer part of the log.
        let rows = scalar(&db, &format!("SELECT count(*) FROM {}", r.partition)).await;
        assert_eq!(rows, r.rows);
        let attached = scalar(
            &db,
            &format!(
                "SELECT count(*) FROM pg_inherits WHERE inhrelid = '{}'::regclass",
                r.partition
            ),
        )
        .await;
        assert_eq!(attached, 0, "{} detached", r.partition);
    }
    for company in companies(&db).await {
        let report = audit_writer::verify::verify(&db, &key(), Some(company))
            .await
            .unwrap();
        assert!(report.ok, "{report:?}");
    }
}

#[tokio::test]
async fn the_writer_keeps_the_next_months_made_ahead() {
    let (_url, db) = test_support::fresh_database().await;
    // Migrated: this month and three ahead exist already; asking again makes none.
    assert_eq!(
        audit_writer::partitions::ensure_ahead(&db).await.unwrap(),
        0
    );
    let names = audit_writer::partitions::attached(&db).await.unwrap();
    assert!(names.len() >= 4, "{names:?}");
    let now = time::OffsetDateTime::now_utc();
    let this = format!("audit_logs_y{}m{:02}", now.year(), u8::from(now.month()));
    assert!(names.contains(&this), "{names:?}");
    // A row lands in its month.
    let event = events::Event::untyped("auth", "LOGIN").company(Uuid::now_v7());
    writer::store(&db, &key(), &[Message::Event(event.clone())])
        .await
        .unwrap();
    let there = scalar(
        &db,
        &format!("SELECT count(*) FROM {this} WHERE id = '{}'", event.id),
    )
    .await;
    assert_eq!(there, 1);
    // The same row can be neither changed nor deleted, in its partition or through the log.
    for sql in [
        format!("DELETE FROM {this}"),
        "UPDATE audit_logs SET action = 'X'".to_owned(),
        format!("TRUNCATE {this}"),
    ] {
        let err = db
            .execute_raw(Statement::from_string(DbBackend::Postgres, sql.clone()))
            .await
            .expect_err(&sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}
