//! Fills the audit log with realistic history, fast (issue 15: the audit log at scale):
//! rows streamed into `audit_logs` by `COPY`, each a valid link of its company's hash
//! chain, for load tests and the search benchmark.
//!
//! The rows look like the platform's own: mostly sign-ins and token refreshes, then
//! sign-outs, failed sign-ins, candidates, interviews, scorecards and the rarer account
//! changes, each with the source, actor, resource and PII-free `details` its service
//! writes, at times weighted towards working hours. Each company's rows are linked in
//! order of time, continuing its chain from its head, so a second seed extends the chains
//! (its rows fall between a chain's last row and now: a chain only grows forward in time).

mod activity;
mod clock;

use crate::chain::{ChainKey, ChainedRow, V2, to_micros};
use activity::{ACTIONS, Company, Weighted};
use anyhow::Context as _;
use clock::{Clock, micros, months_back};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sea_orm::sqlx::{self, PgConnection, PgPool};
use sea_orm::{DatabaseConnection, DbBackend};
use std::io::Write as _;
use std::time::Instant;
use time::{Date, OffsetDateTime};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Rows generated, and sent to the server, at a time.
const CHUNK_ROWS: u64 = 50_000;

/// The columns the seed writes, in `COPY` order.
const COLUMNS: &str = "id, company_id, user_id, action, resource_type, resource_id, details, \
    source, trace_parent, occurred_at, created_at, chain_key, chain_seq, prev_hash, hash, \
    chain_version, pii_digest";

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Rows to write.
    pub rows: u64,
    /// Companies the rows are spread over, one chain each; some are busier than others.
    pub companies: u32,
    /// How far back from now the rows' times reach, in calendar months.
    pub months: u32,
    /// Users of each company: the actors of its rows.
    pub users_per_company: u32,
    /// The random generator's seed: the same seed names the same companies and users, so
    /// seeding again adds to the same chains.
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            rows: 100_000,
            companies: 10,
            months: 24,
            users_per_company: 200,
            seed: 0x0015_a0d1_7109_5eed,
        }
    }
}

/// One company's chain after a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededChain {
    pub company: Uuid,
    /// Rows this seed added to it.
    pub rows: u64,
    /// Its head's position now: every row it holds, this seed's and earlier ones.
    pub head_seq: i64,
}

/// What a seed wrote, and how fast.
#[derive(Debug, Clone)]
pub struct SeedReport {
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_second: u64,
    /// The companies, in the order of their ids.
    pub chains: Vec<SeededChain>,
    /// The monthly partitions `audit_ensure_partitions` created (none on a plain table).
    pub partitions_created: i32,
}

