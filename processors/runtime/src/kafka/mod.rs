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
