//! The interview service binary.

use interview_service::{Application, Settings};
use service_runtime::config::Env;
use service_runtime::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::from_process();
    let _telemetry = telemetry::init(&env, "interview", LogFormat::Json)?;
    let settings = Settings::from_env(&env, None)?;
    let app = Application::build(settings).await?;
    tracing::info!(
        port = app.port(),
        grpc_port = app.grpc_port(),
        "interview service listening"
    );
    app.run_until_stopped().await
}
