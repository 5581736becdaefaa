//! Benchmarks the audit search at scale (issue 15): `SEARCH_ROWS` rows (default
//! 10 000 000) of `SEARCH_COMPANIES` companies (default 50) over two years, seeded with
//! `audit_writer::seed` unless the table already holds that many, then 200 queries with
//! random parameters for each search of `GET /api/v1/audit-logs`, through the function
//! the endpoint calls (`store::audit::search`, filter and page size as the handler builds
//! them: 50 rows, asked as 51 to know whether a next page exists):
//!
//! - the company over a 7-day and over a 90-day window (the newest page of it);
//! - a 90-day window and a user, an action (each action equally often, rare or common),
//!   or a resource (`resource_type` + `resource_id`, each type equally often);
//! - the 20th page of a 90-day window, following each page's cursor;
//! - the security report over two years (`report::read`, what its route calls).
//!
//! Times are client-side, one query at a time, after 10 untimed warm-up queries of each.
//! Run it with
//!
//! ```text
//! cargo bench -p audit-writer --bench search
//! SEARCH_ROWS=200000 cargo bench -p audit-writer --bench search   # a quick run
//! ```
//!
//! against `BENCH_DATABASE_URL`, or by default the database `aip_bench_search` on the
//! server at `TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432`), created and
//! migrated if need be. The rows stay: a rerun reuses them. Should the table hold fewer
//! than `SEARCH_ROWS`, the missing rows are added as new companies (their history then
//! spans the whole two years too); `DROP DATABASE aip_bench_search` starts afresh.
//! `AUDIT_CHAIN_KEY` (default: the tests' key) links the seeded rows.

#![expect(
    clippy::as_conversions,
    reason = "benchmark statistics: counts and durations as f64, far from any limit"
)]

use anyhow::Context as _;
use audit_writer::chain::ChainKey;
use audit_writer::seed::{SeedOptions, seed};
use audit_writer::store::audit::{self, Filter};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sea_orm::sqlx::{self, PgPool};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

const DATABASE: &str = "aip_bench_search";
const RUNS: usize = 200;
const WARM_UP: usize = 10;
/// The endpoint's default page.
const LIMIT: u64 = 50;
const DEEP: usize = 20;
/// Rows sampled to draw the queries' parameters from.
const SAMPLE: f64 = 5_000.0;

fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .with_context(|| format!("{name} must be a whole number, not {v:?}")),
        Err(_) => Ok(default),
    }
}

/// `BENCH_DATABASE_URL`, or `aip_bench_search`, created and migrated when need be.
async fn connect() -> anyhow::Result<DatabaseConnection> {
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        return Ok(service_runtime::db::connect(&url, 4).await?);
    }
    let base = test_support::pg_base();
    let admin = Database::connect(format!("{base}/postgres?sslmode=disable"))
        .await
        .context("PostgreSQL must answer at TEST_PG_URL")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(admin.get_postgres_connection_pool())
            .await?;
    if !exists {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{DATABASE}\""))
            .await?;
    }
    admin.close().await.ok();
    let db = service_runtime::db::connect(&format!("{base}/{DATABASE}?sslmode=disable"), 4).await?;
    migration::migrate(&db).await.context("migrating")?;
    Ok(db)
}

/// What the queries' parameters are drawn from: rows sampled from the table.
struct Sample {
    companies: Vec<Uuid>,
    /// (company, user)
    users: Vec<(Uuid, Uuid)>,
    actions: Vec<String>,
    /// resource type → (company, resource id)
    resources: BTreeMap<String, Vec<(Uuid, String)>>,
    first: OffsetDateTime,
    last: OffsetDateTime,
}

type SampledRow = (
    Uuid,
    Option<Uuid>,
    String,
    Option<String>,
    Option<String>,
    OffsetDateTime,
);

async fn sample(pool: &PgPool, rows: i64) -> anyhow::Result<Sample> {
    let percent = (SAMPLE * 100.0 / rows.max(1) as f64).clamp(0.001, 100.0);
    // Blocks, not rows: a few hundred pages however large the table.
    let sql = format!(
        "SELECT company_id, user_id, action, resource_type, resource_id, occurred_at \
         FROM audit_logs TABLESAMPLE SYSTEM ({percent}) REPEATABLE (15) \
         WHERE company_id IS NOT NULL"
    );
    let sampled: Vec<SampledRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .context("sampling audit_logs")?;
    anyhow::ensure!(!sampled.is_empty(), "audit_logs has no rows to search");
    let mut companies = BTreeSet::new();
    let mut actions = BTreeSet::new();
    let mut users = Vec::new();
    let mut resources: BTreeMap<String, Vec<(Uuid, String)>> = BTreeMap::new();
    let (mut first, mut last) = (sampled[0].5, sampled[0].5);
    for (company, user, action, resource_type, resource_id, at) in sampled {
        companies.insert(company);
        actions.insert(action);
        if let Some(user) = user {
            users.push((company, user));
        }
        if let (Some(kind), Some(id)) = (resource_type, resource_id) {
            resources.entry(kind).or_default().push((company, id));
        }
        first = first.min(at);
        last = last.max(at);
    }
    Ok(Sample {
        companies: companies.into_iter().collect(),
        users,
        actions: actions.into_iter().collect(),
        resources,
        first,
        last,
    })
}

