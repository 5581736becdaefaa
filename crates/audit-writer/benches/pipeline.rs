//! Benchmarks the audit pipeline end to end: outbox → relay (publisher confirms) →
//! RabbitMQ → audit-writer → a committed row in `audit_logs`.
//!
//! 1. Throughput: 20 000 events written straight into the outbox with
//!    `events::outbox::record` (source `auth`, transactions of 500) while the auth
//!    service's relay runs; the time from the first insert until the outbox is empty and
//!    until all of them are rows in `audit_logs`.
//! 2. Latency: 200 sequential logins (`POST /api/v1/auth/login`, correct password); for
//!    each, request start → its `LOGIN` row visible (the database polled every 2 ms),
//!    also split into request → response and response → row.
//! 3. The same with 16 concurrent clients, each logging in as its own user.
//! 4. Sustained: `PIPELINE_RATE` events a second (default 20 000) offered to the outbox
//!    for `PIPELINE_SECONDS` (default 60), in transactions every 20 ms; the rows stored
//!    while it was offered, per second, the backlog when it stopped, how long it took, and
//!    any event stored twice.
//! 5. Commit → row at `PIPELINE_LATENCY_RATE` events a second (default 1 000) for
//!    `PIPELINE_LATENCY_SECONDS` (20): each event's commit against its row's `created_at`.
//!
//! Auth (with its relay) and an audit-writer run in this process on random ports against
//! a fresh PostgreSQL database, a fresh Redis key prefix and a fresh RabbitMQ prefix, as in
//! the API suite. Run it with
//!
//! ```text
//! cargo bench -p audit-writer --bench pipeline
//! ```
//!
//! with the three servers running: PostgreSQL at `TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432`), Redis at `TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`) and RabbitMQ at `TEST_AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`). `AUDIT_BATCH_WAIT_MS` sets the writer's batch
//! wait (default 20, as in the API suite; the service's own default is 50). The load
//! generator shares the machine with the servers, so the numbers are relative, not
//! capacity figures.

#![expect(clippy::unwrap_used, reason = "benchmark: fail loudly")]
#![expect(
    clippy::as_conversions,
    reason = "benchmark statistics: counts and durations as f64 and back, far from any limit"
)]

use events::{Event, outbox};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use serde_json::json;
use service_runtime::config::Env;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::{ADMIN_PASSWORD, INTERNAL_KEY};
use tokio::sync::watch;
use uuid::Uuid;

const EVENTS: usize = 20_000;
const PER_TXN: usize = 500;
const SEQUENTIAL_LOGINS: usize = 200;
const CLIENTS: usize = 16;
const LOGINS_PER_CLIENT: usize = 25;
const POLL: Duration = Duration::from_millis(2);
const MONITOR_POLL: Duration = Duration::from_millis(10);
const TIMEOUT: Duration = Duration::from_secs(300);
const ADMIN_EMAIL: &str = "admin@acme.example";
const USER_PASSWORD: &str = "User-Pass1";