/// Writes `opts.rows` rows of `opts.companies` companies into `audit_logs` (PostgreSQL
/// only), each linked into its company's chain under `key` as the writer links them
/// (version 2, no personal data), and adds them to the security report's daily counts.
/// One transaction: the chains' heads are locked, in the writer's order, until it
/// commits, so events arriving meanwhile wait and follow the seeded rows. Rows are
/// generated on a blocking thread while the previous chunk is copied.
#[tracing::instrument(level = "debug", skip_all, fields(rows = opts.rows), err(level = "debug"))]
pub async fn seed(
    db: &DatabaseConnection,
    key: &ChainKey,
    opts: &SeedOptions,
) -> anyhow::Result<SeedReport> {
    anyhow::ensure!(
        db.get_database_backend() == DbBackend::Postgres,
        "seeding the audit log takes PostgreSQL (COPY)"
    );
    anyhow::ensure!(opts.companies > 0, "seeding needs at least one company");
    anyhow::ensure!(
        opts.users_per_company >= 2,
        "seeding needs at least two users a company (an admin and another)"
    );
    anyhow::ensure!(
        opts.months > 0,
        "seeding needs a span of at least one month"
    );
    let started = Instant::now();
    let pool = db.get_postgres_connection_pool();
    let end = to_micros(OffsetDateTime::now_utc());
    let start = months_back(end, opts.months)?;
    // Before the transaction: creating a partition locks the whole table.
    let partitions_created = ensure_partitions(pool, start.date(), opts.months).await?;
    let clock = Clock::new(micros(start)?, micros(end)?)?;
    let mut companies = activity::companies(opts);

    let mut tx = pool.begin().await.context("beginning the seed")?;
    for company in &mut companies {
        let (seq, hash, last) = lock_head(&mut tx, company.id).await?;
        company.seq = seq;
        company.hash = hash;
        company.not_before = match last {
            Some(at) => micros(at)?.saturating_add(1).max(clock.start),
            None => clock.start,
        };
        company.from = clock.position(company.not_before);
    }
    // Each run draws its own rows: a second seed's ids and sessions are new ones.
    let heads: i64 = companies.iter().map(|c| c.seq).sum();
    let rng = SmallRng::seed_from_u64(opts.seed ^ heads.unsigned_abs().rotate_left(32));
    let generator = Generator::new(key.clone(), clock, companies, rng);

    let (chunks, mut received) = mpsc::channel::<Vec<u8>>(2);
    let rows = opts.rows;
    let producer = tokio::task::spawn_blocking(move || generator.run(rows, &chunks));
    let mut copy = tx
        .copy_in_raw(&format!(
            "COPY audit_logs ({COLUMNS}) FROM STDIN (FORMAT text)"
        ))
        .await
        .context("starting the COPY into audit_logs")?;
    let mut sent = Ok(());
    while let Some(chunk) = received.recv().await {
        if let Err(e) = copy.send(chunk).await {
            sent = Err(e);
            break;
        }
    }
    // A closed channel also stops the generator should the COPY have failed.
    drop(received);
    let generated = producer.await.context("the row generator panicked");
    if let Err(e) = sent {
        return Err(e).context("copying rows into audit_logs");
    }
    let generator = match generated.and_then(|g| g) {
        Ok(generator) => generator,
        Err(e) => {
            copy.abort("the row generator failed").await.ok();
            return Err(e);
        }
    };
    let copied = copy
        .finish()
        .await
        .context("finishing the COPY into audit_logs")?;
    anyhow::ensure!(
        copied == rows,
        "the COPY stored {copied} rows of the {rows} sent"
    );

    for company in &generator.companies {
        sqlx::query("UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE chain_key = $1")
            .bind(company.id)
            .bind(company.seq)
            .bind(&company.hash)
            .execute(&mut *tx)
            .await
            .context("moving a chain's head")?;
    }
    add_counts(&mut tx, &generator.counts).await?;
    tx.commit().await.context("committing the seed")?;

    let elapsed = started.elapsed();
    let per_second = u128::from(rows) * 1_000_000 / elapsed.as_micros().max(1);
    Ok(SeedReport {
        rows,
        seconds: elapsed.as_secs_f64(),
        rows_per_second: u64::try_from(per_second).unwrap_or(u64::MAX),
        chains: generator
            .companies
            .iter()
            .map(|c| SeededChain {
                company: c.id,
                rows: c.rows,
                head_seq: c.seq,
            })
            .collect(),
        partitions_created,
    })
}

/// Creates the monthly partitions from `from`'s month through `months` months after it
/// when `audit_logs` is partitioned (`audit_ensure_partitions` exists); how many.
async fn ensure_partitions(pool: &PgPool, from: Date, months: u32) -> anyhow::Result<i32> {
    let present: bool =
        sqlx::query_scalar("SELECT to_regproc('audit_ensure_partitions') IS NOT NULL")
            .fetch_one(pool)
            .await
            .context("looking for audit_ensure_partitions")?;
    if !present {
        return Ok(0);
    }
    let created: Option<i32> = sqlx::query_scalar("SELECT audit_ensure_partitions($1::date, $2)")
        .bind(from.replace_day(1)?)
        .bind(i32::try_from(months)?)
        .fetch_one(pool)
        .await
        .context("creating the audit log's partitions")?;
    Ok(created.unwrap_or(0))
}

