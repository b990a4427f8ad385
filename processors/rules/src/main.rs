//! `opsmantik-rules`: product events → signed webhook deliveries.

use clap::Parser;
use opsmantik_rules::processor::{run, RulesConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = RulesConfig::parse();
    opsmantik_runtime::telemetry::init_logs(&config.telemetry);
    opsmantik_runtime::telemetry::serve_metrics(config.telemetry.metrics_addr)?;
    let shutdown = opsmantik_runtime::shutdown::on_signal();
    run(config, shutdown).await?;
    Ok(())
}
