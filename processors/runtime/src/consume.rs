//! The at-least-once consume loop: poll a batch, hand it to the stage, store the batch's offsets only after
//! the stage returned (which it does only once every output is acknowledged), repeat until shutdown.
//!
//! Also [`publish_all`], which a stage uses to get its outputs acknowledged, retrying transport failures.

use std::collections::HashMap;
use std::future::Future;
use std::time::Instant;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::config::BatchConfig;
use crate::kafka::{watchdog, Incoming, OutRecord, PublishError, Publisher, StageConsumer};
use crate::metrics::StageMetrics;
use crate::retry::Backoff;
use crate::RuntimeError;

/// A stage's work on one batch of consumed records.
pub trait BatchHandler: Send {
    /// Whether the loop collects the next batch while this one is handled. Only for stages without
    /// per-partition state: a partition may then move to another consumer while a batch of it is still being
    /// handled here, and its records are handled twice (the new owner re-reads what was not stored), which a
    /// stateless, idempotent stage such as the ClickHouse sink absorbs.
    const OVERLAP: bool = false;

    /// Processes `batch` and returns once every output derived from it is acknowledged. Transport failures
    /// are retried inside (see [`publish_all`]); an error means the stage must stop, and the batch's offsets
    /// are then not stored, so the records are consumed again after restart.
    fn handle(
        &mut self,
        batch: &[Incoming],
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;

    /// Called when no record arrived for [`IDLE_TICK`] (wall-time work such as timers); same error contract.
    fn tick(&mut self) -> impl Future<Output = Result<(), RuntimeError>> + Send {
        std::future::ready(Ok(()))
    }
}

/// How long the loop waits for a first record before it calls [`BatchHandler::tick`].
pub const IDLE_TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs the consume loop until `shutdown` is cancelled, then commits what was stored.
pub async fn run_consumer<H: BatchHandler>(
    consumer: &StageConsumer,
    batching: &BatchConfig,
    handler: &mut H,
    metrics: &StageMetrics,
    shutdown: &CancellationToken,
) -> Result<(), RuntimeError> {
    let mut watch = Watch::new(consumer, metrics.stage());
    let mut collected: Option<Vec<Incoming>> = None;
    let result = loop {
        watch.maybe_check(consumer);
        let batch = match collected.take() {
            Some(_) if shutdown.is_cancelled() => break Ok(()),
            Some(batch) => batch,
            None => tokio::select! {
                _ = shutdown.cancelled() => break Ok(()),
                batch = next_batch(consumer, batching) => batch,
            },
        };
        if batch.is_empty() {
            match handler.tick().await {
                Ok(()) => continue,
                Err(RuntimeError::Shutdown) => break Ok(()),
                Err(other) => break Err(other),
            }
        }
        metrics.received(batch.len());
        let started = Instant::now();
        let work = async {
            let handled = handle_own(handler, &batch, metrics.stage()).await;
            if handled.is_ok() {
                store_offsets(consumer, &batch);
                metrics.batch_duration(started.elapsed());
            }
            handled
        };
        let handled = if H::OVERLAP {
            let (handled, next) = tokio::join!(work, next_batch(consumer, batching));
            collected = Some(next);
            handled
        } else {
            work.await
        };
        if let Err(e) = handled {
            break match e {
                RuntimeError::Shutdown => Ok(()),
                other => Err(other),
            };
        }
    };
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(error = %e, "final commit (nothing stored is fine)");
    }
    result
}

/// Hands the stage its records of `batch`: all but those replayed from the DLQ for another stage (which
/// processed them the first time). Skipped records' offsets are stored with the batch's.
async fn handle_own<H: BatchHandler>(
    handler: &mut H,
    batch: &[Incoming],
    stage: &str,
) -> Result<(), RuntimeError> {
    let foreign = |r: &Incoming| r.replay.as_ref().is_some_and(|p| !p.is_for(stage));
    if !batch.iter().any(foreign) {
        return handler.handle(batch).await;
    }
    let own: Vec<Incoming> = batch.iter().filter(|r| !foreign(r)).cloned().collect();
    if own.is_empty() {
        return Ok(());
    }
    handler.handle(&own).await
}

