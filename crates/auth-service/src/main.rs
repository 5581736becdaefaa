//! The auth service binary: `serve` (default), `migrate`, `create-admin`.

use anyhow::Context;
use auth_service::bootstrap::{AdminSpec, Outcome, ensure_admin};
use auth_service::{Application, Settings};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use service_runtime::config::Env;
use service_runtime::db;
use service_runtime::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "auth-service",
    version,
    about = "AI Interviewer Platform: auth service"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Apply pending database migrations, create the service roles and grant them their
    /// tables (passwords from AUTH_DB_PASSWORD, INTERVIEW_DB_PASSWORD, SCORING_DB_PASSWORD,
    /// AUDIT_DB_PASSWORD where set), and exit.
    Migrate,
    /// Create a company and its first admin; does nothing if the email exists.
    CreateAdmin {
        #[arg(long, env = "ADMIN_COMPANY")]
        company: String,
        #[arg(long, env = "ADMIN_EMAIL")]
        email: String,
        #[arg(long, env = "ADMIN_FULL_NAME", default_value = "Administrator")]
        full_name: String,
        /// Read from the environment rather than the command line, so it stays out of
        /// shell history and process listings.
        #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let env = Env::from_process();
    let _telemetry = telemetry::init(&env, "auth", LogFormat::Json)?;

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let settings = Settings::from_env(&env, None)?;
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "auth service listening");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let url = env.required("DATABASE_URL")?;
            let conn = db::connect(url, 1)
                .await
                .context("connecting to DATABASE_URL")?;
            // The service roles' passwords, where the operator sets them here.
            let passwords = migration::roles::passwords_from(|var| env.get(var).map(str::to_owned));
            for (var, password) in &passwords {
                if let Some(why) = service_runtime::config::weak_secret(password) {
                    anyhow::bail!("{var}: {why}");
                }
            }
            migration::migrate_setting_passwords(&conn, &passwords)
                .await
                .context("migrating")?;
            tracing::info!(
                roles_with_new_passwords = passwords.len(),
                "migrations and service-role grants applied"
            );
        }
        Command::CreateAdmin {
            company,
            email,
            full_name,
            password,
        } => {
            let url = env.required("DATABASE_URL")?;
            let conn = db::connect(url, 1)
                .await
                .context("connecting to DATABASE_URL")?;
            let password = SecretString::from(password);
            let outcome = ensure_admin(
                &conn,
                AdminSpec {
                    company,
                    email: email.clone(),
                    full_name,
                    password,
                },
            )
            .await?;
            match outcome {
                Outcome::Created { company, user } => {
                    println!("created admin {email} (user {user}) in company {company}");
                }
                Outcome::AlreadyExists { company, user } => {
                    println!(
                        "{email} already exists (user {user}, company {company}); nothing changed"
                    );
                }
            }
        }
    }
    Ok(())
}
