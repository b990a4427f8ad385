//! The metrics every stage exports, declared once: `<stage>_records_received_total`,
//! `<stage>_records_sent_total`, `<stage>_records_dropped_total{reason}`, `<stage>_batch_duration_seconds`
//! (consumer lag comes from [`crate::kafka::LagContext`]). Labels are bounded enums only.

use std::time::Duration;

use opsmantik_schemas::dlq::Reason;

/// Metric handles of one stage (`sessionizer`, `clickhouse_sink`, `edge`, ...).
#[derive(Debug, Clone)]
pub struct StageMetrics {
    stage: &'static str,
}

impl StageMetrics {
    pub fn new(stage: &'static str) -> Self {
        Self { stage }
    }

    pub fn stage(&self) -> &'static str {
        self.stage
    }

    fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.stage)
    }

    pub fn received(&self, n: usize) {
        metrics::counter!(self.name("records_received_total")).increment(n as u64);
    }

    pub fn sent(&self, n: usize) {
        metrics::counter!(self.name("records_sent_total")).increment(n as u64);
    }

    /// A record that did not take the normal path: dead-lettered, or dropped with the reason.
    pub fn dropped(&self, reason: Reason, n: usize) {
        metrics::counter!(self.name("records_dropped_total"), "reason" => reason.code())
            .increment(n as u64);
    }

    pub fn batch_duration(&self, d: Duration) {
        metrics::histogram!(self.name("batch_duration_seconds")).record(d.as_secs_f64());
    }

    /// Retries of a transport failure, by system (`kafka`, `clickhouse`).
    pub fn retried(&self, system: &'static str) {
        metrics::counter!(self.name("retries_total"), "system" => system).increment(1);
    }
}
