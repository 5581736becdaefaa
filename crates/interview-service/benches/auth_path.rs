//! Benchmarks the authentication path end to end:
//!
//! 1. login timing: a correct password, a wrong password for an existing email and an
//!    unknown email (the last two should take the same time: no user enumeration);
//! 2. HTTP throughput and latency at a fixed concurrency: the interview service's
//!    `/healthz` (no auth, the baseline), a protected interview route with the
//!    introspection cache (1 s, the default) and without it (0 ms), and auth's own
//!    `/api/v1/users/me` (local token check and a database read);
//! 3. the `IntrospectionClient` on its own: hit ratio and per-call latency with the cache,
//!    and the gRPC round trip without it.
//!
//! Auth and two interview services run in this process on random ports against a fresh
//! PostgreSQL database and a fresh Redis key prefix, as in the API suites. Run it with
//!
//! ```text
//! cargo bench -p interview-service --bench auth_path
//! ```
//!
//! with PostgreSQL at `TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432`) and Redis
//! at `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). The load generator shares the
//! machine with the servers, so the numbers compare the paths with each other; they are
//! not capacity figures.

#![expect(clippy::expect_used, reason = "benchmark: fail loudly")]
#![expect(
    clippy::as_conversions,
    reason = "benchmark statistics: counts and durations as f64 and back, far from any limit"
)]

use auth_types::IntrospectionClient;
use auth_types::client::CacheStats;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::json;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use test_support::{ADMIN_PASSWORD, INTERNAL_KEY, Tokens};

/// Sequential logins per case.
const LOGINS: usize = 30;
/// Concurrent client tasks in the HTTP runs and the concurrent introspection run.
const CONCURRENCY: usize = 16;
/// Length of each measured HTTP run, after a discarded warm-up.
const RUN: Duration = Duration::from_secs(5);
const WARMUP: Duration = Duration::from_secs(1);
/// Calls in the concurrent run of the cached introspection client, spread over the tasks.
const CACHED_CALLS: usize = 20_000;
const CALLS_PER_TASK: usize = CACHED_CALLS / CONCURRENCY;
const _: () = assert!(
    CACHED_CALLS.is_multiple_of(CONCURRENCY),
    "calls divide among the tasks"
);
/// Sequential calls of each introspection client in the latency comparison.
const SEQUENTIAL_CALLS: usize = 500;
/// Connections per service's pool: the services' default `DB_MAX_CONNECTIONS`.
const DB_POOL: u32 = 10;
const ADMIN_EMAIL: &str = "admin@acme.example";

