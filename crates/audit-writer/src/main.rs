//! The audit-writer binary: the service, or `audit-writer verify [--company ID]`, which
//! walks the audit log's hash chains (every company's, and the platform's, by default)
//! and exits 1 when one is broken.

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
