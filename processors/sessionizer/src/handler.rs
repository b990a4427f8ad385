//! Connects the [`Sessionizer`] operator to the stream runtime: consumes `opsmantik.tracking.v1`, publishes
//! `opsmantik.events.v1` and `opsmantik.sessions.v1` (and, for conversion clicks, `opsmantik.call-intents.v1`),
//! dead-letters what it cannot place.

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
use crate::snapshot;

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
        |io| SessionizerHandler::new(io, Some(index)),
    )
    .await
}

/// The batch handler: decode → operator → publish (events, latest state per session, dead letters) →
/// visitor index → snapshot. One operator per input partition, restored from its snapshot when the partition
/// is first seen (after start-up or a rebalance) and dropped when the partition is revoked.
#[derive(Debug)]
pub struct SessionizerHandler {
    partitions: HashMap<(String, i32), Partition>,
    pub io: StageIo,
    /// Where the visitor index and the snapshots are kept (`None` in unit tests: no persistence).
    pub store: Option<Store>,
}

#[derive(Debug, Default)]
struct Partition {
    operator: Sessionizer,
    /// Records below this offset are already reflected in the restored state.
    skip_below: i64,
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
    pub fn new(io: StageIo, store: Option<Store>) -> Self {
        Self {
            partitions: HashMap::new(),
            io,
            store,
        }
    }

    /// Drops revoked partitions and restores every partition of `batch` not held yet.
    async fn ensure_partitions(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        for revoked in self.io.take_revoked() {
            self.partitions.remove(&revoked);
        }
        for incoming in batch {
            let id = (incoming.topic.clone(), incoming.partition);
            if self.partitions.contains_key(&id) {
                continue;
            }
            let restored = match &self.store {
                None => Partition::default(),
                Some(store) => {
                    let mut attempt = 0;
                    loop {
                        match snapshot::load(store, STAGE, &id.0, id.1).await {
                            Ok(r) => {
                                break Partition {
                                    operator: r.operator,
                                    skip_below: r.next_offset,
                                }
                            }
                            Err(e) => {
                                // Without its snapshot the partition would restart sessions: wait for Redis.
                                tracing::warn!(error = %e, partition = id.1, "snapshot not loaded, retrying");
                                self.io.backoff.wait(attempt, &self.io.shutdown).await?;
                                attempt += 1;
                            }
                        }
                    }
                }
            };
            tracing::info!(
                partition = id.1,
                visitors = restored.operator.visitors(),
                next_offset = restored.skip_below,
                "partition state restored"
            );
            self.partitions.insert(id, restored);
        }
        Ok(())
    }

    /// Saves the touched visitors of every partition in `batch` with the partition's next offset.
    async fn save_snapshots(
        &self,
        batch: &[Incoming],
        touched: &HashMap<(String, i32), Vec<String>>,
    ) -> Result<(), RuntimeError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        for ((topic, partition), next) in opsmantik_runtime::consume::next_offsets(batch) {
            let id = (topic, partition);
            let Some(part) = self.partitions.get(&id) else {
                continue;
            };
            let visitors: Vec<(String, String)> = touched
                .get(&id)
                .into_iter()
                .flatten()
                .filter_map(|k| part.operator.export(k).map(|v| (k.clone(), v)))
                .collect();
            let mut attempt = 0;
            while let Err(e) = snapshot::save(store, STAGE, &id.0, id.1, &visitors, next).await {
                tracing::warn!(error = %e, partition = id.1, "snapshot not saved, retrying");
                self.io.backoff.wait(attempt, &self.io.shutdown).await?;
                attempt += 1;
            }
        }
        Ok(())
    }

    fn process(
        &mut self,
        batch: &[Incoming],
        touched: &mut HashMap<(String, i32), Vec<String>>,
    ) -> Outputs {
        let mut out = Outputs::default();
        // Only the last state of each session in a batch is published: versions make it the one that counts.
        let mut latest: HashMap<String, (usize, SessionState)> = HashMap::new();
        for (i, incoming) in batch.iter().enumerate() {
            let id = (incoming.topic.clone(), incoming.partition);
            let Some(part) = self.partitions.get_mut(&id) else {
                continue;
            };
            if incoming.offset < part.skip_below {
                continue; // reflected in the restored state; its outputs were acknowledged before
            }
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
            touched.entry(id.clone()).or_default().push(hit.key());
            let Some(part) = self.partitions.get_mut(&id) else {
                continue;
            };
            match part.operator.on_hit(&hit) {
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
                    if let Some(intent) = crate::intents::intent_of(&hit) {
                        let record = match encode(&intent) {
                            Ok(p) => {
                                Some(self.io.record(Topic::CallIntents, hit.key().as_bytes(), p))
                            }
                            Err(e) => self
                                .io
                                .dead_letter(incoming, Reason::Invalid, e.to_string()),
                        };
                        out.push(i, record);
                    }
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
        self.ensure_partitions(batch).await?;
        let mut touched = HashMap::new();
        let Outputs {
            records,
            sources,
            visitors,
        } = self.process(batch, &mut touched);
        let rejected = self.io.publish(records).await?;
        if let Some(index) = &self.store {
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
        self.io.publish_or_fail(letters).await?;
        self.save_snapshots(batch, &touched).await
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