/// `sql` must yield one row with a bigint column `n`.
async fn scalar(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> i64 {
    db.query_one_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get("", "n")
    .unwrap()
}

/// Starts an audit-writer with its own pool, consuming `prefix`.
async fn spawn_writer(database_url: &str, auth_grpc: &str, prefix: &str, batch_wait: &str) {
    let mut pairs: Vec<(String, String)> = [
        ("DATABASE_URL", database_url),
        ("AUTH_GRPC_URL", auth_grpc),
        ("INTERNAL_API_KEY", INTERNAL_KEY),
        ("AUDIT_HTTP_ADDR", "127.0.0.1:0"),
        ("HTTP_WORKERS", "2"),
        ("AUDIT_BATCH_WAIT_MS", batch_wait),
        ("AUDIT_CHAIN_KEY", test_support::CHAIN_KEY),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    pairs.extend(test_support::amqp_env(prefix));
    let settings = audit_writer::Settings::from_env(&Env::from_pairs(pairs), None).unwrap();
    let conn = service_runtime::db::connect(database_url, 5).await.unwrap();
    let app = audit_writer::Application::build_with_db(settings, conn).unwrap();
    tokio::spawn(app.run_until_stopped());
}

async fn login(client: &reqwest::Client, auth: &str, email: &str, password: &str) -> String {
    let res = client
        .post(format!("{auth}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

struct Throughput {
    inserted: Duration,
    drained: Duration,
    stored: Duration,
}

/// Writes [`EVENTS`] into the outbox while the relay runs; times the outbox and the log.
async fn throughput(db: &DatabaseConnection) -> Throughput {
    let target = scalar(db, "SELECT COUNT(*) AS n FROM audit_logs", vec![]).await + EVENTS as i64;
    let start = Instant::now();
    let mut inserting = {
        let db = db.clone();
        tokio::spawn(async move {
            for batch in 0..EVENTS / PER_TXN {
                let txn = db.begin().await.unwrap();
                for i in 0..PER_TXN {
                    let seq = batch * PER_TXN + i;
                    let event = Event::untyped("auth", "BENCH_EVENT")
                        .resource("bench", seq)
                        .details(json!({"seq": seq}));
                    outbox::record(&txn, &event).await.unwrap();
                }
                txn.commit().await.unwrap();
            }
            Instant::now()
        })
    };
    let (mut inserted, mut drained) = (None, None);
    loop {
        tokio::time::sleep(MONITOR_POLL).await;
        if inserted.is_none() && inserting.is_finished() {
            inserted = Some((&mut inserting).await.unwrap());
        }
        let waiting = scalar(db, "SELECT COUNT(*) AS n FROM outbox", vec![]).await;
        let stored = scalar(db, "SELECT COUNT(*) AS n FROM audit_logs", vec![]).await;
        let now = Instant::now();
        if inserted.is_some() && drained.is_none() && waiting == 0 {
            drained = Some(now);
        }
        if stored >= target
            && let (Some(inserted), Some(drained)) = (inserted, drained)
        {
            return Throughput {
                inserted: inserted - start,
                drained: drained - start,
                stored: now - start,
            };
        }
        assert!(
            now - start < TIMEOUT,
            "{stored} of {target} rows, {waiting} in the outbox after {TIMEOUT:?}"
        );
    }
}

/// One poll: the company's `LOGIN` rows per user, and when the poll returned.
/// How many rows the chain of no company holds (its head's position): every bench event
/// goes there, and reading one row costs nothing however large the log grows.
async fn platform_rows(db: &DatabaseConnection) -> i64 {
    scalar(
        db,
        "SELECT COALESCE((SELECT seq FROM audit_chain_heads \
         WHERE chain_key = '00000000-0000-0000-0000-000000000000'), 0) AS n",
        vec![],
    )
    .await
}

/// An offered load: `rate` events a second into the outbox for `seconds`, in transactions
/// every 20 ms (100 rows a statement, as services record several), each commit's time
/// kept for every event it held.
fn offer(
    db: DatabaseConnection,
    relay: events::Relay,
    rate: u64,
    seconds: u64,
) -> tokio::task::JoinHandle<Vec<(Uuid, time::OffsetDateTime)>> {
    tokio::spawn(async move {
        const TICK: Duration = Duration::from_millis(20);
        let start = Instant::now();
        let end = start + Duration::from_secs(seconds);
        let mut committed = Vec::new();
        let mut sent = 0_u64;
        let mut next = start;
        while Instant::now() < end {
            // Catch up with the schedule if a commit was slow.
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64 + 1;
            let n = due.saturating_sub(sent).min(rate.max(1));
            if n > 0 {
                let batch: Vec<Event> = (0..n)
                    .map(|i| {
                        Event::untyped("bench", "BENCH_EVENT")
                            .resource("bench", sent + i)
                            .details(json!({"seq": sent + i}))
                    })
                    .collect();
                let txn = db.begin().await.unwrap();
                outbox::record_many(&txn, &batch).await.unwrap();
                txn.commit().await.unwrap();
                // As a service's unit of work does after its commit.
                relay.wake();
                let at = time::OffsetDateTime::now_utc();
                committed.extend(batch.iter().map(|e| (e.id, at)));
                sent += n;
            }
            next += TICK;
            tokio::time::sleep_until(next.into()).await;
        }
        committed
    })
}

/// A sustained run: what was offered, what the pipeline stored while it was offered, and
/// how long what was left took.
struct Sustained {
    rate: u64,
    seconds: u64,
    offered: usize,
    /// Rows stored during the offered window, per second of it.
    per_second: Vec<i64>,
    stored_in_window: i64,
    backlog_at_end: i64,
    /// How long the backlog took to be stored; `None`: not within [`TIMEOUT`].
    drain: Option<Duration>,
    /// Rows stored beyond the events offered, a second after the last arrived: an event
    /// stored twice (the chain's positions count every row).
    doubled: i64,
}

async fn sustained(
    db: &DatabaseConnection,
    relay: &events::Relay,
    rate: u64,
    seconds: u64,
) -> Sustained {
    let before = platform_rows(db).await;
    let start = Instant::now();
    let producer = offer(db.clone(), relay.clone(), rate, seconds);
    let mut per_second = Vec::new();
    let mut last = before;
    for s in 1..=seconds {
        tokio::time::sleep_until((start + Duration::from_secs(s)).into()).await;
        let now = platform_rows(db).await;
        eprintln!("  second {s}: {} stored", now - last);
        per_second.push(now - last);
        last = now;
    }
    let committed = producer.await.unwrap();
    let window_end = platform_rows(db).await;
    let offered = committed.len();
    let target = before + i64::try_from(offered).unwrap();
    let ended = Instant::now();
    let mut drain = None;
    while ended.elapsed() < TIMEOUT {
        if platform_rows(db).await >= target {
            drain = Some(ended.elapsed());
            break;
        }
        tokio::time::sleep(MONITOR_POLL).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let doubled = platform_rows(db).await - target;
    Sustained {
        rate,
        seconds,
        offered,
        per_second,
        stored_in_window: window_end - before,
        backlog_at_end: target - window_end,
        drain,
        doubled,
    }
}

/// Commit → stored row for every event of a run at `rate` a second: the row's
/// `created_at` (the writer's clock, taken in the storing transaction) less the commit's.
async fn commit_to_row(
    db: &DatabaseConnection,
    relay: &events::Relay,
    rate: u64,
    seconds: u64,
) -> Vec<Duration> {
    let before = platform_rows(db).await;
    let committed = offer(db.clone(), relay.clone(), rate, seconds)
        .await
        .unwrap();
    let target = before + i64::try_from(committed.len()).unwrap();
    let waited = Instant::now();
    while platform_rows(db).await < target {
        assert!(waited.elapsed() < TIMEOUT, "the pipeline never caught up");
        tokio::time::sleep(MONITOR_POLL).await;
    }
    let ids: Vec<Uuid> = committed.iter().map(|(id, _)| *id).collect();
    let since = committed
        .first()
        .map_or_else(time::OffsetDateTime::now_utc, |(_, at)| *at)
        - time::Duration::seconds(5);
    let mut stored = HashMap::new();
    for chunk in ids.chunks(5_000) {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT id, created_at FROM audit_logs WHERE id = ANY($1) AND created_at >= $2",
                [chunk.to_vec().into(), since.into()],
            ))
            .await
            .unwrap();
        for r in rows {
            let id: Uuid = r.try_get("", "id").unwrap();
            let at: time::OffsetDateTime = r.try_get("", "created_at").unwrap();
            stored.insert(id, at);
        }
    }
    let mut latencies: Vec<Duration> = committed
        .iter()
        .filter_map(|(id, at)| stored.get(id).map(|s| (*s - *at).max(time::Duration::ZERO)))
        .map(|d| Duration::from_secs_f64(d.as_seconds_f64()))
        .collect();
    latencies.sort();
    latencies
}

struct Seen {
    at: Instant,
    logins: HashMap<Uuid, i64>,
}

/// Polls the audit log every [`POLL`] while anyone listens.
fn spawn_poller(db: DatabaseConnection, company: Uuid) -> watch::Receiver<Arc<Seen>> {
    let (tx, rx) = watch::channel(Arc::new(Seen {
        at: Instant::now(),
        logins: HashMap::new(),
    }));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT user_id, COUNT(*) AS n FROM audit_logs \
                     WHERE company_id = $1 AND action = 'LOGIN' GROUP BY user_id",
                    [Value::from(company)],
                ))
                .await
                .unwrap();
            let logins = rows
                .iter()
                .map(|r| {
                    (
                        r.try_get("", "user_id").unwrap(),
                        r.try_get("", "n").unwrap(),
                    )
                })
                .collect();
            let seen = Seen {
                at: Instant::now(),
                logins,
            };
            if tx.send(Arc::new(seen)).is_err() {
                return;
            }
        }
    });
    rx
}

