//! The ClickHouse sink: consumes sessions, events, calls, call-flow events, product events and dead letters and
//! lands them in ClickHouse in batches (by size and time, from the runtime's batching), storing offsets only
//! after the insert.
//!
//! `config` (settings), `tables` (the table list), `rows` (table rows), `writer` (the insert boundary),
//! `retry` (data vs transport errors), `sink` (the batch handler).

pub mod config;
pub mod retry;
pub mod rows;
pub mod sink;
pub mod tables;
pub mod writer;

use opsmantik_runtime::stage::run_stage;
use opsmantik_runtime::RuntimeError;
use tokio_util::sync::CancellationToken;

pub use config::SinkConfig;
use sink::{SinkHandler, INPUTS, STAGE};
use writer::ClickHouseWriter;

/// Runs the sink until `shutdown`.
pub async fn run(config: SinkConfig, shutdown: CancellationToken) -> Result<(), RuntimeError> {
    let writer = ClickHouseWriter::new(opsmantik_runtime::clickhouse::client(&config.clickhouse));
    tracing::info!(database = %config.clickhouse.database, "clickhouse sink starting");
    run_stage(
        STAGE,
        &INPUTS,
        &config.kafka,
        &config.batch,
        shutdown,
        |io| SinkHandler {
            writer: Box::new(writer),
            io,
        },
    )
    .await
}
