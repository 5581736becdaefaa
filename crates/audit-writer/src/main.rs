//! The audit-writer binary.

use audit_writer::{Application, Settings};
use service_runtime::config::Env;
use service_runtime::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::from_process();
    let _telemetry = telemetry::init(&env, "audit-writer", LogFormat::Json)?;
    let app = Application::build(Settings::from_env(&env, None)?).await?;
    tracing::info!(port = app.port(), "audit-writer listening");
    app.run_until_stopped().await
}
