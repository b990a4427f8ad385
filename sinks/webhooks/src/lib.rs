//! The webhook sink: deliveries from `opsmantik.webhook-deliveries.v1` to their receivers, at least once.
//!
//! - The consumer only hands deliveries over to the scheduled-delivery store in Redis ([`queue`]) and
//!   commits; it never waits on a receiver, so a dead endpoint holds back no partition and no other site.
//! - The dispatcher ([`dispatch`]) sends what is due, at most `WEBHOOK_PER_ENDPOINT` at once per webhook and
//!   `WEBHOOK_MAX_IN_FLIGHT` in all; a slow endpoint fills only its own slots.
//! - Each attempt ([`deliver`]): 2xx delivered; 408/429/5xx/network/timeout retried with exponential backoff
//!   and jitter (or the receiver's `Retry-After`), until `WEBHOOK_MAX_ATTEMPTS` or `WEBHOOK_MAX_AGE_MS`, then
//!   dead-lettered (`webhook_gave_up`); another 4xx is not retried (failed, dead-lettered with its status).
//! - Every attempt is a row of ClickHouse `webhook_deliveries` ([`log`]).

pub mod deliver;
pub mod dispatch;
pub mod log;
pub mod queue;

use opsmantik_runtime::config::{BatchConfig, ClickHouseConfig, KafkaConfig, TelemetryConfig};
use opsmantik_runtime::consume::BatchHandler;
use opsmantik_runtime::kafka::{Incoming, KafkaPublisher};
use opsmantik_runtime::outbound::Policy;
use opsmantik_runtime::redis::{RedisConfig, Store};
use opsmantik_runtime::stage::{run_stage, StageIo};
use opsmantik_runtime::RuntimeError;
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{decode, Topic, WebhookDelivery};
use tokio_util::sync::CancellationToken;

const STAGE: &str = "webhooks";

/// The sink's settings.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "OpsMantik webhook sink: signed deliveries to their receivers, retried")]
pub struct WebhookConfig {
    #[command(flatten)]
    pub delivery: DeliveryConfig,
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub batch: BatchConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub clickhouse: ClickHouseConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

/// How deliveries are attempted.
#[derive(Debug, Clone, clap::Args)]
pub struct DeliveryConfig {
    /// One attempt's time limit (ms).
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Attempts before a delivery is given up.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
    pub max_attempts: u32,
    /// Age (from the hand-over) after which a failing delivery is given up (ms).
    #[arg(long, env = "WEBHOOK_MAX_AGE_MS", default_value_t = 24 * 3600 * 1000)]
    pub max_age_ms: i64,
    /// The first retry's delay (ms); it doubles per attempt, ±25 % jitter.
    #[arg(long, env = "WEBHOOK_RETRY_INITIAL_MS", default_value_t = 1000)]
    pub retry_initial_ms: u64,
    /// The longest delay between attempts, `Retry-After` included (ms).
    #[arg(long, env = "WEBHOOK_RETRY_MAX_MS", default_value_t = 300_000)]
    pub retry_max_ms: u64,
    /// Attempts in flight at once per webhook.
    #[arg(long, env = "WEBHOOK_PER_ENDPOINT", default_value_t = 4)]
    pub per_endpoint: usize,
    /// Attempts in flight at once in all.
    #[arg(long, env = "WEBHOOK_MAX_IN_FLIGHT", default_value_t = 256)]
    pub max_in_flight: usize,
    /// How often the dispatcher looks for due deliveries (ms).
    #[arg(long, env = "WEBHOOK_POLL_MS", default_value_t = 100)]
    pub poll_ms: u64,
    /// Internal addresses receivers may have anyway (addresses or CIDRs, comma separated).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value = "")]
    pub allow_private: String,
    /// Production: only https receivers.
    #[arg(long, env = "OPSMANTIK_PRODUCTION", default_value_t = false)]
    pub production: bool,
}

/// The consumer's handler: hands deliveries over to the store, then the offsets are committed.
#[derive(Debug)]
pub struct HandOff {
    pub io: StageIo,
    pub store: Store,
    pub wake: std::sync::Arc<tokio::sync::Notify>,
}

impl BatchHandler for HandOff {
    async fn handle(&mut self, batch: &[Incoming]) -> Result<(), RuntimeError> {
        let mut items = Vec::with_capacity(batch.len());
        let mut letters = Vec::new();
        for incoming in batch {
            match decode::<WebhookDelivery>(incoming.payload()) {
                Ok(d) => items.push((
                    d,
                    queue::Source {
                        topic: incoming.topic.clone(),
                        partition: incoming.partition,
                        offset: incoming.offset,
                        payload: incoming.payload().to_vec(),
                        replay: incoming.replay.clone(),
                    },
                )),
                Err(e) => letters.extend(self.io.dead_letter(
                    incoming,
                    Reason::from(&e),
                    e.to_string(),
                )),
            }
        }
        let (store, now) = (&self.store, opsmantik_runtime::now_ms());
        self.io
            .retry("redis", || queue::enqueue(store, &items, now))
            .await?;
        self.io.metrics.sent(items.len());
        self.wake.notify_one();
        self.io.publish_or_fail(letters).await
    }
}

/// Runs the sink until `shutdown`.
pub async fn run(config: WebhookConfig, shutdown: CancellationToken) -> Result<(), RuntimeError> {
    let store =
        Store::new(&config.redis).map_err(|e| RuntimeError::Config(format!("redis: {e}")))?;
    let policy = Policy::new(&config.delivery.allow_private, config.delivery.production)
        .map_err(|e| RuntimeError::Config(format!("WEBHOOK_ALLOW_PRIVATE: {e}")))?;
    let timeout = std::time::Duration::from_millis(config.delivery.timeout_ms);
    let sender = deliver::Sender::new(policy, timeout).map_err(RuntimeError::Config)?;
    let (log, log_task) = log::spawn(
        opsmantik_runtime::clickhouse::client(&config.clickhouse),
        shutdown.clone(),
    );
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let dispatcher = dispatch::Dispatcher {
        store: store.clone(),
        sender,
        log,
        config: config.delivery.clone(),
        letters: KafkaPublisher::new(&config.kafka)?,
        topics: config.kafka.topics(),
        wake: wake.clone(),
    };
    let dispatching = tokio::spawn(dispatcher.run(shutdown.clone()));
    let result = run_stage(
        STAGE,
        &[Topic::WebhookDeliveries],
        &config.kafka,
        &config.batch,
        shutdown.clone(),
        |io| HandOff { io, store, wake },
    )
    .await;
    shutdown.cancel();
    let _ = dispatching.await;
    let _ = log_task.await;
    result
}