/// The assignment watchdog's schedule and memory (`kafka::watchdog`).
struct Watch {
    topics: Vec<String>,
    stage: &'static str,
    stalls: watchdog::Stalls,
    last: Instant,
}

impl Watch {
    fn new(consumer: &StageConsumer, stage: &'static str) -> Self {
        let topics = consumer
            .subscription()
            .map(|l| l.elements().iter().map(|e| e.topic().to_string()).collect())
            .unwrap_or_default();
        Self {
            topics,
            stage,
            stalls: watchdog::Stalls::default(),
            last: Instant::now(),
        }
    }

    fn maybe_check(&mut self, consumer: &StageConsumer) {
        if self.last.elapsed() < watchdog::CHECK_EVERY {
            return;
        }
        self.last = Instant::now();
        let mut run = || watchdog::check(consumer, &self.topics, &mut self.stalls, self.stage);
        // The check makes blocking broker calls (short timeouts): keep the other tasks running meanwhile.
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => run(),
            _ => tokio::task::block_in_place(run),
        }
    }
}

/// Waits for the first record, then collects more until `max_records`, `max_wait` after the first, or a
/// quiet spell of `quiet` with no record (whichever comes first): a batch is as large as the traffic makes it.
async fn next_batch(consumer: &StageConsumer, batching: &BatchConfig) -> Vec<Incoming> {
    let mut batch = Vec::new();
    let mut deadline = None;
    while batch.len() < batching.max_records {
        let received = match deadline {
            None => tokio::time::timeout(IDLE_TICK, consumer.recv()).await,
            Some(d) => {
                let quiet = tokio::time::Instant::now() + batching.quiet();
                tokio::time::timeout_at(quiet.min(d), consumer.recv()).await
            }
        };
        match received {
            Err(_elapsed) => break,
            Ok(Ok(message)) => {
                batch.push(Incoming::from_message(&message));
                if deadline.is_none() {
                    deadline = Some(tokio::time::Instant::now() + batching.max_wait());
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "consumer error");
                if batch.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                break;
            }
        }
    }
    batch
}

/// The next offset to consume per (topic, partition) after `batch`.
fn next_offsets(batch: &[Incoming]) -> HashMap<(String, i32), i64> {
    let mut next: HashMap<(String, i32), i64> = HashMap::new();
    for r in batch {
        let e = next
            .entry((r.topic.clone(), r.partition))
            .or_insert(r.offset + 1);
        *e = (*e).max(r.offset + 1);
    }
    next
}

fn store_offsets(consumer: &StageConsumer, batch: &[Incoming]) {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in next_offsets(batch) {
        if let Err(e) = list.add_partition_offset(&topic, partition, Offset::Offset(offset)) {
            tracing::warn!(error = %e, "offset list");
        }
    }
    // Fails for partitions revoked while the batch was handled; their new owner re-reads the records.
    if let Err(e) = consumer.store_offsets(&list) {
        tracing::warn!(error = %e, "storing offsets after a rebalance; records will be re-read");
    }
}

