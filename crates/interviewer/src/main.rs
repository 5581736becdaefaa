//! `interviewer`: the whole platform in one process on the embedded default.

use interviewer::Platform;
use service_runtime::config::Env;
use service_runtime::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = Env::from_process();
    let _telemetry = telemetry::init(&env, "interviewer", LogFormat::Text)?;
    let platform = Platform::build(&env).await?;
    println!("{}", platform.banner());
    platform.run_until_stopped().await?;
    Ok(())
}
