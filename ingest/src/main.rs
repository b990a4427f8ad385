//! `opsmantik-edge`: the HTTP edge.

#[global_allocator]
static ALLOCATOR: opsmantik_runtime::Allocator = opsmantik_runtime::Allocator;

use clap::Parser;
use opsmantik_ingest::{run, EdgeConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = EdgeConfig::parse();
    opsmantik_runtime::telemetry::init_logs(&config.telemetry);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    println!("edge listening on http://{}", listener.local_addr()?);
    let shutdown = opsmantik_runtime::shutdown::on_signal();
    run(config, listener, shutdown).await?;
    Ok(())
}
