//! ClickHouse sink settings.

use opsmantik_runtime::config::{BatchConfig, ClickHouseConfig, KafkaConfig, TelemetryConfig};

/// Most records per insert unless `BATCH_MAX_RECORDS` says otherwise: larger than the other stages' default,
/// because every insert makes a part in each table it reaches (and in each rollup behind `product_events`),
/// and ClickHouse spends its CPU merging small parts again (docs/performance.md). Light traffic still gets
/// small batches at once (the quiet spell); this only lets a busy or catching-up sink write fewer, larger ones.
pub const SINK_MAX_RECORDS: &str = "100000";

/// Everything the sink reads from flags and environment.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    about = "OpsMantik ClickHouse sink: sessions, events, call-flow events and dead letters -> ClickHouse",
    mut_arg("max_records", |a| a.default_value(SINK_MAX_RECORDS))
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

    #[test]
    fn the_sink_batches_more_records_than_other_stages() {
        use clap::Parser;
        let config = super::SinkConfig::parse_from(["sink"]);
        // The environment wins over the default (`BATCH_MAX_RECORDS=… cargo test` is a choice, not a failure).
        let expected = std::env::var("BATCH_MAX_RECORDS")
            .unwrap_or_else(|_| super::SINK_MAX_RECORDS.into())
            .parse();
        assert_eq!(super::SINK_MAX_RECORDS, "100000", "the documented default");
        assert_eq!(Ok(config.batch.max_records), expected);
        let config = super::SinkConfig::parse_from(["sink", "--batch-max-records", "500"]);
        assert_eq!(config.batch.max_records, 500);
    }
}