/// Publishes `records` and waits until each is acknowledged, retrying the unavailable ones with `backoff`
/// until success or shutdown. Returns the records the broker rejected for good, with their indices (into
/// `records`) and why.
pub async fn publish_all(
    publisher: &dyn Publisher,
    records: Vec<OutRecord>,
    backoff: &Backoff,
    metrics: &StageMetrics,
    shutdown: &CancellationToken,
) -> Result<Vec<Rejected>, RuntimeError> {
    let mut pending: Vec<(usize, OutRecord)> = records.into_iter().enumerate().collect();
    let mut rejected = Vec::new();
    let mut attempt = 0;
    while !pending.is_empty() {
        let (indices, batch): (Vec<usize>, Vec<OutRecord>) = pending.into_iter().unzip();
        let mut retry = Vec::new();
        for (index, (record, result)) in indices
            .into_iter()
            .zip(publisher.publish_batch(batch).await)
        {
            match result {
                Ok(()) => metrics.sent(1),
                Err(e) if e.is_retryable() => retry.push((index, record)),
                Err(e) => rejected.push(Rejected {
                    index,
                    record,
                    error: e,
                }),
            }
        }
        pending = retry;
        if !pending.is_empty() {
            metrics.retried("kafka");
            tracing::warn!(
                pending = pending.len(),
                attempt,
                "broker unavailable, retrying"
            );
            backoff.wait(attempt, shutdown).await?;
            attempt += 1;
        }
    }
    Ok(rejected)
}

/// A record the broker refused for good.
#[derive(Debug)]
pub struct Rejected {
    /// Its position in what was given to [`publish_all`].
    pub index: usize,
    pub record: OutRecord,
    pub error: PublishError,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::MemoryPublisher;

    fn rec(i: u8) -> OutRecord {
        OutRecord {
            topic: "t".into(),
            key: vec![i],
            payload: vec![i],
            replay: None,
        }
    }

    #[test]
    fn next_offsets_are_one_past_the_highest_per_partition() {
        let inc = |p, o| Incoming {
            topic: "t".into(),
            partition: p,
            offset: o,
            key: None,
            payload: None,
            replay: None,
        };
        let next = next_offsets(&[inc(0, 5), inc(1, 2), inc(0, 7), inc(0, 6)]);
        assert_eq!(next[&("t".to_string(), 0)], 8);
        assert_eq!(next[&("t".to_string(), 1)], 3);
    }

    struct Seen(Vec<i64>);

    impl BatchHandler for Seen {
        async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
            self.0.extend(batch.iter().map(|r| r.offset));
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_replayed_record_reaches_only_the_stage_it_is_for() {
        let inc = |offset, of: Option<&str>| Incoming {
            topic: "t".into(),
            partition: 0,
            offset,
            key: None,
            payload: None,
            replay: of.map(|of| crate::kafka::Replay {
                of: of.into(),
                count: 1,
            }),
        };
        let batch = [
            inc(1, None),
            inc(2, Some("t:0:1:sessionizer")),
            inc(3, Some("t:0:1:clickhouse-sink")),
            inc(4, Some("garbage")),
        ];
        let mut sessionizer = Seen(vec![]);
        handle_own(&mut sessionizer, &batch, "sessionizer")
            .await
            .unwrap();
        assert_eq!(sessionizer.0, [1, 2]);
        let mut sink = Seen(vec![]);
        handle_own(&mut sink, &batch[1..2], "clickhouse-sink")
            .await
            .unwrap();
        assert!(
            sink.0.is_empty(),
            "a batch of only others' replays is skipped"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn publish_all_retries_until_the_broker_is_back() {
        let publisher = std::sync::Arc::new(MemoryPublisher::new());
        publisher.fail_from(1);
        let healer = publisher.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            healer.heal();
        });
        let rejected = publish_all(
            publisher.as_ref(),
            vec![rec(1), rec(2), rec(3)],
            &Backoff::default(),
            &StageMetrics::new("test"),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert!(rejected.is_empty());
        let keys: Vec<_> = publisher.sent().into_iter().map(|r| r.key[0]).collect();
        assert_eq!(
            keys,
            vec![1, 2, 3],
            "every record acknowledged exactly once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn publish_all_stops_on_shutdown() {
        let publisher = MemoryPublisher::new();
        publisher.fail_from(0);
        let token = CancellationToken::new();
        token.cancel();
        let result = publish_all(
            &publisher,
            vec![rec(1)],
            &Backoff::default(),
            &StageMetrics::new("t"),
            &token,
        )
        .await;
        assert!(matches!(result, Err(RuntimeError::Shutdown)));
        assert!(publisher.sent().is_empty());
    }
}
