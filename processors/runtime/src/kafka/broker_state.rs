//! What the producer knows about the broker, without asking it: the outcome of recent deliveries and the
//! connection states librdkafka reports in its statistics (every second). Health checks read this instead of
//! making a blocking metadata call per probe, so a busy but healthy edge is never reported down because one
//! probe's call was slow.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use rdkafka::statistics::Statistics;
use rdkafka::ClientContext;

/// How recent a delivery outcome or a statistics report must be to count.
const FRESH_MS: i64 = 10_000;

/// The broker as last seen by one producer; shared by its clones.
#[derive(Debug, Clone, Default)]
pub struct BrokerState(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    last_delivered_ms: AtomicI64,
    last_unavailable_ms: AtomicI64,
    stats_ms: AtomicI64,
    connected: AtomicBool,
}

impl BrokerState {
    /// A delivery the broker acknowledged.
    pub fn delivered(&self, now_ms: i64) {
        self.0.last_delivered_ms.store(now_ms, Ordering::Relaxed);
    }

    /// A delivery that failed for want of a broker (not a record the broker refused).
    pub fn unavailable(&self, now_ms: i64) {
        self.0.last_unavailable_ms.store(now_ms, Ordering::Relaxed);
    }

    /// A statistics report: whether any broker connection is up.
    pub fn report(&self, connected: bool, now_ms: i64) {
        self.0.connected.store(connected, Ordering::Relaxed);
        self.0.stats_ms.store(now_ms, Ordering::Relaxed);
    }

    /// `Ok` when the broker is believed reachable at `now_ms`, else why not. Failing deliveries newer than
    /// the last success mean down; a recent success means up; otherwise the latest connection report decides.
    pub fn status(&self, now_ms: i64) -> Result<(), String> {
        let i = &self.0;
        let delivered = i.last_delivered_ms.load(Ordering::Relaxed);
        let unavailable = i.last_unavailable_ms.load(Ordering::Relaxed);
        let fresh = |t: i64| t > 0 && now_ms - t <= FRESH_MS;
        if fresh(unavailable) && unavailable > delivered {
            return Err("deliveries are failing".into());
        }
        if fresh(delivered) {
            return Ok(());
        }
        let stats = i.stats_ms.load(Ordering::Relaxed);
        match (fresh(stats), i.connected.load(Ordering::Relaxed)) {
            (true, true) => Ok(()),
            (true, false) => Err("no broker connection".into()),
            (false, _) => Err("no recent report from the producer".into()),
        }
    }
}

/// The producer's librdkafka context: feeds [`BrokerState`] from statistics.
#[derive(Debug, Clone, Default)]
pub struct ProducerStats {
    pub state: BrokerState,
}

impl ClientContext for ProducerStats {
    fn stats(&self, statistics: Statistics) {
        let connected = statistics
            .brokers
            .values()
            .any(|b| b.state == "UP" && b.nodeid >= 0);
        self.state.report(connected, crate::now_ms());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_outcomes_decide_then_the_connection_report() {
        let s = BrokerState::default();
        assert!(s.status(1_000).is_err(), "nothing known yet");
        s.report(true, 1_000);
        assert!(s.status(2_000).is_ok());
        assert!(s.status(20_000).is_err(), "the report went stale");
        s.delivered(20_000);
        assert!(s.status(25_000).is_ok());
        s.unavailable(26_000);
        assert_eq!(s.status(26_500), Err("deliveries are failing".into()));
        s.delivered(27_000);
        assert!(s.status(27_500).is_ok(), "a success after the failure");
        s.report(false, 40_000);
        assert!(
            s.status(40_000).is_err(),
            "old success, broker connection down"
        );
    }
}
