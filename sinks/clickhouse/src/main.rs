//! `opsmantik-clickhouse-sink`: sessions, events, call-flow events and dead letters → ClickHouse.

#[global_allocator]
static ALLOCATOR: opsmantik_runtime::Allocator = opsmantik_runtime::Allocator;

use clap::Parser;
use opsmantik_clickhouse_sink::{run, SinkConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = SinkConfig::parse();
    opsmantik_runtime::telemetry::init_logs(&config.telemetry);
    opsmantik_runtime::telemetry::serve_metrics(config.telemetry.metrics_addr)?;
    let shutdown = opsmantik_runtime::shutdown::on_signal();
    run(config, shutdown).await?;
    Ok(())
}
