//! `opsmantik-redis-overlay`: sessions and events → today's per-site counts in Redis.

#[global_allocator]
static ALLOCATOR: opsmantik_runtime::Allocator = opsmantik_runtime::Allocator;

use clap::Parser;
use opsmantik_redis_overlay::{run, OverlayConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = OverlayConfig::parse();
    opsmantik_runtime::telemetry::init_logs(&config.telemetry);
    opsmantik_runtime::telemetry::serve_metrics(config.telemetry.metrics_addr)?;
    let shutdown = opsmantik_runtime::shutdown::on_signal();
    run(config, shutdown).await?;
    Ok(())
}
