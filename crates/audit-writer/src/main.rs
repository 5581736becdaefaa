//! The audit-writer binary.

use audit_writer::{Application, Settings};
use service_runtime::config::Env;
use service_runtime::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::from_process();
    let format: LogFormat = env
        .parse_or("LOG_FORMAT", LogFormat::Json)
        .map_err(|e| anyhow::anyhow!(e))?;
    telemetry::init(env.get("LOG_LEVEL").unwrap_or("info"), format)?;
    let app = Application::build(Settings::from_env(&env, None)?).await?;
    tracing::info!(port = app.port(), "audit-writer listening");
    app.run_until_stopped().await
}
