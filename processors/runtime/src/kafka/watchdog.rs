//! The assignment watchdog. tansu 0.6's group coordinator can, rarely, complete a rebalance that leaves a
//! dead member's partitions assigned to nobody; the group then looks healthy while those partitions' lag grows
//! forever. Every [`CHECK_EVERY`] a member looks at the subscribed partitions it does not own: one whose
//! committed offset has not moved while records wait behind it for [`STALL_CHECKS`] checks in a row is
//! taken as owned by nobody, so the member leaves and rejoins the group to force a new assignment — with a
//! warning and `<stage>_rejoins_total`. A partition another member consumes moves its committed offset and
//! never trips it. A partition whose owner is stuck (e.g. its store is down) looks the same from outside; the
//! threshold doubles after every rejoin (up to 16 minutes) and resets once nothing looks stalled, so such an
//! outage costs a few rebalances, not a storm.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::TopicPartitionList;

use super::StageConsumer;

/// How often a member checks.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);
/// Consecutive checks a partition must look unowned before the member rejoins (≥ 30 s).
pub const STALL_CHECKS: u32 = 3;

/// Longest threshold, in checks, after repeated rejoins.
const MAX_CHECKS: u32 = 96;

/// Per foreign partition: its committed offset at the last check, and how many checks it has looked stalled.
#[derive(Debug)]
pub struct Stalls {
    seen: HashMap<(String, i32), (i64, u32)>,
    threshold: u32,
}

impl Default for Stalls {
    fn default() -> Self {
        Self {
            seen: HashMap::new(),
            threshold: STALL_CHECKS,
        }
    }
}

impl Stalls {
    /// Notes one check of a partition this member does not own: `committed` offset (−1: none yet) and
    /// `high` watermark. Returns whether it has now looked unowned for the current threshold of checks.
    pub fn observe(&mut self, topic: &str, partition: i32, committed: i64, high: i64) -> bool {
        let waiting = high > committed.max(0);
        let key = (topic.to_string(), partition);
        let Some(entry) = self.seen.get_mut(&key) else {
            self.seen.insert(key, (committed, 0));
            return false;
        };
        if entry.0 == committed && waiting {
            entry.1 += 1;
        } else {
            *entry = (committed, 0);
        }
        entry.1 >= self.threshold
    }

    /// After a rejoin: forget what was seen and wait twice as long before the next one.
    pub fn rejoined(&mut self) {
        self.seen.clear();
        self.threshold = (self.threshold * 2).min(MAX_CHECKS);
    }

    /// After a check where nothing looked stalled: back to the normal threshold.
    pub fn settled(&mut self) {
        self.threshold = STALL_CHECKS;
    }

    fn any_stalled(&self) -> bool {
        self.seen.values().any(|(_, n)| *n > 0)
    }
}

/// One check over `topics`; rejoins the group when some partition is owned by nobody. Blocking (metadata and
/// offset calls with short timeouts): run it off the async workers.
pub fn check(consumer: &StageConsumer, topics: &[String], stalls: &mut Stalls, stage: &str) {
    let timeout = Duration::from_secs(2);
    let Ok(mine) = consumer.assignment() else {
        return;
    };
    let owned: Vec<(String, i32)> = mine
        .elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect();
    let mut foreign = TopicPartitionList::new();
    for topic in topics {
        let Ok(meta) = consumer.fetch_metadata(Some(topic), timeout) else {
            return;
        };
        for t in meta.topics() {
            for p in t.partitions() {
                if !owned.contains(&(topic.clone(), p.id())) {
                    foreign.add_partition(topic, p.id());
                }
            }
        }
    }
    let Ok(committed) = consumer.committed_offsets(foreign, timeout) else {
        return;
    };
    let mut unowned = None;
    for e in committed.elements() {
        let Ok((_, high)) = consumer.fetch_watermarks(e.topic(), e.partition(), timeout) else {
            return;
        };
        let offset = e.offset().to_raw().unwrap_or(-1);
        if stalls.observe(e.topic(), e.partition(), offset, high) {
            unowned = Some((e.topic().to_string(), e.partition(), high - offset.max(0)));
        }
    }
    if let Some((topic, partition, lag)) = unowned {
        tracing::warn!(%topic, partition, lag, "partition owned by no member while records wait; rejoining the group");
        metrics::counter!(format!("{stage}_rejoins_total")).increment(1);
        consumer.unsubscribe();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        if let Err(e) = consumer.subscribe(&names) {
            tracing::error!(error = %e, "rejoining the group");
        }
        stalls.rejoined();
    } else if !stalls.any_stalled() {
        stalls.settled();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_whose_commit_stands_still_while_records_wait_trips_after_three_checks() {
        let mut s = Stalls::default();
        assert!(!s.observe("t", 0, 100, 150));
        assert!(!s.observe("t", 0, 100, 160));
        assert!(!s.observe("t", 0, 100, 170));
        assert!(
            s.observe("t", 0, 100, 180),
            "three stalled checks after the first sighting"
        );
        s.rejoined();
        let trips = (0..7).filter(|i| s.observe("t", 0, 100, 200 + i)).count();
        assert_eq!(
            trips, 1,
            "after a rejoin the threshold doubles: trips on the 7th check only"
        );
        assert!(s.observe("t", 0, 100, 300));
    }

    #[test]
    fn a_consumed_or_idle_partition_never_trips() {
        let mut s = Stalls::default();
        for (i, committed) in [100, 120, 140, 160, 180].into_iter().enumerate() {
            assert!(
                !s.observe("t", 1, committed, 200 + i as i64),
                "its owner commits"
            );
        }
        for _ in 0..10 {
            assert!(!s.observe("t", 2, 50, 50), "nothing waits");
        }
        for _ in 0..10 {
            assert!(!s.observe("t", 3, -1, 0), "empty, never committed");
        }
    }
}