/// When a poll first showed `user` with at least `n` `LOGIN` rows.
async fn visible(rx: &mut watch::Receiver<Arc<Seen>>, user: Uuid, n: i64) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        {
            let seen = rx.borrow_and_update();
            if seen.logins.get(&user).copied().unwrap_or(0) >= n {
                return seen.at;
            }
        }
        assert!(Instant::now() < deadline, "no LOGIN row for {user} in 30 s");
        rx.changed().await.unwrap();
    }
}

#[derive(Default)]
struct Samples {
    to_row: Vec<Duration>,
    to_response: Vec<Duration>,
    response_to_row: Vec<Duration>,
}

impl Samples {
    fn extend(&mut self, other: Samples) {
        self.to_row.extend(other.to_row);
        self.to_response.extend(other.to_response);
        self.response_to_row.extend(other.response_to_row);
    }
}

struct Client {
    http: reqwest::Client,
    auth: String,
    email: String,
    password: String,
    user: Uuid,
    /// The user's `LOGIN` rows before the first request.
    before: i64,
}

/// `n` logins one after the other, each waiting for its row.
async fn logins(c: Client, mut rx: watch::Receiver<Arc<Seen>>, n: usize) -> Samples {
    let mut s = Samples::default();
    for i in 1..=n {
        let start = Instant::now();
        login(&c.http, &c.auth, &c.email, &c.password).await;
        let responded = Instant::now();
        let row = visible(&mut rx, c.user, c.before + i as i64).await;
        s.to_row.push(row.saturating_duration_since(start));
        s.to_response.push(responded - start);
        s.response_to_row
            .push(row.saturating_duration_since(responded));
    }
    s
}

