//! `opsmantik-call-matcher`: clicks + sessions → call records.

#[global_allocator]
static ALLOCATOR: opsmantik_runtime::Allocator = opsmantik_runtime::Allocator;

use clap::Parser;
use opsmantik_call_matcher::{run, MatcherConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = MatcherConfig::parse();
    opsmantik_runtime::telemetry::init_logs(&config.telemetry);
    opsmantik_runtime::telemetry::serve_metrics(config.telemetry.metrics_addr)?;
    let shutdown = opsmantik_runtime::shutdown::on_signal();
    run(config, shutdown).await?;
    Ok(())
}
