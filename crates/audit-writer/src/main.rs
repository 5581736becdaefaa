//! The audit-writer binary: the service; `audit-writer verify [--company ID]`, which
//! walks the audit log's hash chains (every company's, and the platform's, by default)
//! and exits 1 when one is broken; `audit-writer retention [--detach]`, which removes the
//! monthly partitions past `AUDIT_RETENTION_DAYS`; `audit-writer seed-bench --rows N
//! --companies C`, which fills the log with realistic chained rows for benchmarks.

use audit_writer::{Application, Settings};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use service_runtime::config::Env;
use service_runtime::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "audit-writer",
    about = "The audit log's writer and search (HTTP :8003)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve (the default).
    Serve,
    /// Verify the hash chain of one company's audit log, or of all (reads DATABASE_URL and
    /// AUDIT_CHAIN_KEY); prints one JSON report per chain and exits 1 if any is broken.
    Verify {
        /// The company whose chain to verify.
        #[arg(long)]
        company: Option<uuid::Uuid>,
    },
    /// Remove the audit log's monthly partitions older than AUDIT_RETENTION_DAYS (730):
    /// detached concurrently, so inserts go on, then dropped (PostgreSQL only). Run it as
    /// the schema's owner (DATABASE_URL as for migrations) with AUDIT_CHAIN_KEY; prints
    /// what it removed as JSON and records it in the audit log (AUDIT_RETENTION).
    Retention {
        /// Keep the partitions as tables of their own, for archiving, instead of dropping.
        #[arg(long)]
        detach: bool,
    },
    /// Fill the audit log with realistic, correctly chained rows quickly (COPY), for the
    /// search benchmark (PostgreSQL; reads DATABASE_URL and AUDIT_CHAIN_KEY). Seeding
    /// again adds to the same companies' chains.
    SeedBench {
        /// Rows to write.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Companies they are spread over.
        #[arg(long, default_value_t = 50)]
        companies: u32,
        /// How many months back from now their times reach.
        #[arg(long, default_value_t = 24)]
        months: u32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let env = Env::from_process();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let _telemetry = telemetry::init(&env, "audit-writer", LogFormat::Json)?;
            let app = Application::build(Settings::from_env(&env, None)?).await?;
            tracing::info!(port = app.port(), "audit-writer listening");
            app.run_until_stopped().await
        }
        Command::Retention { detach } => {
            let _telemetry = telemetry::init(&env, "audit-writer", LogFormat::Text)?;
            retention(&env, detach).await
        }
        Command::SeedBench {
            rows,
            companies,
            months,
        } => {
            let _telemetry = telemetry::init(&env, "audit-writer", LogFormat::Text)?;
            seed_bench(&env, rows, companies, months).await
        }
        Command::Verify { company } => {
            let _telemetry = telemetry::init(&env, "audit-writer", LogFormat::Text)?;
            let ok = verify(&env, company).await?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn seed_bench(env: &Env, rows: u64, companies: u32, months: u32) -> anyhow::Result<()> {
    let url = env.required("DATABASE_URL")?;
    let key = env.required("AUDIT_CHAIN_KEY")?;
    let key = audit_writer::chain::ChainKey::new(SecretString::from(key.to_owned()));
    let db = service_runtime::db::connect(url, 2).await?;
    let report = audit_writer::seed::seed(
        &db,
        &key,
        &audit_writer::seed::SeedOptions {
            rows,
            companies,
            months,
            ..audit_writer::seed::SeedOptions::default()
        },
    )
    .await?;
    println!(
        "{}",
        serde_json::json!({
            "rows": report.rows,
            "seconds": report.seconds,
            "rows_per_second": report.rows_per_second,
            "companies": report.chains.len(),
            "partitions_created": report.partitions_created,
        })
    );
    Ok(())
}

async fn retention(env: &Env, detach: bool) -> anyhow::Result<()> {
    let url = env.required("DATABASE_URL")?;
    let key = env.required("AUDIT_CHAIN_KEY")?;
    let key = audit_writer::chain::ChainKey::new(SecretString::from(key.to_owned()));
    let days = env.parse_or(
        "AUDIT_RETENTION_DAYS",
        audit_writer::retention::DEFAULT_DAYS,
    )?;
    if !(1..=36_500).contains(&days) {
        anyhow::bail!("AUDIT_RETENTION_DAYS must be 1 to 36500, not {days}");
    }
    let db = service_runtime::db::connect(url, 2).await?;
    let outcome =
        audit_writer::retention::run(&db, &key, audit_writer::retention::Options { days, detach })
            .await?;
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(())
}

async fn verify(env: &Env, company: Option<uuid::Uuid>) -> anyhow::Result<bool> {
    let url = env.required("DATABASE_URL")?;
    let key = env.required("AUDIT_CHAIN_KEY")?;
    let key = audit_writer::chain::ChainKey::new(SecretString::from(key.to_owned()));
    let db = service_runtime::db::connect(url, 2).await?;
    let chains: Vec<Option<uuid::Uuid>> = match company {
        Some(c) => vec![Some(c)],
        None => audit_writer::store::audit::chains(&db)
            .await?
            .into_iter()
            .map(|c| (c != audit_writer::chain::PLATFORM_CHAIN).then_some(c))
            .collect(),
    };
    let mut all_ok = true;
    for company in chains {
        let report = audit_writer::verify::verify(&db, &key, company).await?;
        all_ok &= report.ok;
        let line = serde_json::json!({"company_id": company, "report": report});
        println!("{line}");
    }
    Ok(all_ok)
}
