//! Connects the [`Sessionizer`] operator to the stream runtime: consumes `opsmantik.tracking.v1`, publishes
//! `opsmantik.events.v1` and `opsmantik.sessions.v1`, dead-letters what it cannot place.

use std::collections::HashMap;

use opsmantik_runtime::config::{BatchConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::consume::{publish_all, run_consumer, BatchHandler};
use opsmantik_runtime::dlq::{dead_letter, dead_letter_record};
use opsmantik_runtime::kafka::{create_consumer, Incoming, KafkaPublisher, OutRecord, Publisher};
use opsmantik_runtime::metrics::StageMetrics;
use opsmantik_runtime::retry::Backoff;
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{decode, encode, Topic, Topics, TrackingHit};
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
    pub telemetry: TelemetryConfig,
}

/// Runs the sessionizer until `shutdown`.
pub async fn run(
    config: SessionizerConfig,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let topics = config.kafka.topics();
    let consumer = create_consumer(&config.kafka, STAGE, STAGE, &[topics.name(Topic::Tracking)])?;
    let publisher = KafkaPublisher::new(&config.kafka)?;
    let metrics = StageMetrics::new(STAGE);
    let mut handler = SessionizerHandler {
        operator: Sessionizer::new(),
        publisher: Box::new(publisher.clone()),
        topics,
        metrics: metrics.clone(),
        backoff: Backoff::default(),
        shutdown: shutdown.clone(),
    };
    tracing::info!(brokers = %config.kafka.brokers, "sessionizer running");
    let result = run_consumer(&consumer, &config.batch, &mut handler, &metrics, &shutdown).await;
    let _ = publisher.flush(std::time::Duration::from_secs(5));
    result
}

/// The batch handler: decode → operator → publish (events, latest state per session, dead letters).
pub struct SessionizerHandler {
    pub operator: Sessionizer,
    pub publisher: Box<dyn Publisher>,
    pub topics: Topics,
    pub metrics: StageMetrics,
    pub backoff: Backoff,
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for SessionizerHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionizerHandler")
            .field("visitors", &self.operator.visitors())
            .finish()
    }
}

/// Outputs of one batch, each remembering which input it came from.
#[derive(Default)]
struct Outputs {
    records: Vec<OutRecord>,
    sources: Vec<usize>,
}

impl Outputs {
    fn push(&mut self, source: usize, record: OutRecord) {
        self.records.push(record);
        self.sources.push(source);
    }
}

impl SessionizerHandler {
    fn dead_letter(
        &self,
        out: &mut Outputs,
        index: usize,
        source: &Incoming,
        reason: Reason,
        detail: String,
    ) {
        self.metrics.dropped(reason, 1);
        tracing::warn!(reason = reason.code(), topic = %source.topic, partition = source.partition,
            offset = source.offset, %detail, "dead-lettering");
        let letter = dead_letter(source, reason, detail, STAGE);
        match dead_letter_record(&self.topics, &letter) {
            Ok(r) => out.push(index, r),
            Err(e) => tracing::error!(error = %e, "dead letter does not encode"),
        }
    }

    fn process(&mut self, batch: &[Incoming]) -> Outputs {
        let mut out = Outputs::default();
        // Only the last state of each session in a batch is published: versions make it the one that counts.
        let mut latest: HashMap<String, (usize, opsmantik_schemas::SessionState)> = HashMap::new();
        for (i, incoming) in batch.iter().enumerate() {
            let hit: TrackingHit = match decode(incoming.payload()) {
                Ok(h) => h,
                Err(e) => {
                    self.dead_letter(&mut out, i, incoming, Reason::from(&e), e.to_string());
                    continue;
                }
            };
            match self.operator.on_hit(&hit) {
                Outcome::Placed { event, state } => {
                    match encode(&event) {
                        Ok(p) => out.push(i, self.record(Topic::Events, &event.session_id, p)),
                        Err(e) => {
                            self.dead_letter(&mut out, i, incoming, Reason::Invalid, e.to_string())
                        }
                    }
                    latest.insert(state.session_id.clone(), (i, state));
                }
                Outcome::Late { detail } => {
                    self.dead_letter(&mut out, i, incoming, Reason::LateEvent, detail)
                }
            }
        }
        for (session_id, (i, state)) in latest {
            match encode(&state) {
                Ok(p) => out.push(i, self.record(Topic::Sessions, &session_id, p)),
                Err(e) => self.dead_letter(&mut out, i, &batch[i], Reason::Invalid, e.to_string()),
            }
        }
        out
    }

    fn record(&self, topic: Topic, key: &str, payload: Vec<u8>) -> OutRecord {
        OutRecord {
            topic: self.topics.name(topic),
            key: key.as_bytes().to_vec(),
            payload,
        }
    }
}

impl BatchHandler for SessionizerHandler {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let Outputs { records, sources } = self.process(batch);
        let rejected = publish_all(
            self.publisher.as_ref(),
            records,
            &self.backoff,
            &self.metrics,
            &self.shutdown,
        )
        .await?;
        if rejected.is_empty() {
            return Ok(());
        }
        // The broker refused some outputs for good: their inputs go to the DLQ instead of vanishing.
        let mut letters = Outputs::default();
        for (index, error) in rejected {
            let source = sources[index];
            self.dead_letter(
                &mut letters,
                source,
                &batch[source],
                Reason::Invalid,
                format!("output rejected: {error}"),
            );
        }
        let still = publish_all(
            self.publisher.as_ref(),
            letters.records,
            &self.backoff,
            &self.metrics,
            &self.shutdown,
        )
        .await?;
        if !still.is_empty() {
            return Err(RuntimeError::Kafka(format!(
                "{} dead letters rejected by the broker",
                still.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