#[tokio::main]
async fn main() {
    eprintln!("starting auth and two interview services on a fresh database...");
    let (database_url, conn) = test_support::fresh_database().await;
    let auth_db = service_runtime::db::connect(&database_url, DB_POOL)
        .await
        .expect("connect auth's pool");
    let auth = test_support::spawn_auth(&database_url, auth_db, &[]).await;
    test_support::seed_company(&conn, "Acme", ADMIN_EMAIL).await;
    let cached = spawn_interview(&database_url, &auth.grpc_address, "1000").await;
    let uncached = spawn_interview(&database_url, &auth.grpc_address, "0").await;
    let client = test_support::client();

    eprintln!("login timing ({LOGINS} of each case)...");
    let logins = login_timing(&client, &auth.address).await;

    let admin = login(&client, &auth.address, ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("the admin signs in");
    let res = client
        .post(format!("{cached}/api/v1/candidates"))
        .bearer_auth(&admin.access)
        .json(&json!({"full_name": "Grace Hopper", "email": "grace@example.org", "position": "Engineer"}))
        .send()
        .await
        .expect("create a candidate");
    assert_eq!(res.status(), StatusCode::CREATED, "create a candidate");

    let targets = [
        (
            "GET /healthz (interview, no auth)",
            format!("{cached}/healthz"),
            None,
            Some(&cached),
        ),
        (
            "GET /api/v1/candidates?limit=1 (cache 1 s)",
            format!("{cached}/api/v1/candidates?limit=1"),
            Some(admin.access.as_str()),
            Some(&cached),
        ),
        (
            "GET /api/v1/candidates?limit=1 (cache 0)",
            format!("{uncached}/api/v1/candidates?limit=1"),
            Some(admin.access.as_str()),
            Some(&uncached),
        ),
        (
            "GET /api/v1/users/me (auth)",
            format!("{}/api/v1/users/me", auth.address),
            Some(admin.access.as_str()),
            None,
        ),
    ];
    let mut runs = Vec::new();
    for (name, url, token, metrics_at) in targets {
        eprintln!("{name}: {CONCURRENCY} clients, {WARMUP:?} warm-up + {RUN:?}...");
        load(&client, &url, token, WARMUP).await;
        let before = match metrics_at {
            Some(base) => Some(introspection_counters(&client, base).await),
            None => None,
        };
        let run = load(&client, &url, token, RUN).await;
        let cache = match (metrics_at, before) {
            (Some(base), Some(before)) => {
                Some(introspection_counters(&client, base).await.since(before))
            }
            _ => None,
        };
        runs.push((name, run, cache));
    }

    eprintln!("the introspection client on its own...");
    let direct = direct_introspection(&auth.grpc_address, &admin.access).await;

    print!("{}", report(&logins, &runs, &direct));
    drop_database(&database_url).await;
}

/// An interview service against the shared database and auth, with its own pool.
async fn spawn_interview(database_url: &str, auth_grpc: &str, cache_ms: &str) -> String {
    let pool = service_runtime::db::connect(database_url, DB_POOL)
        .await
        .expect("interview pool");
    let prefix = test_support::amqp_prefix();
    let extra = [("INTROSPECTION_CACHE_MS", cache_ms)];
    test_support::spawn_interview(database_url, pool, auth_grpc, &prefix, &extra)
        .await
        .address
}

// ----------------------------------------------------------------------------------------
// Measurements

/// Latencies, in order of size.
struct Sample {
    sorted: Vec<Duration>,
}

impl Sample {
    fn new(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        Self { sorted: latencies }
    }

    /// Nearest-rank percentile, `p` in (0, 1].
    fn pct(&self, p: f64) -> Duration {
        let n = self.sorted.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        self.sorted[rank - 1]
    }

    fn mean(&self) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        self.sorted
            .iter()
            .sum::<Duration>()
            .div_f64(self.sorted.len() as f64)
    }
}

struct LoginTiming {
    correct: Sample,
    wrong_password: Sample,
    unknown_email: Sample,
}

