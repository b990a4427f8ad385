//! The runtime's error type: foreign errors folded into a few categories that say whether to retry.

/// An error of the runtime's I/O.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Bad configuration: fail fast at start-up.
    #[error("configuration: {0}")]
    Config(String),
    /// The broker could not be reached or did not acknowledge in time.
    #[error("kafka: {0}")]
    Kafka(String),
    /// ClickHouse could not be reached, or answered with a server error.
    #[error("clickhouse: {0}")]
    ClickHouse(String),
    /// The stage was asked to stop.
    #[error("shutting down")]
    Shutdown,
}

impl RuntimeError {
    /// Transport failures are worth retrying; configuration errors and shutdown are not.
    pub fn is_retryable(&self) -> bool {
        matches!(self, RuntimeError::Kafka(_) | RuntimeError::ClickHouse(_))
    }
}

impl From<rdkafka::error::KafkaError> for RuntimeError {
    fn from(e: rdkafka::error::KafkaError) -> Self {
        RuntimeError::Kafka(e.to_string())
    }
}

impl From<::clickhouse::error::Error> for RuntimeError {
    fn from(e: ::clickhouse::error::Error) -> Self {
        RuntimeError::ClickHouse(e.to_string())
    }
}
