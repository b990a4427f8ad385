//! Consumer construction: a consumer-group member that never stores an offset by itself, and reports its lag.

use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::ClientContext;

use crate::config::KafkaConfig;
use crate::RuntimeError;

/// The consumer every stage uses.
pub type StageConsumer = StreamConsumer<LagContext>;

/// A consumed record, copied out of librdkafka's buffer so it can outlive the poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    /// Set when the record was re-published from the DLQ.
    pub replay: Option<super::Replay>,
}

impl Incoming {
    pub fn from_message(m: &BorrowedMessage<'_>) -> Self {
        Self {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            payload: m.payload().map(<[u8]>::to_vec),
            replay: m.headers().and_then(|h| {
                super::Replay::from_headers(h.iter().filter_map(|h| Some((h.key, h.value?))))
            }),
        }
    }

    pub fn payload(&self) -> &[u8] {
        self.payload.as_deref().unwrap_or_default()
    }
}

/// Publishes consumer lag per partition from librdkafka's statistics as
/// `<stage>_consumer_lag_records{topic,partition}`.
#[derive(Debug, Clone)]
pub struct LagContext {
    gauge_name: String,
    /// Partitions assigned and revoked by rebalances, until the stage has acted on them.
    rebalances: Rebalances,
}

/// A change of this consumer's assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebalance {
    Assigned { topic: String, partition: i32 },
    Revoked { topic: String, partition: i32 },
}

/// Assignment changes in the order they happened, shared with the stage's handler.
pub type Rebalances = std::sync::Arc<std::sync::Mutex<Vec<Rebalance>>>;

impl LagContext {
    /// The list of assignment changes this consumer fills.
    pub fn rebalances(&self) -> Rebalances {
        self.rebalances.clone()
    }

    fn record(&self, list: &rdkafka::TopicPartitionList, assigned: bool) {
        let mut changes = self.rebalances.lock().unwrap_or_else(|p| p.into_inner());
        for e in list.elements() {
            let (topic, partition) = (e.topic().to_string(), e.partition());
            tracing::info!(%topic, partition, assigned, "assignment changed");
            changes.push(if assigned {
                Rebalance::Assigned { topic, partition }
            } else {
                Rebalance::Revoked { topic, partition }
            });
        }
    }
}

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in statistics.topics {
            for (partition, p) in t.partitions {
                if partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                metrics::gauge!(self.gauge_name.clone(), "topic" => topic.clone(), "partition" => partition.to_string())
                    .set(p.consumer_lag as f64);
            }
        }
    }
}

impl ConsumerContext for LagContext {
    fn pre_rebalance(
        &self,
        _consumer: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &rdkafka::consumer::Rebalance<'_>,
    ) {
        if let rdkafka::consumer::Rebalance::Revoke(list) = rebalance {
            self.record(list, false);
        }
    }

    fn post_rebalance(
        &self,
        _consumer: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &rdkafka::consumer::Rebalance<'_>,
    ) {
        if let rdkafka::consumer::Rebalance::Assign(list) = rebalance {
            self.record(list, true);
        }
    }
}

/// A consumer in group `group` (namespaced), subscribed to `topics`. Offsets are stored only by the consume
/// loop after a batch's output is acknowledged; librdkafka commits stored offsets every second and on
/// rebalance. A new group starts from the earliest record.
pub fn create_consumer(
    config: &KafkaConfig,
    stage: &str,
    group: &str,
    topics: &[String],
) -> Result<StageConsumer, RuntimeError> {
    let consumer: StageConsumer = config
        .client_config()
        .set("group.id", config.group_id(group))
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .set("statistics.interval.ms", "5000")
        // The local broker answers an empty fetch only when this wait runs out, even if records arrive
        // meanwhile: every hop of the pipeline waited up to librdkafka's 500 ms default. 50 ms costs an idle
        // consumer 20 small fetches a second (docs/performance.md, freshness).
        .set("fetch.wait.max.ms", "50")
        .create_with_context(LagContext {
            rebalances: Rebalances::default(),
            gauge_name: format!("{stage}_consumer_lag_records"),
        })
        .map_err(|e| RuntimeError::Config(format!("kafka consumer: {e}")))?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    rdkafka::consumer::Consumer::subscribe(&consumer, &names)?;
    Ok(consumer)
}
