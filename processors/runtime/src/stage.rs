//! What every consuming stage shares: its outputs (publisher, topic names, DLQ routing, metrics, retry policy,
//! shutdown) as one [`StageIo`], and [`run_stage`], which wires a stage's handler to a consumer group.

use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{Topic, Topics};
use tokio_util::sync::CancellationToken;

use crate::config::{BatchConfig, KafkaConfig};
use crate::consume::{publish_all, run_consumer, BatchHandler, Rejected};
use crate::dlq::{dead_letter, dead_letter_record};
use crate::kafka::{
    create_consumer, Incoming, KafkaPublisher, OutRecord, Publisher, Rebalance, Rebalances,
};
use crate::metrics::StageMetrics;
use crate::retry::Backoff;
use crate::RuntimeError;

/// A stage's way out: publishing with retry, dead-lettering, and its metrics.
pub struct StageIo {
    pub stage: &'static str,
    pub publisher: Box<dyn Publisher>,
    pub topics: Topics,
    pub metrics: StageMetrics,
    pub backoff: Backoff,
    pub shutdown: CancellationToken,
    /// Assignment changes; a stateful stage restores and drops partition state by them (`take_rebalances`).
    pub rebalances: Rebalances,
}

impl std::fmt::Debug for StageIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageIo")
            .field("stage", &self.stage)
            .field("topics", &self.topics)
            .finish()
    }
}

impl StageIo {
    /// For unit tests: outputs to `publisher` under namespace `ns`, default backoff, a fresh token.
    pub fn for_tests(stage: &'static str, publisher: Box<dyn Publisher>, ns: &str) -> Self {
        Self {
            stage,
            publisher,
            topics: Topics::new(ns),
            metrics: StageMetrics::new(stage),
            backoff: Backoff::default(),
            shutdown: CancellationToken::new(),
            rebalances: Rebalances::default(),
        }
    }

    /// The assignment changes since the last call, oldest first.
    pub fn take_rebalances(&self) -> Vec<Rebalance> {
        std::mem::take(&mut *self.rebalances.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs `op` until it succeeds, waiting with the stage's backoff between attempts and counting each retry
    /// under `what`; gives up only on shutdown.
    pub async fn retry<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
        &self,
        what: &'static str,
        op: impl FnMut() -> F,
    ) -> Result<T, RuntimeError> {
        self.backoff
            .retry(what, &self.shutdown, || self.metrics.retried(what), op)
            .await
    }

    /// A record for `topic` under this stage's namespace.
    pub fn record(&self, topic: Topic, key: &[u8], payload: Vec<u8>) -> OutRecord {
        OutRecord {
            topic: self.topics.name(topic),
            key: key.to_vec(),
            payload,
            replay: None,
        }
    }

    /// The dead letter for `source`, counted and logged. `None` when `source` itself came from the DLQ topic:
    /// re-queueing a dead letter would loop, so it stays where it is (logged and counted).
    pub fn dead_letter(
        &self,
        source: &Incoming,
        reason: Reason,
        detail: String,
    ) -> Option<OutRecord> {
        self.metrics.dropped(reason, 1);
        if self.topics.topic_of(&source.topic) == Some(Topic::Dlq) {
            tracing::error!(partition = source.partition, offset = source.offset, %detail,
                "unprocessable dead letter left in the DLQ topic");
            return None;
        }
        tracing::warn!(reason = reason.code(), topic = %source.topic, partition = source.partition,
            offset = source.offset, %detail, "dead-lettering");
        match dead_letter_record(
            &self.topics,
            &dead_letter(source, reason, detail, self.stage),
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "dead letter does not encode");
                None
            }
        }
    }

    /// Publishes and waits for every acknowledgement (retrying while the broker is unavailable). Returns the
    /// records the broker rejected for good.
    pub async fn publish(&self, records: Vec<OutRecord>) -> Result<Vec<Rejected>, RuntimeError> {
        publish_all(
            self.publisher.as_ref(),
            records,
            &self.backoff,
            &self.metrics,
            &self.shutdown,
        )
        .await
    }

    /// Like [`publish`](Self::publish), for records that have no fallback (dead letters): any rejection stops
    /// the stage, so the batch's offsets are not stored and it is retried after restart.
    pub async fn publish_or_fail(&self, records: Vec<OutRecord>) -> Result<(), RuntimeError> {
        let rejected = self.publish(records).await?;
        match rejected.first() {
            None => Ok(()),
            Some(r) => Err(RuntimeError::Kafka(format!(
                "{} records rejected by the broker: {}",
                rejected.len(),
                r.error
            ))),
        }
    }
}

/// Runs a stage: joins consumer group `stage` on `inputs`, builds the handler from the stage's [`StageIo`],
/// and runs the consume loop until `shutdown`; then flushes the producer.
pub async fn run_stage<H: BatchHandler>(
    stage: &'static str,
    inputs: &[Topic],
    kafka: &KafkaConfig,
    batch: &BatchConfig,
    shutdown: CancellationToken,
    build: impl FnOnce(StageIo) -> H,
) -> Result<(), RuntimeError> {
    let topics = kafka.topics();
    let names: Vec<String> = inputs.iter().map(|t| topics.name(*t)).collect();
    let consumer = create_consumer(kafka, stage, stage, &names)?;
    let publisher = KafkaPublisher::new(kafka)?;
    let metrics = StageMetrics::new(stage);
    let mut handler = build(StageIo {
        stage,
        publisher: Box::new(publisher.clone()),
        topics,
        metrics: metrics.clone(),
        backoff: Backoff::default(),
        shutdown: shutdown.clone(),
        rebalances: rdkafka::consumer::Consumer::context(&consumer).rebalances(),
    });
    tracing::info!(stage, inputs = ?names, "stage running");
    let result = run_consumer(&consumer, batch, &mut handler, &metrics, &shutdown).await;
    if let Err(e) = publisher.flush(std::time::Duration::from_secs(5)) {
        tracing::warn!(error = %e, "producer flush on shutdown");
    }
    result
}