async fn login(
    client: &reqwest::Client,
    auth: &str,
    email: &str,
    password: &str,
) -> Result<Tokens, StatusCode> {
    let res = client
        .post(format!("{auth}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("auth answers");
    let status = res.status();
    let body = res.text().await.expect("login body");
    if status != StatusCode::OK {
        return Err(status);
    }
    let value = serde_json::from_str(&body).expect("login answers JSON");
    Ok(test_support::tokens_of(&value))
}

/// The three cases interleaved (so drift in the machine's load hits all alike), after one
/// discarded round that warms the connection, the pools and the hasher.
async fn login_timing(client: &reqwest::Client, auth: &str) -> LoginTiming {
    let cases = [
        (ADMIN_EMAIL, ADMIN_PASSWORD, true),
        (ADMIN_EMAIL, "Wrong-Pass1", false),
        ("nobody@acme.example", ADMIN_PASSWORD, false),
    ];
    let mut times: [Vec<Duration>; 3] = Default::default();
    for round in 0..=LOGINS {
        for (i, (email, password, succeeds)) in cases.iter().enumerate() {
            let started = Instant::now();
            let outcome = login(client, auth, email, password).await;
            let elapsed = started.elapsed();
            match outcome {
                Ok(_) => assert!(succeeds, "{email} signed in with a wrong password"),
                Err(status) => assert!(
                    !succeeds && status == StatusCode::UNAUTHORIZED,
                    "login {email}: {status}"
                ),
            }
            if round > 0 {
                times[i].push(elapsed);
            }
        }
    }
    let [correct, wrong_password, unknown_email] = times.map(Sample::new);
    LoginTiming {
        correct,
        wrong_password,
        unknown_email,
    }
}

struct Run {
    ok: Sample,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.ok.sorted.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// `CONCURRENCY` tasks sending GET `url` back to back over kept-alive connections for
/// `duration`. Only 200s with their whole body count as successes.
async fn load(client: &reqwest::Client, url: &str, token: Option<&str>, duration: Duration) -> Run {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let url = url.to_owned();
            let token = token.map(str::to_owned);
            tokio::spawn(async move {
                let mut ok = Vec::new();
                let mut errors = 0;
                let mut first_error = None;
                while Instant::now() < deadline {
                    let mut req = client.get(&url);
                    if let Some(token) = &token {
                        req = req.bearer_auth(token);
                    }
                    let sent = Instant::now();
                    let outcome = match req.send().await {
                        Ok(res) if res.status() == StatusCode::OK => {
                            res.bytes().await.map(drop).map_err(|e| e.to_string())
                        }
                        Ok(res) => Err(format!("status {}", res.status())),
                        Err(e) => Err(e.to_string()),
                    };
                    match outcome {
                        Ok(()) => ok.push(sent.elapsed()),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (ok, errors, first_error)
            })
        })
        .collect();
    let mut ok = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let (task_ok, task_errors, task_error) = task.await.expect("a load task panicked");
        ok.extend(task_ok);
        errors += task_errors;
        first_error = first_error.or(task_error);
    }
    Run {
        ok: Sample::new(ok),
        errors,
        first_error,
        elapsed: started.elapsed(),
    }
}

/// The process-wide introspection counters (every interview service in this process and
/// the direct clients add to them; only one thing runs at a time, so deltas attribute).
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    hits: u64,
    misses: u64,
    grpc_calls: u64,
}

impl Counters {
    fn since(self, before: Self) -> Self {
        Self {
            hits: self.hits - before.hits,
            misses: self.misses - before.misses,
            grpc_calls: self.grpc_calls - before.grpc_calls,
        }
    }
}

async fn introspection_counters(client: &reqwest::Client, base: &str) -> Counters {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("/metrics body");
    Counters {
        hits: counter(&text, "introspection_cache_total", "result=\"hit\""),
        misses: counter(&text, "introspection_cache_total", "result=\"miss\""),
        grpc_calls: counter(&text, "introspection_calls_total", "outcome=\"ok\""),
    }
}

/// The value of the series `name{...label...}` in Prometheus text, 0 when absent.
fn counter(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) && line.contains(label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

struct Direct {
    /// The concurrent run with the 1 s cache.
    concurrent: Sample,
    concurrent_elapsed: Duration,
    concurrent_hits: u64,
    concurrent_misses: u64,
    /// Sequential calls with the 1 s cache (all hits after the first) and with none.
    cached: Sample,
    cached_misses: u64,
    uncached: Sample,
    uncached_misses: u64,
}

fn snapshot(stats: &CacheStats) -> (u64, u64) {
    (
        stats.hits.load(Ordering::Relaxed),
        stats.misses.load(Ordering::Relaxed),
    )
}

async fn direct_introspection(auth_grpc: &str, token: &str) -> Direct {
    let key = SecretString::from(INTERNAL_KEY.to_owned());
    let cached = IntrospectionClient::new(auth_grpc, &key, Duration::from_secs(1))
        .expect("cached introspection client");
    let uncached = IntrospectionClient::new(auth_grpc, &key, Duration::ZERO)
        .expect("uncached introspection client");
    // No revocation feed here: tell the cached client it may keep answers.
    cached.on_feed(events::revocation::FeedEvent::Connected);
    // Opens each client's channel with a token of its own, so the measured token starts
    // uncached and its first call is a real miss.
    for c in [&cached, &uncached] {
        let answer = c.introspect("warm-up-not-a-token").await;
        assert!(matches!(answer, Ok(None)), "warm-up: {answer:?}");
    }

    let (hits0, misses0) = snapshot(cached.stats());
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = cached.clone();
            let token = token.to_owned();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(CALLS_PER_TASK);
                for _ in 0..CALLS_PER_TASK {
                    let t = Instant::now();
                    let principal = client.introspect(&token).await;
                    times.push(t.elapsed());
                    assert!(
                        matches!(principal, Ok(Some(_))),
                        "introspect: {principal:?}"
                    );
                }
                times
            })
        })
        .collect();
    let mut times = Vec::with_capacity(CACHED_CALLS);
    for task in tasks {
        times.extend(task.await.expect("an introspection task panicked"));
    }
    let concurrent_elapsed = started.elapsed();
    let (hits1, misses1) = snapshot(cached.stats());

    let sequential = |client: IntrospectionClient| {
        let token = token.to_owned();
        async move {
            let (_, before) = snapshot(client.stats());
            let mut times = Vec::with_capacity(SEQUENTIAL_CALLS);
            for _ in 0..SEQUENTIAL_CALLS {
                let t = Instant::now();
                let principal = client.introspect(&token).await;
                times.push(t.elapsed());
                assert!(
                    matches!(principal, Ok(Some(_))),
                    "introspect: {principal:?}"
                );
            }
            let (_, after) = snapshot(client.stats());
            (Sample::new(times), after - before)
        }
    };
    let (cached_sample, cached_misses) = sequential(cached).await;
    let (uncached_sample, uncached_misses) = sequential(uncached).await;

    Direct {
        concurrent: Sample::new(times),
        concurrent_elapsed,
        concurrent_hits: hits1 - hits0,
        concurrent_misses: misses1 - misses0,
        cached: cached_sample,
        cached_misses,
        uncached: uncached_sample,
        uncached_misses,
    }
}

