//! The ClickHouse sink: consumes sessions, events and dead letters and lands them in ClickHouse in batches
//! (by size and time, from the runtime's batching), storing offsets only after the insert.
//!
//! `config` (settings), `rows` (table rows), `writer` (the insert boundary), `retry` (data vs transport
//! errors), `sink` (the batch handler).

pub mod config;
pub mod retry;
pub mod rows;
pub mod sink;
pub mod writer;

use opsmantik_runtime::consume::run_consumer;
use opsmantik_runtime::kafka::{create_consumer, KafkaPublisher};
use opsmantik_runtime::metrics::StageMetrics;
use opsmantik_runtime::retry::Backoff;
use opsmantik_runtime::RuntimeError;
use tokio_util::sync::CancellationToken;

pub use config::SinkConfig;
use sink::{SinkHandler, INPUTS, STAGE};
use writer::ClickHouseWriter;

/// Runs the sink until `shutdown`.
pub async fn run(config: SinkConfig, shutdown: CancellationToken) -> Result<(), RuntimeError> {
    let topics = config.kafka.topics();
    let names: Vec<String> = INPUTS.iter().map(|t| topics.name(*t)).collect();
    let consumer = create_consumer(&config.kafka, STAGE, STAGE, &names)?;
    let publisher = KafkaPublisher::new(&config.kafka)?;
    let metrics = StageMetrics::new(STAGE);
    let mut handler = SinkHandler {
        writer: Box::new(ClickHouseWriter::new(
            opsmantik_runtime::clickhouse::client(&config.clickhouse),
        )),
        publisher: Box::new(publisher.clone()),
        topics,
        metrics: metrics.clone(),
        backoff: Backoff::default(),
        shutdown: shutdown.clone(),
    };
    tracing::info!(database = %config.clickhouse.database, "clickhouse sink running");
    let result = run_consumer(&consumer, &config.batch, &mut handler, &metrics, &shutdown).await;
    let _ = publisher.flush(std::time::Duration::from_secs(5));
    result
}