#[derive(Clone, Copy)]
enum Search {
    Week,
    Quarter,
    User,
    Action,
    Resource,
    Deep,
}

impl Search {
    const ALL: [Search; 6] = [
        Search::Week,
        Search::Quarter,
        Search::User,
        Search::Action,
        Search::Resource,
        Search::Deep,
    ];

    fn label(self) -> &'static str {
        match self {
            Search::Week => "company + 7 days",
            Search::Quarter => "company + 90 days",
            Search::User => "company + 90 days + user",
            Search::Action => "company + 90 days + action",
            Search::Resource => "company + 90 days + resource",
            Search::Deep => "company + 90 days, page 20",
        }
    }
}

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A window of `days` ending at a random time of the sampled span.
fn window(rng: &mut SmallRng, s: &Sample, days: i64) -> (OffsetDateTime, OffsetDateTime) {
    let length = time::Duration::days(days);
    let earliest_end = (s.first + length).min(s.last);
    let span = (s.last - earliest_end).whole_microseconds().max(1) as i64;
    let to = earliest_end
        + time::Duration::microseconds(rng.random_range(0..span))
        + time::Duration::seconds(1);
    (to - length, to)
}

/// One query's parameters: the company and the filter, as the handler builds it.
fn parameters(rng: &mut SmallRng, s: &Sample, search: Search) -> (Uuid, Filter) {
    let days = match search {
        Search::Week => 7,
        Search::Quarter | Search::User | Search::Action | Search::Resource | Search::Deep => 90,
    };
    let (from, to) = window(rng, s, days);
    let mut filter = Filter {
        from: Some(from),
        to: Some(to),
        ..Filter::default()
    };
    let company = match search {
        Search::Week | Search::Quarter | Search::Deep => *pick(rng, &s.companies),
        Search::User => {
            let (company, user) = *pick(rng, &s.users);
            filter.user_id = Some(user);
            company
        }
        Search::Action => {
            filter.action = Some(pick(rng, &s.actions).clone());
            *pick(rng, &s.companies)
        }
        Search::Resource => {
            let kinds: Vec<&String> = s.resources.keys().collect();
            let kind = *pick(rng, &kinds);
            let (company, id) = pick(rng, &s.resources[kind]).clone();
            filter.resource_type = Some(kind.clone());
            filter.resource_id = Some(id);
            company
        }
    };
    (company, filter)
}

/// One page as the endpoint serves it: its rows, and the cursor of the next.
async fn page(
    db: &DatabaseConnection,
    company: Uuid,
    filter: &Filter,
) -> anyhow::Result<(usize, Option<(OffsetDateTime, Uuid)>)> {
    let mut items = audit::search(db, company, filter, LIMIT + 1).await?;
    let next = if items.len() as u64 > LIMIT {
        items.truncate(LIMIT as usize);
        items.last().map(|e| (e.created_at, e.id))
    } else {
        None
    };
    Ok((items.len(), next))
}

/// One timed query of `search`: its time and the rows of the timed page, and whether a
/// deep one reached page 20.
async fn run(
    db: &DatabaseConnection,
    rng: &mut SmallRng,
    s: &Sample,
    search: Search,
) -> anyhow::Result<(Duration, usize, bool)> {
    let (company, mut filter) = parameters(rng, s, search);
    let mut reached = true;
    if let Search::Deep = search {
        for _ in 1..DEEP {
            match page(db, company, &filter).await? {
                (_, Some(after)) => filter.after = Some(after),
                (_, None) => {
                    reached = false;
                    break;
                }
            }
        }
    }
    let started = Instant::now();
    let (rows, _) = page(db, company, &filter).await?;
    Ok((started.elapsed(), rows, reached))
}

struct Line {
    label: String,
    times: Vec<Duration>,
    rows: usize,
    note: Option<String>,
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1_000.0
}

