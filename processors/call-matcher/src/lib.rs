//! The call-matcher: consumes tracking hits and call intents (co-partitioned by `site:visitor`, so a
//! visitor's hits and clicks reach the same instance), matches each click to the visitor's recent session
//! ([`matcher`]) and publishes a `CallRecord` (status `intent`, version 1) to `opsmantik.calls.v1`.
//!
//! Within a batch, hits are applied before clicks, so a click sees the pages viewed just before it even
//! when both arrive together. A click consumed before hits that happened earlier (the two topics are read
//! independently) is matched against what is known at that moment; there is no event-time buffering yet.

pub mod matcher;

use opsmantik_runtime::config::{BatchConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::Incoming;
use opsmantik_runtime::stage::{run_stage, StageIo};
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{decode, encode, CallIntent, Topic, TrackingHit};
use tokio_util::sync::CancellationToken;

use matcher::CallMatcher;

const STAGE: &str = "call_matcher";

/// Call-matcher settings.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "OpsMantik call-matcher: clicks + sessions -> call records")]
pub struct MatcherConfig {
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub batch: BatchConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

/// Runs the call-matcher until `shutdown`.
pub async fn run(config: MatcherConfig, shutdown: CancellationToken) -> Result<(), RuntimeError> {
    run_stage(
        STAGE,
        &[Topic::Tracking, Topic::CallIntents],
        &config.kafka,
        &config.batch,
        shutdown,
        |io| MatcherHandler {
            matcher: CallMatcher::new(),
            io,
        },
    )
    .await
}

/// The batch handler.
#[derive(Debug)]
pub struct MatcherHandler {
    pub matcher: CallMatcher,
    pub io: StageIo,
}

impl BatchHandler for MatcherHandler {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let mut out = Vec::new();
        let is_hit = |i: &Incoming| self.io.topics.topic_of(&i.topic) == Some(Topic::Tracking);
        // Hits first, then clicks, each in consumption order.
        for incoming in batch.iter().filter(|i| is_hit(i)) {
            match decode::<TrackingHit>(incoming.payload()) {
                Ok(hit) => self.matcher.on_hit(&hit),
                Err(e) => {
                    tracing::debug!(error = %e, "undecodable hit (the sessionizer dead-letters it)")
                }
            }
        }
        for incoming in batch.iter().filter(|i| !is_hit(i)) {
            let record = decode::<CallIntent>(incoming.payload())
                .map_err(|e| (Reason::from(&e), e.to_string()))
                .and_then(|intent| {
                    let record = self.matcher.on_intent(&intent);
                    encode(&record)
                        .map(|p| (record.call_id, p))
                        .map_err(|e| (Reason::Invalid, e.to_string()))
                });
            match record {
                Ok((call_id, payload)) => {
                    out.push(self.io.record(Topic::Calls, call_id.as_bytes(), payload))
                }
                Err((reason, detail)) => out.extend(self.io.dead_letter(incoming, reason, detail)),
            }
        }
        self.io.publish_or_fail(out).await
    }
}

#[cfg(test)]
#[test]
fn the_command_line_is_well_formed() {
    use clap::CommandFactory;
    MatcherConfig::command().debug_assert();
}
