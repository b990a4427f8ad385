//! The call-matcher: consumes tracking hits and call intents (co-partitioned by `site:visitor`, so a
//! visitor's hits and clicks reach the same instance), follows every visitor's session with the shared session
//! rules, matches each click to it ([`matcher`]) and publishes a `CallRecord` (status `intent`, version 1) to
//! `opsmantik.calls.v1`.
//!
//! **Event-time alignment.** The two topics are read independently, so a click can be consumed before the
//! hits that happened just before it. A click is therefore held (as keyed state, in the snapshot) until the
//! hits input of its partition has passed the click's event time — its watermark, the highest hit event time
//! seen — or until `CALL_MATCH_MAX_WAIT_MS` of wall time passed, whichever comes first. The same inputs then
//! give the same calls whatever the read order, as long as the hits arrive within the wait. The trade-off: a
//! click on a quiet partition (no later hit) is published only after the wait (3 s by default); a longer wait
//! tolerates more lag between the two inputs at the cost of call latency.

pub mod matcher;
mod operator;

use std::sync::Arc;

use opsmantik_runtime::clock::SystemClock;
use opsmantik_runtime::config::{BatchConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::operator::snapshot::RedisSnapshots;
use opsmantik_runtime::operator::OperatorStage;
use opsmantik_runtime::redis::{RedisConfig, Store};
use opsmantik_runtime::stage::run_stage;
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::Topic;
use tokio_util::sync::CancellationToken;

pub use operator::{Held, MatchOperator};

const STAGE: &str = "call_matcher";

/// Call-matcher settings.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "OpsMantik call-matcher: clicks + sessions -> call records")]
pub struct MatcherConfig {
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub batch: BatchConfig,
    /// Where partition snapshots are kept.
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
    /// Longest a click waits for the hits input to pass its event time (wall-clock milliseconds).
    #[arg(
        long = "align-wait-ms",
        env = "CALL_MATCH_MAX_WAIT_MS",
        default_value_t = 3_000
    )]
    pub align_wait_ms: i64,
}

/// Runs the call-matcher until `shutdown`.
pub async fn run(config: MatcherConfig, shutdown: CancellationToken) -> Result<(), RuntimeError> {
    let store =
        Store::new(&config.redis).map_err(|e| RuntimeError::Config(format!("redis: {e}")))?;
    let operator = MatchOperator {
        max_wait_ms: config.align_wait_ms,
    };
    run_stage(
        STAGE,
        &[Topic::Tracking, Topic::CallIntents],
        &config.kafka,
        &config.batch,
        shutdown,
        |io| OperatorStage::new(operator, io, RedisSnapshots(store), Arc::new(SystemClock)),
    )
    .await
}

#[cfg(test)]
#[test]
fn the_command_line_is_well_formed() {
    use clap::CommandFactory;
    MatcherConfig::command().debug_assert();
}