async fn login_count(db: &DatabaseConnection, company: Uuid, user: Uuid) -> i64 {
    scalar(
        db,
        "SELECT COUNT(*) AS n FROM audit_logs \
         WHERE company_id = $1 AND user_id = $2 AND action = 'LOGIN'",
        vec![Value::from(company), Value::from(user)],
    )
    .await
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency_rows(out: &mut String, scenario: &str, s: &Samples) {
    for (i, (segment, samples)) in [
        ("request → row", &s.to_row),
        ("request → response", &s.to_response),
        ("response → row", &s.response_to_row),
    ]
    .into_iter()
    .enumerate()
    {
        let mut sorted = samples.clone();
        sorted.sort();
        let (label, n) = if i == 0 {
            (scenario, sorted.len().to_string())
        } else {
            ("", String::new())
        };
        writeln!(
            out,
            "  {label:<15} {n:>4}  {segment:<19} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            ms(pct(&sorted, 50.0)),
            ms(pct(&sorted, 95.0)),
            ms(pct(&sorted, 99.0)),
            ms(*sorted.last().unwrap()),
        )
        .unwrap();
    }
}

#[tokio::main]
async fn main() {
    let batch_wait = std::env::var("AUDIT_BATCH_WAIT_MS").unwrap_or_else(|_| "20".into());
    let (database_url, conn) = test_support::fresh_database().await;
    let auth = test_support::spawn_auth(&database_url, conn.clone(), &[]).await;
    spawn_writer(
        &database_url,
        &auth.grpc_address,
        &auth.amqp_prefix,
        &batch_wait,
    )
    .await;
    let (company, admin) = test_support::seed_company(&conn, "Acme", ADMIN_EMAIL).await;
    let (company, admin): (Uuid, Uuid) = (company.into(), admin.into());
    // The benchmark's own pool: the services keep theirs.
    let db = service_runtime::db::connect(&database_url, 4)
        .await
        .unwrap();
    let http = test_support::client();

    // Warm-up: one login through the whole pipeline, so the queue is bound and every
    // connection open before anything is timed.
    let tokens = test_support::tokens_of(
        &serde_json::from_str(&login(&http, &auth.address, ADMIN_EMAIL, ADMIN_PASSWORD).await)
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while login_count(&db, company, admin).await < 1 {
        assert!(Instant::now() < deadline, "the warm-up login never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let env_u64 = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rate, seconds) = (
        env_u64("PIPELINE_RATE", 20_000),
        env_u64("PIPELINE_SECONDS", 60),
    );
    let (slow_rate, slow_seconds) = (
        env_u64("PIPELINE_LATENCY_RATE", 1_000),
        env_u64("PIPELINE_LATENCY_SECONDS", 20),
    );
    eprintln!("1/5 throughput: {EVENTS} events through the outbox ...");
    let t = throughput(&db).await;
    eprintln!("2/5 sustained: {rate} events/s offered for {seconds} s ...");
    // The offered load's own relay (source `bench`), woken after each commit as a
    // service's is.
    let relay = events::Relay::new(
        db.clone(),
        "bench",
        Arc::new(events::RabbitPublisher::new(
            &test_support::amqp_url(),
            events::Topology::new(auth.amqp_prefix.clone()),
        )),
    );
    tokio::spawn(relay.clone().run());
    let sus = sustained(&db, &relay, rate, seconds).await;
    eprintln!("3/5 commit → row at {slow_rate} events/s for {slow_seconds} s ...");
    let slow = commit_to_row(&db, &relay, slow_rate, slow_seconds).await;

    let rx = spawn_poller(db.clone(), company);
    eprintln!("4/5 latency: {SEQUENTIAL_LOGINS} sequential logins ...");
    let sequential = logins(
        Client {
            http: http.clone(),
            auth: auth.address.clone(),
            email: ADMIN_EMAIL.into(),
            password: ADMIN_PASSWORD.into(),
            user: admin,
            before: login_count(&db, company, admin).await,
        },
        rx.clone(),
        SEQUENTIAL_LOGINS,
    )
    .await;

    eprintln!("5/5 latency: {CLIENTS} concurrent clients x {LOGINS_PER_CLIENT} logins ...");
    let mut clients = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let email = format!("bench-{i}-{}@acme.example", Uuid::new_v4().simple());
        let res = http
            .post(format!("{}/api/v1/users", auth.address))
            .bearer_auth(&tokens.access)
            .json(
                &json!({"email": email, "full_name": format!("Bench User {i}"),
                "password": USER_PASSWORD, "role": "agent"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let user: Uuid = test_support::body(res).await["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        clients.push(Client {
            http: http.clone(),
            auth: auth.address.clone(),
            email,
            password: USER_PASSWORD.into(),
            user,
            before: login_count(&db, company, user).await,
        });
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(logins(c, rx.clone(), LOGINS_PER_CLIENT)))
        .collect();
    let mut concurrent = Samples::default();
    for task in tasks {
        concurrent.extend(task.await.unwrap());
    }

    let rate = |d: Duration| EVENTS as f64 / d.as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mut out = String::new();
    writeln!(
        out,
        "\naudit pipeline: outbox → relay → RabbitMQ → audit-writer → audit_logs\n\
         ({cores} cores; auth, relay, writer, PostgreSQL, RabbitMQ and the load share them; \
         writer batch wait {batch_wait} ms)\n"
    )
    .unwrap();
    writeln!(
        out,
        "throughput: {EVENTS} events inserted into the outbox, {PER_TXN} per transaction"
    )
    .unwrap();
    writeln!(
        out,
        "  {:<40} {:>9} {:>10}",
        "from the first insert until", "s", "events/s"
    )
    .unwrap();
    for (what, d) in [
        ("all inserts committed", t.inserted),
        ("outbox drained (relay published all)", t.drained),
        ("all rows in audit_logs (end to end)", t.stored),
    ] {
        writeln!(
            out,
            "  {what:<40} {:>9.2} {:>10.0}",
            d.as_secs_f64(),
            rate(d)
        )
        .unwrap();
    }
    let secs = sus.seconds.max(1) as f64;
    let mut per = sus.per_second.clone();
    per.sort_unstable();
    writeln!(
        out,
        "\nsustained: {} events/s offered for {} s (transactions every 20 ms, 100 rows a statement)\n\
         \x20 offered {} ({:.0}/s); stored while offered {} ({:.0}/s); per second min {} median {} max {}\n\
         \x20 backlog when the offer stopped {}, stored {}; stored twice: {}",
        sus.rate,
        sus.seconds,
        sus.offered,
        sus.offered as f64 / secs,
        sus.stored_in_window,
        sus.stored_in_window as f64 / secs,
        per.first().copied().unwrap_or(0),
        per.get(per.len() / 2).copied().unwrap_or(0),
        per.last().copied().unwrap_or(0),
        sus.backlog_at_end,
        sus.drain.map_or_else(
            || format!("not within {} s", TIMEOUT.as_secs()),
            |d| format!("{:.2} s later", d.as_secs_f64())
        ),
        sus.doubled,
    )
    .unwrap();
    writeln!(
        out,
        "\ncommit → row ({slow_rate} events/s for {slow_seconds} s, {} events), ms: p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
        slow.len(),
        ms(pct(&slow, 50.0)),
        ms(pct(&slow, 95.0)),
        ms(pct(&slow, 99.0)),
        ms(slow.last().copied().unwrap_or_default()),
    )
    .unwrap();
    writeln!(
        out,
        "\nlatency: login request → LOGIN row visible (polled every {} ms), ms",
        POLL.as_millis()
    )
    .unwrap();
    writeln!(
        out,
        "  {:<15} {:>4}  {:<19} {:>8} {:>8} {:>8} {:>8}",
        "scenario", "n", "segment", "p50", "p95", "p99", "max"
    )
    .unwrap();
    latency_rows(&mut out, "sequential", &sequential);
    latency_rows(&mut out, &format!("{CLIENTS} concurrent"), &concurrent);
    println!("{out}");
}