fn print_table(lines: &mut [Line]) {
    println!(
        "\n{:<34} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "search", "p50 ms", "p95 ms", "p99 ms", "max ms", "rows/page"
    );
    println!("{}", "-".repeat(81));
    for line in lines.iter_mut() {
        line.times.sort();
        let t = &line.times;
        println!(
            "{:<34} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>10.1}",
            line.label,
            percentile(t, 0.50),
            percentile(t, 0.95),
            percentile(t, 0.99),
            percentile(t, 1.0),
            line.rows as f64 / t.len() as f64,
        );
    }
    for line in lines.iter() {
        if let Some(note) = &line.note {
            println!("  {}: {note}", line.label);
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let target = env_number("SEARCH_ROWS", 10_000_000)?;
    let companies = u32::try_from(env_number("SEARCH_COMPANIES", 50)?)?;
    let key = ChainKey::new(SecretString::from(
        std::env::var("AUDIT_CHAIN_KEY").unwrap_or_else(|_| test_support::CHAIN_KEY.to_owned()),
    ));
    let db = connect().await?;
    let pool = db.get_postgres_connection_pool();
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(pool)
        .await?;
    println!("{version}");

    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_logs")
        .fetch_one(pool)
        .await?;
    let held = u64::try_from(held)?;
    if held >= target {
        println!("audit_logs holds {held} rows (SEARCH_ROWS={target}): reusing them");
    } else {
        let mut opts = SeedOptions {
            rows: target - held,
            companies,
            ..SeedOptions::default()
        };
        if held > 0 {
            // Other companies than the rows there: the same ones would only grow after
            // their last row, squeezing the new rows into the time since.
            opts.seed ^= held;
            println!(
                "audit_logs holds {held} rows, fewer than SEARCH_ROWS={target}: adding {} as {companies} new companies",
                opts.rows
            );
        }
        println!(
            "seeding {} rows of {companies} companies over {} months ...",
            opts.rows, opts.months
        );
        let report = seed(&db, &key, &opts).await?;
        println!(
            "seeded {} rows in {:.1} s: {} rows/s ({} partitions made)",
            report.rows, report.seconds, report.rows_per_second, report.partitions_created
        );
    }
    let started = Instant::now();
    db.execute_unprepared("ANALYZE audit_logs").await?;
    println!(
        "ANALYZE audit_logs: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (rows, bytes, partitions): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM audit_logs), \
                (SELECT COALESCE(SUM(pg_total_relation_size(relid)), 0)::bigint \
                   FROM pg_partition_tree('audit_logs')), \
                (SELECT COUNT(*) FROM pg_partition_tree('audit_logs') WHERE isleaf)",
    )
    .fetch_one(pool)
    .await?;
    let pretty: String = sqlx::query_scalar("SELECT pg_size_pretty($1::bigint)")
        .bind(bytes)
        .fetch_one(pool)
        .await?;
    let s = sample(pool, rows).await?;
    println!(
        "audit_logs: {rows} rows, {pretty} with indexes ({bytes} bytes, pg_total_relation_size \
         over {partitions} partition(s)); {} companies, {} .. {}",
        s.companies.len(),
        s.first.date(),
        s.last.date()
    );

    let mut rng = SmallRng::seed_from_u64(15);
    let mut lines = Vec::new();
    for search in Search::ALL {
        for _ in 0..WARM_UP {
            run(&db, &mut rng, &s, search).await?;
        }
        let mut line = Line {
            label: search.label().to_owned(),
            times: Vec::with_capacity(RUNS),
            rows: 0,
            note: None,
        };
        let mut short = 0;
        for _ in 0..RUNS {
            let (took, rows, reached) = run(&db, &mut rng, &s, search).await?;
            line.times.push(took);
            line.rows += rows;
            if !reached {
                short += 1;
            }
        }
        if let Search::Deep = search
            && short > 0
        {
            line.note = Some(format!(
                "{short} of {RUNS} windows had fewer than {DEEP} pages; their last page was timed"
            ));
        }
        lines.push(line);
    }

    let today = OffsetDateTime::now_utc().date();
    let from = today - time::Duration::days(730);
    let mut report = Line {
        label: "security report, 2 years".to_owned(),
        times: Vec::with_capacity(RUNS),
        rows: 0,
        note: Some("rows/page: days in the report".to_owned()),
    };
    for i in 0..WARM_UP + RUNS {
        let company = *pick(&mut rng, &s.companies);
        let started = Instant::now();
        let r = audit_writer::report::read(&db, company, from, today).await?;
        if i >= WARM_UP {
            report.times.push(started.elapsed());
            report.rows += r.days.len();
        }
    }
    lines.push(report);
    print_table(&mut lines);
    Ok(())
}
