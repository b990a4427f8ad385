//! Connection settings for each external system, one struct each, read from flags or environment.
//! Binaries flatten the ones they need into their own `clap` config.

use std::net::SocketAddr;
use std::time::Duration;

use opsmantik_schemas::Topics;

/// Kafka API broker settings.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated.
    #[arg(
        long = "kafka-brokers",
        env = "KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// Prefix for every topic name and consumer group (empty in production; tests use their own).
    #[arg(long = "topic-namespace", env = "TOPIC_NAMESPACE", default_value = "")]
    pub namespace: String,
    /// How long a produced record may wait for the broker's acknowledgement before it fails (ms).
    #[arg(
        long = "kafka-message-timeout-ms",
        env = "KAFKA_MESSAGE_TIMEOUT_MS",
        default_value_t = 4000
    )]
    pub message_timeout_ms: u64,
    /// How long a producer waits to fill a batch (ms).
    #[arg(long = "kafka-linger-ms", env = "KAFKA_LINGER_MS", default_value_t = 5)]
    pub linger_ms: u64,
    /// How long the group coordinator waits for a silent consumer before it hands its partitions to others (ms).
    #[arg(
        long = "kafka-session-timeout-ms",
        env = "KAFKA_SESSION_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub session_timeout_ms: u64,
    /// librdkafka debug contexts (e.g. `cgrp,topic`), empty for none.
    #[arg(long = "kafka-debug", env = "KAFKA_DEBUG", default_value = "")]
    pub debug: String,
}

impl KafkaConfig {
    /// Local broker, namespace `ns`.
    pub fn for_tests(brokers: &str, ns: &str) -> Self {
        Self {
            brokers: brokers.to_string(),
            namespace: ns.to_string(),
            message_timeout_ms: 4000,
            linger_ms: 5,
            session_timeout_ms: 6_000,
            debug: String::new(),
        }
    }

    pub fn topics(&self) -> Topics {
        Topics::new(self.namespace.clone())
    }

    /// A consumer group id under this config's namespace.
    pub fn group_id(&self, group: &str) -> String {
        if self.namespace.is_empty() {
            group.to_string()
        } else {
            format!("{}.{group}", self.namespace)
        }
    }

    /// A librdkafka client config with the bootstrap servers and debug contexts set.
    pub fn client_config(&self) -> rdkafka::config::ClientConfig {
        let mut c = rdkafka::config::ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        if !self.debug.is_empty() {
            c.set("debug", &self.debug);
        }
        c
    }

    pub fn message_timeout(&self) -> Duration {
        Duration::from_millis(self.message_timeout_ms)
    }
}

/// How a consumer batches its input.
#[derive(Debug, Clone, clap::Args)]
pub struct BatchConfig {
    /// Most records handled as one batch.
    #[arg(
        long = "batch-max-records",
        env = "BATCH_MAX_RECORDS",
        default_value_t = 10_000
    )]
    pub max_records: usize,
    /// Longest a batch waits to fill before it is handled (ms), however busy the input.
    #[arg(
        long = "batch-max-wait-ms",
        env = "BATCH_MAX_WAIT_MS",
        default_value_t = 250
    )]
    pub max_wait_ms: u64,
    /// A batch is handled as soon as no record arrived for this long (ms): light traffic gets small batches
    /// at once, heavy traffic fills them up to `max_wait_ms` or `max_records`.
    #[arg(long = "batch-quiet-ms", env = "BATCH_QUIET_MS", default_value_t = 20)]
    pub quiet_ms: u64,
}

impl BatchConfig {
    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(self.max_wait_ms)
    }

    pub fn quiet(&self) -> Duration {
        Duration::from_millis(self.quiet_ms)
    }
}

/// ClickHouse HTTP settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ClickHouseConfig {
    /// HTTP endpoint.
    #[arg(
        long = "clickhouse-url",
        env = "CLICKHOUSE_URL",
        default_value = "http://127.0.0.1:8123"
    )]
    pub url: String,
    /// Database holding the OpsMantik tables.
    #[arg(
        long = "clickhouse-database",
        env = "CLICKHOUSE_DATABASE",
        default_value = "opsmantik"
    )]
    pub database: String,
    /// User name.
    #[arg(
        long = "clickhouse-user",
        env = "CLICKHOUSE_USER",
        default_value = "default"
    )]
    pub user: String,
    /// Password (empty for none).
    #[arg(
        long = "clickhouse-password",
        env = "CLICKHOUSE_PASSWORD",
        default_value = ""
    )]
    pub password: String,
}

impl ClickHouseConfig {
    pub fn for_tests(url: &str, database: &str) -> Self {
        Self {
            url: url.to_string(),
            database: database.to_string(),
            user: "default".into(),
            password: String::new(),
        }
    }
}

/// Logs and metrics.
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryConfig {
    /// Log filter, `tracing` syntax.
    #[arg(long = "log", env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
    /// Log as JSON lines instead of text.
    #[arg(long = "log-json", env = "LOG_JSON", default_value_t = false)]
    pub log_json: bool,
    /// Where a processor or sink serves `/metrics` (the edge serves it on its own port).
    #[arg(
        long = "metrics-addr",
        env = "METRICS_ADDR",
        default_value = "127.0.0.1:0"
    )]
    pub metrics_addr: SocketAddr,
}
