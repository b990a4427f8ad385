//! Edge metrics, declared once. Labels are bounded enums (route, reason code), never user data.

use opsmantik_runtime::metrics::StageMetrics;

pub const STAGE: &str = "edge";

pub fn stage() -> StageMetrics {
    StageMetrics::new(STAGE)
}

/// A request refused with a 4xx, by route and reason code.
pub fn rejected(route: &'static str, code: &'static str) {
    metrics::counter!("edge_requests_rejected_total", "route" => route, "reason" => code)
        .increment(1);
}

/// Top-level fields the edge does not know, ignored (trackers evolve ahead of the edge).
pub fn unknown_fields(n: usize) {
    metrics::counter!("edge_sync_unknown_fields_total").increment(n as u64);
}

/// A record the broker did not acknowledge in time.
pub fn publish_failed(route: &'static str) {
    metrics::counter!("edge_publish_failures_total", "route" => route).increment(1);
}

/// One round of the analytics sealer (`analytics::rollup`): counted by outcome; a success also sets the time
/// of the last seal, so an alert can fire when it stops moving (rollup reads then merge states: slower, still right).
pub fn rollup_sealed(ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!("edge_rollup_seals_total", "outcome" => outcome).increment(1);
    if ok {
        metrics::gauge!("edge_rollup_last_seal_timestamp_seconds")
            .set(opsmantik_runtime::now_ms() as f64 / 1000.0);
    }
}
