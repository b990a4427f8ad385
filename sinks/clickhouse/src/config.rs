//! ClickHouse sink settings.

use opsmantik_runtime::config::{BatchConfig, ClickHouseConfig, KafkaConfig, TelemetryConfig};

/// Everything the sink reads from flags and environment.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    about = "OpsMantik ClickHouse sink: sessions, events, call-flow events and dead letters -> ClickHouse"
)]
pub struct SinkConfig {
    #[command(flatten)]
    pub kafka: KafkaConfig,
    #[command(flatten)]
    pub clickhouse: ClickHouseConfig,
    #[command(flatten)]
    pub batch: BatchConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::SinkConfig::command().debug_assert();
    }
}