/// Best effort: the servers still hold connections, hence `FORCE`.
async fn drop_database(url: &str) {
    let Some(name) = url
        .rsplit('/')
        .next()
        .and_then(|rest| rest.split('?').next())
    else {
        return;
    };
    let Ok(admin) = Database::connect(format!(
        "{}/postgres?sslmode=disable",
        test_support::pg_base()
    ))
    .await
    else {
        eprintln!("could not connect to drop {name}");
        return;
    };
    if let Err(e) = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
    {
        eprintln!("could not drop {name}: {e}");
    }
    admin.close().await.ok();
}

// ----------------------------------------------------------------------------------------
// The report

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn report(logins: &LoginTiming, runs: &[(&str, Run, Option<Counters>)], d: &Direct) -> String {
    let mut out = String::new();
    let rule = "-".repeat(104);
    let _ = writeln!(out, "\n{rule}");
    let _ = writeln!(
        out,
        "Login, POST /api/v1/auth/login ({LOGINS} sequential per case, interleaved)"
    );
    let _ = writeln!(
        out,
        "  {:<44} {:>9} {:>9} {:>9}",
        "case", "p50 ms", "p95 ms", "mean ms"
    );
    for (name, s) in [
        ("(a) correct password", &logins.correct),
        ("(b) wrong password, existing email", &logins.wrong_password),
        ("(c) unknown email", &logins.unknown_email),
    ] {
        let _ = writeln!(
            out,
            "  {name:<44} {:>9.2} {:>9.2} {:>9.2}",
            ms(s.pct(0.5)),
            ms(s.pct(0.95)),
            ms(s.mean())
        );
    }
    let (b, c) = (
        ms(logins.wrong_password.pct(0.5)),
        ms(logins.unknown_email.pct(0.5)),
    );
    let _ = writeln!(
        out,
        "  p50 (c) - (b): {:+.2} ms ({:+.1}% of (b))",
        c - b,
        (c - b) / b * 100.0
    );

    let _ = writeln!(
        out,
        "\nHTTP, {CONCURRENCY} concurrent keep-alive clients, {}s each (after {}s warm-up), one token",
        RUN.as_secs(),
        WARMUP.as_secs()
    );
    let _ = writeln!(
        out,
        "  {:<44} {:>9} {:>9} {:>9} {:>7}   {:<28}",
        "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "introspection hit/miss/gRPC"
    );
    for (name, run, cache) in runs {
        let cache = cache.map_or_else(
            || "-".to_owned(),
            |c| format!("{}/{}/{}", c.hits, c.misses, c.grpc_calls),
        );
        let _ = writeln!(
            out,
            "  {name:<44} {:>9.0} {:>9.2} {:>9.2} {:>7}   {cache:<28}",
            run.per_second(),
            ms(run.ok.pct(0.5)),
            ms(run.ok.pct(0.99)),
            run.errors,
        );
        if let Some(e) = &run.first_error {
            let _ = writeln!(out, "    first error: {e}");
        }
    }
    if let [_, cached, uncached, ..] = runs {
        let _ = writeln!(
            out,
            "  cache 0 vs 1 s: p50 {:+.2} ms, p99 {:+.2} ms, throughput {:.2}x",
            ms(uncached.1.ok.pct(0.5)) - ms(cached.1.ok.pct(0.5)),
            ms(uncached.1.ok.pct(0.99)) - ms(cached.1.ok.pct(0.99)),
            cached.1.per_second() / uncached.1.per_second(),
        );
    }

    let _ = writeln!(
        out,
        "\nIntrospectionClient against auth's gRPC, one token (latencies in µs)"
    );
    let _ = writeln!(
        out,
        "  {:<44} {:>9} {:>9} {:>9} {:>9}   {:<14}",
        "run", "calls/s", "mean", "p50", "p99", "hits/misses"
    );
    let total = d.concurrent.sorted.len();
    let rows = [
        (
            format!("TTL 1 s, {CONCURRENCY} tasks, {total} calls"),
            &d.concurrent,
            total as f64 / d.concurrent_elapsed.as_secs_f64(),
            format!("{}/{}", d.concurrent_hits, d.concurrent_misses),
        ),
        (
            format!("TTL 1 s, sequential, {SEQUENTIAL_CALLS} calls"),
            &d.cached,
            1.0 / d.cached.mean().as_secs_f64(),
            format!(
                "{}/{}",
                SEQUENTIAL_CALLS as u64 - d.cached_misses,
                d.cached_misses
            ),
        ),
        (
            format!("TTL 0 (every call a round trip), sequential, {SEQUENTIAL_CALLS}"),
            &d.uncached,
            1.0 / d.uncached.mean().as_secs_f64(),
            format!(
                "{}/{}",
                SEQUENTIAL_CALLS as u64 - d.uncached_misses,
                d.uncached_misses
            ),
        ),
    ];
    for (name, s, rate, hm) in rows {
        let _ = writeln!(
            out,
            "  {name:<44} {rate:>9.0} {:>9.1} {:>9.1} {:>9.1}   {hm:<14}",
            us(s.mean()),
            us(s.pct(0.5)),
            us(s.pct(0.99)),
        );
    }
    let _ = writeln!(
        out,
        "  concurrent hit ratio: {:.4}%",
        d.concurrent_hits as f64 / total as f64 * 100.0
    );
    let _ = writeln!(
        out,
        "  extractor's introspection cost, sequential mean: {:.1} µs cached vs {:.1} µs uncached ({:.1} µs saved per request)",
        us(d.cached.mean()),
        us(d.uncached.mean()),
        us(d.uncached.mean()) - us(d.cached.mean()),
    );
    let _ = writeln!(out, "{rule}");
    out
}
