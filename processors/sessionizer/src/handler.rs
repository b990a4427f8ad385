//! Connects the [`Sessionizer`] operator to the stream runtime: consumes `opsmantik.tracking.v1`, publishes
//! `opsmantik.events.v1` and `opsmantik.sessions.v1`, dead-letters what it cannot place.

use std::collections::HashMap;

use opsmantik_runtime::config::{BatchConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::{Incoming, OutRecord};
use opsmantik_runtime::redis::{RedisConfig, Store};
use opsmantik_runtime::stage::{run_stage, StageIo};
use opsmantik_runtime::visitor_index::{self, VisitorEntry};
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{decode, encode, SessionState, Topic, TrackingHit};
use tokio_util::sync::CancellationToken;

use crate::operator::{Outcome, Sessionizer};

const STAGE: &str = "sessionizer";

/// Sessionizer settings.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "OpsMantik sessionizer: tracking hits -> sessions and session events")]
pub struct SessionizerConfig {
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub batch: BatchConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

/// Runs the sessionizer until `shutdown`.
pub async fn run(
    config: SessionizerConfig,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let index =
        Store::new(&config.redis).map_err(|e| RuntimeError::Config(format!("redis: {e}")))?;
    run_stage(
        STAGE,
        &[Topic::Tracking],
        &config.kafka,
        &config.batch,
        shutdown,
        |io| SessionizerHandler {
            operator: Sessionizer::new(),
            io,
            index: Some(index),
        },
    )
    .await
}

/// The batch handler: decode → operator → publish (events, latest state per session, dead letters).
#[derive(Debug)]
pub struct SessionizerHandler {
    pub operator: Sessionizer,
    pub io: StageIo,
    /// Where the visitor index is kept (`None` in unit tests).
    pub index: Option<Store>,
}

/// Outputs of one batch, each remembering which input it came from.
#[derive(Default)]
struct Outputs {
    records: Vec<OutRecord>,
    sources: Vec<usize>,
    /// (site, visitor, entry) of every session touched, for the visitor index.
    visitors: Vec<(String, String, VisitorEntry)>,
}

impl Outputs {
    fn push(&mut self, source: usize, record: Option<OutRecord>) {
        if let Some(record) = record {
            self.records.push(record);
            self.sources.push(source);
        }
    }
}

impl SessionizerHandler {
    fn process(&mut self, batch: &[Incoming]) -> Outputs {
        let mut out = Outputs::default();
        // Only the last state of each session in a batch is published: versions make it the one that counts.
        let mut latest: HashMap<String, (usize, SessionState)> = HashMap::new();
        for (i, incoming) in batch.iter().enumerate() {
            let hit: TrackingHit = match decode(incoming.payload()) {
                Ok(h) => h,
                Err(e) => {
                    out.push(
                        i,
                        self.io
                            .dead_letter(incoming, Reason::from(&e), e.to_string()),
                    );
                    continue;
                }
            };
            match self.operator.on_hit(&hit) {
                Outcome::Placed { event, state } => {
                    let record = match encode(&event) {
                        Ok(p) => Some(self.io.record(
                            Topic::Events,
                            event.session_id.as_bytes(),
                            p,
                        )),
                        Err(e) => self
                            .io
                            .dead_letter(incoming, Reason::Invalid, e.to_string()),
                    };
                    out.push(i, record);
                    latest.insert(state.session_id.clone(), (i, state));
                }
                Outcome::Late { detail } => {
                    out.push(i, self.io.dead_letter(incoming, Reason::LateEvent, detail))
                }
            }
        }
        for (session_id, (i, state)) in latest {
            out.visitors.push((
                state.site.clone(),
                state.visitor.clone(),
                VisitorEntry {
                    session_id: session_id.clone(),
                    last_seen_ms: state.last_seen_at,
                    lead_score: state.lead_score,
                },
            ));
            let record = match encode(&state) {
                Ok(p) => Some(self.io.record(Topic::Sessions, session_id.as_bytes(), p)),
                Err(e) => self
                    .io
                    .dead_letter(&batch[i], Reason::Invalid, e.to_string()),
            };
            out.push(i, record);
        }
        out
    }
}

impl BatchHandler for SessionizerHandler {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let Outputs {
            records,
            sources,
            visitors,
        } = self.process(batch);
        let rejected = self.io.publish(records).await?;
        if let Some(index) = &self.index {
            // Best effort: the index only speeds up the edge's synchronous answer; the call-matcher's record is
            // the authority. A Redis outage must not stop sessionizing.
            if let Err(e) = visitor_index::write(index, &visitors).await {
                self.io.metrics.retried("redis");
                tracing::warn!(error = %e, "visitor index not updated");
            }
        }
        // The broker refused some outputs for good: their inputs go to the DLQ instead of vanishing.
        let letters = rejected
            .into_iter()
            .filter_map(|(index, error)| {
                let source = &batch[sources[index]];
                self.io
                    .dead_letter(source, Reason::Invalid, format!("output rejected: {error}"))
            })
            .collect();
        self.io.publish_or_fail(letters).await
    }
}

#[cfg(test)]
#[test]
fn the_command_line_is_well_formed() {
    use clap::CommandFactory;
    SessionizerConfig::command().debug_assert();
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
