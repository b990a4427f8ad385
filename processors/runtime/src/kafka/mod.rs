//! Kafka plumbing: the [`Publisher`] boundary (real and in-memory), consumer construction and topic admin.

mod admin;
mod broker_state;
mod consumer;
mod memory;
mod producer;
pub mod watchdog;

pub use admin::create_topics;
pub use consumer::{create_consumer, Incoming, LagContext, Rebalance, Rebalances, StageConsumer};
pub use memory::MemoryPublisher;
pub use producer::KafkaPublisher;

use futures::future::BoxFuture;

/// A record to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct OutRecord {
    pub topic: String,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    /// Set only on a record re-published from the DLQ (sent as record headers).
    pub replay: Option<Replay>,
}

impl OutRecord {
    pub fn new(topic: String, key: Vec<u8>, payload: Vec<u8>) -> Self {
        Self {
            topic,
            key,
            payload,
            replay: None,
        }
    }
}

/// Marks a record re-published from the DLQ, as two record headers. Only the stage that dead-lettered it
/// processes it again (every other consumer of the topic skips it: it has seen it already), and if it fails
/// again its dead letter keeps the original id with `replay_count` = `count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The dead letter's id (`<topic>:<partition>:<offset>:<stage>`).
    pub of: String,
    /// Which replay of that dead letter this is (1 for the first).
    pub count: u32,
}

impl Replay {
    pub const OF_HEADER: &'static str = "opsmantik-replay-of";
    pub const COUNT_HEADER: &'static str = "opsmantik-replay-count";

    /// The stage the replay is for, or `None` when the id does not parse (then no stage takes it).
    pub fn stage(&self) -> Option<String> {
        opsmantik_schemas::LetterId::parse(&self.of).map(|id| id.stage)
    }

    /// Whether `stage` processes this replayed record.
    pub fn is_for(&self, stage: &str) -> bool {
        self.stage().is_some_and(|s| s == stage)
    }

    /// Reads the marker from a record's headers (`None` for an ordinary record).
    pub fn from_headers<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Option<Self> {
        let (mut of, mut count) = (None, None);
        for (name, value) in headers {
            match name {
                Self::OF_HEADER => of = std::str::from_utf8(value).ok().map(str::to_string),
                Self::COUNT_HEADER => {
                    count = std::str::from_utf8(value).ok().and_then(|c| c.parse().ok());
                }
                _ => {}
            }
        }
        Some(Self {
            of: of?,
            count: count.unwrap_or(1),
        })
    }
}

/// Why a record was not acknowledged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PublishError {
    /// The broker did not acknowledge in time or could not be reached: retry later.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The broker refused this record (too large, unknown topic, ...): retrying the same record will not help.
    #[error("rejected: {0}")]
    Rejected(String),
}

impl PublishError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PublishError::Unavailable(_))
    }
}

/// One record's outcome, handed back with the record so a caller can retry or dead-letter it without
/// keeping a copy of everything it sent.
pub type Delivery = (OutRecord, Result<(), PublishError>);

/// The event-publisher boundary: sends records, pipelined, and reports one outcome per record, in order,
/// each only after the broker acknowledged it (`acks=all`) or gave up.
pub trait Publisher: Send + Sync + 'static {
    fn publish_batch(&self, records: Vec<OutRecord>) -> BoxFuture<'_, Vec<Delivery>>;

    /// Whether the broker is believed reachable, from what the publisher already knows (never a network
    /// call: health checks read it). In-memory publishers always are.
    fn broker_status(&self) -> Result<(), String> {
        Ok(())
    }
}

impl<P: Publisher> Publisher for std::sync::Arc<P> {
    fn publish_batch(&self, records: Vec<OutRecord>) -> BoxFuture<'_, Vec<Delivery>> {
        self.as_ref().publish_batch(records)
    }

    fn broker_status(&self) -> Result<(), String> {
        self.as_ref().broker_status()
    }
}
