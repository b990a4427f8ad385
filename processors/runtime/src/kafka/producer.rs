//! [`KafkaPublisher`]: the real publisher over librdkafka, `acks=all`, bounded delivery time.

use futures::future::{join_all, BoxFuture};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use super::broker_state::{BrokerState, ProducerStats};
use super::{Delivery, OutRecord, PublishError, Publisher};
use crate::config::KafkaConfig;
use crate::RuntimeError;

/// Publishes to the broker. Cheap to clone; all clones share one librdkafka producer.
#[derive(Clone)]
pub struct KafkaPublisher {
    producer: FutureProducer<ProducerStats>,
    config: KafkaConfig,
    state: BrokerState,
}

impl std::fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("brokers", &self.config.brokers)
            .finish()
    }
}

impl KafkaPublisher {
    /// Builds the producer. The broker is not contacted here, so this succeeds while it is down;
    /// sends then fail after `message_timeout_ms`.
    pub fn new(config: &KafkaConfig) -> Result<Self, RuntimeError> {
        let context = ProducerStats::default();
        let state = context.state.clone();
        let producer: FutureProducer<ProducerStats> = config
            .client_config()
            .set("acks", "all")
            // The local broker keeps no idempotent-producer state: at-least-once plus ids downstream.
            .set("enable.idempotence", "false")
            .set("message.timeout.ms", config.message_timeout_ms.to_string())
            .set("linger.ms", config.linger_ms.to_string())
            .set("queue.buffering.max.messages", "200000")
            .set("socket.connection.setup.timeout.ms", "3000")
            // Connection states for health checks (`BrokerState`), once a second.
            .set("statistics.interval.ms", "1000")
            .create_with_context(context)
            .map_err(|e| RuntimeError::Config(format!("kafka producer: {e}")))?;
        Ok(Self {
            producer,
            config: config.clone(),
            state,
        })
    }

    /// Waits until every queued record is delivered or `timeout` passes (used on shutdown).
    pub fn flush(&self, timeout: std::time::Duration) -> Result<(), RuntimeError> {
        self.producer
            .flush(Timeout::After(timeout))
            .map_err(RuntimeError::from)
    }

    /// Sends one record and waits for its acknowledgement.
    pub async fn publish_one(&self, record: OutRecord) -> Result<(), PublishError> {
        self.publish_batch(vec![record]).await.pop().map_or_else(
            || Err(PublishError::Unavailable("no result".into())),
            |(_, r)| r,
        )
    }

    async fn send_all(&self, records: Vec<OutRecord>) -> Vec<Delivery> {
        let mut pending = Vec::with_capacity(records.len());
        for r in &records {
            let mut attempt = FutureRecord::to(&r.topic).key(&r.key).payload(&r.payload);
            if let Some(replay) = &r.replay {
                attempt = attempt.headers(replay_headers(replay));
            }
            // Enqueue without waiting for delivery; only a full local queue makes us wait here.
            loop {
                match self.producer.send_result(attempt) {
                    Ok(delivery) => {
                        pending.push(Some(delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        attempt = back;
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => {
                        pending.push(None);
                        tracing::warn!(error = %e, "record not enqueued");
                        break;
                    }
                }
            }
        }
        let results = join_all(pending.into_iter().map(|d| async move {
            match d {
                None => Err(PublishError::Rejected("not enqueued".into())),
                Some(delivery) => match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((e, _))) => Err(classify(&e)),
                    Err(_cancelled) => Err(PublishError::Unavailable("producer dropped".into())),
                },
            }
        }))
        .await;
        let now = crate::now_ms();
        if results
            .iter()
            .any(|r| matches!(r, Err(PublishError::Unavailable(_))))
        {
            self.state.unavailable(now);
        }
        if results.iter().any(Result::is_ok) {
            self.state.delivered(now);
        }
        records.into_iter().zip(results).collect()
    }
}

fn replay_headers(replay: &super::Replay) -> OwnedHeaders {
    OwnedHeaders::new()
        .insert(Header {
            key: super::Replay::OF_HEADER,
            value: Some(replay.of.as_bytes()),
        })
        .insert(Header {
            key: super::Replay::COUNT_HEADER,
            value: Some(replay.count.to_string().as_bytes()),
        })
}

fn classify(e: &KafkaError) -> PublishError {
    match e.rdkafka_error_code() {
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::InvalidRecord,
        ) => PublishError::Rejected(e.to_string()),
        _ => PublishError::Unavailable(e.to_string()),
    }
}

impl Publisher for KafkaPublisher {
    fn publish_batch(&self, records: Vec<OutRecord>) -> BoxFuture<'_, Vec<Delivery>> {
        Box::pin(self.send_all(records))
    }

    fn broker_status(&self) -> Result<(), String> {
        self.state.status(crate::now_ms())
    }
}