/// Locks a chain's head for the transaction, created at the genesis if new (as the writer
/// does): its position, its link, and the time of its last row.
async fn lock_head(
    conn: &mut PgConnection,
    chain: Uuid,
) -> anyhow::Result<(i64, String, Option<OffsetDateTime>)> {
    sqlx::query(
        "INSERT INTO audit_chain_heads (chain_key, seq, hash) VALUES ($1, 0, $2) \
         ON CONFLICT (chain_key) DO NOTHING",
    )
    .bind(chain)
    .bind(crate::chain::GENESIS)
    .execute(&mut *conn)
    .await
    .context("creating a chain's head")?;
    let (seq, hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_chain_heads WHERE chain_key = $1 FOR UPDATE")
            .bind(chain)
            .fetch_one(&mut *conn)
            .await
            .context("locking a chain's head")?;
    let last: Option<OffsetDateTime> = sqlx::query_scalar(
        "SELECT created_at FROM audit_logs WHERE chain_key = $1 AND chain_seq = $2",
    )
    .bind(chain)
    .bind(seq)
    .fetch_optional(&mut *conn)
    .await
    .context("reading a chain's last row")?;
    Ok((seq, hash, last))
}

/// Adds the seeded rows to `audit_daily_counts`, as [`crate::report::add`] does for a
/// batch, in one statement however many days they cover.
async fn add_counts(conn: &mut PgConnection, counts: &crate::report::Counts) -> anyhow::Result<()> {
    let mut companies = Vec::with_capacity(counts.len());
    let mut days = Vec::with_capacity(counts.len());
    let mut metrics = Vec::with_capacity(counts.len());
    let mut ns = Vec::with_capacity(counts.len());
    for ((company, day, metric), n) in counts {
        companies.push(*company);
        days.push(*day);
        metrics.push(*metric);
        ns.push(*n);
    }
    sqlx::query(
        "INSERT INTO audit_daily_counts (company_key, day, metric, n) \
         SELECT * FROM UNNEST($1::uuid[], $2::date[], $3::text[], $4::bigint[]) \
         ON CONFLICT (company_key, day, metric) \
         DO UPDATE SET n = audit_daily_counts.n + EXCLUDED.n",
    )
    .bind(companies)
    .bind(days)
    .bind(metrics)
    .bind(ns)
    .execute(conn)
    .await
    .context("adding to the security report's daily counts")?;
    Ok(())
}

/// Makes the rows: picks a company by its size and an action by its share, builds the
/// event its service would send, and links it into the company's chain.
struct Generator {
    key: ChainKey,
    clock: Clock,
    companies: Vec<Company>,
    /// Company sizes: the `k`-th busiest (a random one) writes in proportion to 1/√k.
    sizes: Weighted,
    actions: Weighted,
    rng: SmallRng,
    counts: crate::report::Counts,
}

impl Generator {
    fn new(key: ChainKey, clock: Clock, companies: Vec<Company>, mut rng: SmallRng) -> Self {
        let mut ranks: Vec<u64> = (1..=u64::try_from(companies.len()).unwrap_or(1)).collect();
        // Shuffled, so which company is the busiest does not follow its id.
        for i in (1..ranks.len()).rev() {
            ranks.swap(i, rng.random_range(0..=i));
        }
        let sizes = Weighted::new(
            ranks
                .iter()
                .map(|k| 1_000_000_000 / (k * 1_000_000).isqrt()),
        );
        Self {
            key,
            clock,
            companies,
            sizes,
            actions: Weighted::new(ACTIONS.iter().map(|a| a.2)),
            rng,
            counts: crate::report::Counts::new(),
        }
    }

    /// Generates `rows` rows, sending them as `COPY` text a chunk at a time.
    fn run(mut self, rows: u64, chunks: &mpsc::Sender<Vec<u8>>) -> anyhow::Result<Self> {
        let capacity = usize::try_from(CHUNK_ROWS.min(rows))? * 640;
        let mut buf = Vec::with_capacity(capacity);
        for i in 0..rows {
            self.row(i, rows, &mut buf)?;
            if (i + 1) % CHUNK_ROWS == 0 {
                let chunk = std::mem::replace(&mut buf, Vec::with_capacity(capacity));
                chunks
                    .blocking_send(chunk)
                    .map_err(|_closed| anyhow::anyhow!("the COPY stopped taking rows"))?;
            }
        }
        if !buf.is_empty() {
            chunks
                .blocking_send(buf)
                .map_err(|_closed| anyhow::anyhow!("the COPY stopped taking rows"))?;
        }
        Ok(self)
    }

    /// Row `i` of `of`: its time is the company's share of the way from its start to now,
    /// so each company's rows come in order of time.
    fn row(&mut self, i: u64, of: u64, out: &mut Vec<u8>) -> anyhow::Result<()> {
        let c = self.sizes.pick(&mut self.rng);
        let (action, source, _) = ACTIONS[self.actions.pick(&mut self.rng)];
        let total = self.clock.total();
        let Some(company) = self.companies.get_mut(c) else {
            anyhow::bail!("no company {c}");
        };
        let span = total.saturating_sub(company.from);
        let jitter = if span > 0 {
            self.rng.random_range(0..span)
        } else {
            0
        };
        let position = company.from + (u128::from(i) * span + jitter) / u128::from(of);
        let at = self.clock.time_at(position).max(company.not_before);
        let event = activity::event(&mut self.rng, company, action, source, at)?;
        crate::report::count(&mut self.counts, &event);
        let split = crate::pii::split(&event.details)?;
        anyhow::ensure!(split.pii.is_none(), "seeded details name no one");
        let row = ChainedRow {
            version: V2,
            seq: company.seq + 1,
            id: event.id,
            company_id: event.company_id,
            user_id: event.actor_user_id,
            action: &event.kind,
            resource_type: event.resource_type.as_deref(),
            resource_id: event.resource_id.as_deref(),
            details: &split.details,
            pii_digest: None,
            source: &event.source,
            trace_parent: event.traceparent.as_deref(),
            occurred_at: event.time,
            created_at: event.time,
        };
        let link = self.key.link(&company.hash, &row);
        write_row(out, &row, company.id, &company.hash, &link)?;
        company.seq = row.seq;
        company.hash = link;
        company.rows += 1;
        Ok(())
    }
}

/// Appends a row as a line of `COPY ... (FORMAT text)`, in [`COLUMNS`] order.
fn write_row(
    out: &mut Vec<u8>,
    row: &ChainedRow<'_>,
    chain: Uuid,
    prev_hash: &str,
    hash: &str,
) -> anyhow::Result<()> {
    push_uuid(out, Some(row.id));
    out.push(b'\t');
    push_uuid(out, row.company_id);
    out.push(b'\t');
    push_uuid(out, row.user_id);
    out.push(b'\t');
    push_text(out, Some(row.action));
    out.push(b'\t');
    push_text(out, row.resource_type);
    out.push(b'\t');
    push_text(out, row.resource_id);
    out.push(b'\t');
    push_text(out, Some(row.details));
    out.push(b'\t');
    push_text(out, Some(row.source));
    out.push(b'\t');
    push_text(out, row.trace_parent);
    out.push(b'\t');
    push_time(out, row.occurred_at)?;
    out.push(b'\t');
    push_time(out, row.created_at)?;
    out.push(b'\t');
    push_uuid(out, Some(chain));
    write!(out, "\t{}\t", row.seq)?;
    push_text(out, Some(prev_hash));
    out.push(b'\t');
    push_text(out, Some(hash));
    write!(out, "\t{}\t", row.version)?;
    push_text(out, row.pii_digest);
    out.push(b'\n');
    Ok(())
}

/// A text value escaped for `COPY` text format (`\N` for null).
fn push_text(out: &mut Vec<u8>, value: Option<&str>) {
    let Some(value) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
}

fn push_uuid(out: &mut Vec<u8>, value: Option<Uuid>) {
    match value {
        Some(id) => out.extend_from_slice(
            id.hyphenated()
                .encode_lower(&mut Uuid::encode_buffer())
                .as_bytes(),
        ),
        None => out.extend_from_slice(b"\\N"),
    }
}

/// A `timestamptz` in UTC to the microsecond, as PostgreSQL reads it (and the chain
/// covers it).
fn push_time(out: &mut Vec<u8>, t: OffsetDateTime) -> std::io::Result<()> {
    out.extend_from_slice(crate::chain::stamp(t).as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::{self, Filter};
    use secrecy::SecretString;

    fn key() -> ChainKey {
        ChainKey::new(SecretString::from(test_support::CHAIN_KEY.to_owned()))
    }

    #[test]
    fn copy_text_escapes_what_would_end_a_field_or_a_row() {
        let mut out = Vec::new();
        push_text(&mut out, Some("a\tb\nc\rd\\e\"é"));
        out.push(b'|');
        push_text(&mut out, None);
        assert_eq!(String::from_utf8(out).unwrap(), "a\\tb\\nc\\rd\\\\e\"é|\\N");
    }

    async fn count(db: &DatabaseConnection, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(db.get_postgres_connection_pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn seeded_rows_are_valid_chains_that_a_second_seed_continues_and_search_reads_newest_first()
     {
        let (_, db) = test_support::fresh_database().await;
        let key = key();
        let opts = SeedOptions {
            rows: 5_000,
            companies: 3,
            months: 6,
            users_per_company: 40,
            ..SeedOptions::default()
        };
        let first = seed(&db, &key, &opts).await.unwrap();
        assert_eq!(first.rows, 5_000);
        assert_eq!(first.chains.len(), 3);
        assert_eq!(first.chains.iter().map(|c| c.rows).sum::<u64>(), 5_000);
        let partitioned = count(
            &db,
            "SELECT (to_regproc('audit_ensure_partitions') IS NOT NULL)::int::bigint",
        )
        .await;
        if partitioned == 1 {
            // A fresh table has partitions from this month on only: the seed made the rest.
            assert!(first.partitions_created >= 6, "{first:?}");
        }
        for chain in &first.chains {
            assert!(chain.rows > 500, "every company has rows: {chain:?}");
            assert_eq!(chain.head_seq, i64::try_from(chain.rows).unwrap());
            let report = crate::verify::verify(&db, &key, Some(chain.company))
                .await
                .unwrap();
            assert!(report.ok, "{chain:?}: {report:?}");
            assert_eq!(report.checked, chain.rows);
        }
        // Spread over the months, to the microsecond.
        let days = count(
            &db,
            "SELECT COUNT(DISTINCT (created_at AT TIME ZONE 'UTC')::date) FROM audit_logs",
        )
        .await;
        assert!(days > 150, "rows on {days} days");
        let whole_ms = count(
            &db,
            "SELECT COUNT(*) FROM audit_logs WHERE extract(microseconds FROM created_at)::bigint % 1000 = 0",
        )
        .await;
        assert!(whole_ms < 100, "{whole_ms} rows on a whole millisecond");
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_logs WHERE occurred_at <> created_at"
            )
            .await,
            0
        );
        // The security report counts them as the writer would.
        let logins = count(
            &db,
            "SELECT COUNT(*) FROM audit_logs WHERE action = 'LOGIN'",
        )
        .await;
        assert!(logins > 2_400 && logins < 3_100, "{logins} sign-ins");
        assert_eq!(
            count(
                &db,
                "SELECT COALESCE(SUM(n), 0)::bigint FROM audit_daily_counts WHERE metric = 'logins_succeeded'"
            )
            .await,
            logins
        );

        let second = seed(&db, &key, &opts).await.unwrap();
        for (before, after) in first.chains.iter().zip(&second.chains) {
            assert_eq!(before.company, after.company, "the same companies");
            assert_eq!(
                after.head_seq,
                before.head_seq + i64::try_from(after.rows).unwrap()
            );
            let report = crate::verify::verify(&db, &key, Some(after.company))
                .await
                .unwrap();
            assert!(report.ok, "{after:?}: {report:?}");
            assert_eq!(report.checked, u64::try_from(after.head_seq).unwrap());
        }
        // Each chain's order is the order of time.
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM (SELECT created_at < lag(created_at) OVER \
                 (PARTITION BY chain_key ORDER BY chain_seq) AS back FROM audit_logs) r WHERE back"
            )
            .await,
            0
        );

        let company = first.chains[0].company;
        let page = audit::search(&db, company, &Filter::default(), 50)
            .await
            .unwrap();
        assert_eq!(page.len(), 50);
        assert!(
            page.windows(2)
                .all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)),
            "newest first"
        );
        let newest: OffsetDateTime =
            sqlx::query_scalar("SELECT MAX(occurred_at) FROM audit_logs WHERE company_id = $1")
                .bind(company)
                .fetch_one(db.get_postgres_connection_pool())
                .await
                .unwrap();
        assert_eq!(page[0].created_at, newest);
        let user = page.iter().find_map(|e| e.user_id).unwrap();
        let theirs = audit::search(
            &db,
            company,
            &Filter {
                user_id: Some(user),
                ..Filter::default()
            },
            50,
        )
        .await
        .unwrap();
        assert!(!theirs.is_empty() && theirs.iter().all(|e| e.user_id == Some(user)));
    }
}
