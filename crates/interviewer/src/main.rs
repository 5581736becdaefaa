//! `interviewer`: the whole platform in one process on the embedded default.

use interviewer::Platform;
use service_runtime::config::Env;
use service_runtime::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::from_process();
    let format: LogFormat = env
        .parse_or("LOG_FORMAT", LogFormat::Text)
        .map_err(|e| anyhow::anyhow!(e))?;
    telemetry::init(env.get("LOG_LEVEL").unwrap_or("info"), format)?;
    let platform = Platform::build(&env).await?;
    println!("{}", platform.banner());
    platform.run_until_stopped().await?;
    Ok(())
}
