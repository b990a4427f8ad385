//! Every rate limit of the edge, in one place: per client IP (tracking, sign-in, API), per API key (event
//! API events, analytics, Callflow), per inviter. One [`Limiter`] counts them all, shared by every edge
//! instance through Redis without a Redis round trip per request.
//!
//! **Counting.** Sliding windows, estimated from two fixed windows (the current and the previous one,
//! weighted by how much of the previous one still overlaps): a client cannot double its rate at a window
//! boundary, as fixed windows allow.
//!
//! **Sharing.** Each instance counts locally and, every [`SYNC_EVERY`], adds what it counted to the shared
//! counters (`INCRBY`, one pipelined round trip for every active counter) and learns the global totals; a
//! subject seen for the first time triggers a sync at once. A request is allowed while `global total at
//! the last sync + not yet synced local count` stays under the limit, so the instances together overshoot
//! by at most what arrives between two syncs (one Redis round trip for a new subject). The same sync
//! forgets windows that ended (the one sweep: memory stays bounded by the subjects seen in two windows).
//! If Redis is down each instance limits on its own counts (fail open) and
//! `edge_rate_limit_sync_failures_total` says so.

pub mod ip;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use opsmantik_runtime::redis::Store;
use tokio_util::sync::CancellationToken;

/// How often an instance shares its counts.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);

/// A limit: at most `limit` units per `window`, per subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Name of the counter family (in Redis keys and metrics).
    pub name: &'static str,
    pub limit: u64,
    pub window_ms: u64,
    /// The rate advertised in `X-RateLimit-Limit` (the limit, unless a burst is spread over the window).
    pub advertised: u64,
}

impl Rule {
    pub const fn per_minute(name: &'static str, limit: u64) -> Self {
        Self::per(name, limit, 60)
    }

    pub const fn per_hour(name: &'static str, limit: u64) -> Self {
        Self::per(name, limit, 3600)
    }

    pub const fn per(name: &'static str, limit: u64, secs: u64) -> Self {
        Self {
            name,
            limit,
            window_ms: secs * 1000,
            advertised: limit,
        }
    }

    /// `per_second` sustained with bursts of `burst`: `burst` per `burst / per_second` seconds.
    pub fn per_second_with_burst(name: &'static str, per_second: u64, burst: u64) -> Self {
        let per_second = per_second.max(1);
        Self {
            name,
            limit: burst.max(1),
            window_ms: (burst.max(1) * 1000 / per_second).max(1),
            advertised: per_second,
        }
    }
}

/// What one check decided, with the header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds when the current window ends.
    pub reset: u64,
    /// Seconds to wait before retrying (denied only; at least 1).
    pub retry_after: u64,
}

impl Decision {
    /// Adds `X-RateLimit-Limit/-Remaining/-Reset`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("x-ratelimit-limit", self.limit),
            ("x-ratelimit-remaining", self.remaining),
            ("x-ratelimit-reset", self.reset),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }
}

/// (rule name, subject, window index).
type Key = (&'static str, String, u64);

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    /// Global total after the last sync (all instances, ours included).
    synced: u64,
    /// Counted here, sent to Redis by the sync under way, not in `synced` yet.
    in_flight: u64,
    /// Counted here since the last sync.
    pending: u64,
    /// The window length, to sweep it and set its Redis expiry.
    window_ms: u64,
}

impl Count {
    fn total(&self) -> u64 {
        self.synced + self.in_flight + self.pending
    }
}

/// The limiter of one edge instance. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Limiter {
    counts: Arc<Mutex<HashMap<Key, Count>>>,
    /// Rung when a subject is seen for the first time, so the sync learns its global count at once
    /// instead of at the next tick.
    first_sight: Arc<tokio::sync::Notify>,
}

fn now_ms() -> u64 {
    u64::try_from(opsmantik_runtime::now_ms()).unwrap_or(0)
}

impl Limiter {
    /// Counts `cost` units of `subject` under `rule` when they fit; a limit of 0 means unlimited.
    pub fn check(&self, rule: &Rule, subject: &str, cost: u64) -> Decision {
        self.check_at(rule, subject, cost, now_ms())
    }

    /// Whether one more unit of `subject` would fit, without counting it.
    pub fn peek(&self, rule: &Rule, subject: &str) -> Decision {
        self.decide(rule, subject, 1, now_ms(), false)
    }

    fn check_at(&self, rule: &Rule, subject: &str, cost: u64, now: u64) -> Decision {
        self.decide(rule, subject, cost, now, true)
    }

    /// The decision for `cost` more units; counted when `commit` and allowed.
    fn decide(&self, rule: &Rule, subject: &str, cost: u64, now: u64, commit: bool) -> Decision {
        let w = rule.window_ms.max(1);
        let (window, into) = (now / w, now % w);
        let reset = (now - into + w).div_ceil(1000);
        if rule.limit == 0 {
            return Decision {
                allowed: true,
                limit: 0,
                remaining: 0,
                reset,
                retry_after: 0,
            };
        }
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let previous = window
            .checked_sub(1)
            .and_then(|p| counts.get(&(rule.name, subject.to_string(), p)))
            .map_or(0, Count::total);
        let key = (rule.name, subject.to_string(), window);
        if previous == 0 && !counts.contains_key(&key) {
            self.first_sight.notify_one();
        }
        let current = counts.entry(key).or_default();
        current.window_ms = w;
        // The previous window's share that still overlaps the sliding window.
        let carried = (previous * (w - into)).div_ceil(w);
        let used = carried + current.total();
        if used + cost <= rule.limit {
            if commit {
                current.pending += cost;
            }
            let remaining = rule.limit - used - cost;
            return Decision {
                allowed: true,
                limit: rule.advertised,
                remaining,
                reset,
                retry_after: 0,
            };
        }
        Decision {
            allowed: false,
            limit: rule.advertised,
            remaining: rule.limit.saturating_sub(used),
            reset,
            retry_after: retry_after(rule.limit, previous, current.total() + cost, w, into),
        }
    }

    /// One sync with Redis: adds every pending count to the shared counters, learns the totals, and forgets
    /// windows that ended.
    pub async fn sync(&self, store: &Store) -> redis::RedisResult<()> {
        let now = now_ms();
        let batch: Vec<(Key, u64, u64)> = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            counts.retain(|k, c| (k.2 + 2) * c.window_ms.max(1) > now);
            counts
                .iter_mut()
                .map(|(k, c)| {
                    c.in_flight = std::mem::take(&mut c.pending);
                    (k.clone(), c.in_flight, c.window_ms)
                })
                .collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for ((name, subject, window), n, window_ms) in &batch {
            let key = store.key(&["ratelimit", name, subject, &window.to_string()]);
            let ttl = (2 * window_ms).div_ceil(1000) + 5;
            pipe.incr(&key, *n).expire(&key, ttl as i64).ignore();
        }
        let totals: Result<Vec<u64>, _> = match store.conn().await {
            Ok(mut c) => pipe.query_async(&mut c).await,
            Err(e) => Err(e),
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for (i, (key, n, _)) in batch.iter().enumerate() {
            if let Some(c) = counts.get_mut(key) {
                c.in_flight = 0;
                match &totals {
                    Ok(t) => c.synced = t.get(i).copied().unwrap_or(c.synced + n),
                    // Keep limiting on what this instance saw.
                    Err(_) => c.synced += n,
                }
            }
        }
        totals.map(|_| ())
    }

    /// Syncs every [`SYNC_EVERY`] until `shutdown`.
    pub fn spawn_sync(
        &self,
        store: Store,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let limiter = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SYNC_EVERY);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {}
                    _ = limiter.first_sight.notified() => {}
                }
                if let Err(e) = limiter.sync(&store).await {
                    metrics::counter!("edge_rate_limit_sync_failures_total").increment(1);
                    tracing::debug!(error = %e, "rate-limit sync failed; limiting on local counts");
                }
            }
        })
    }

    /// How many counters are held (for tests of the sweep).
    pub fn len(&self) -> usize {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Seconds until `cost` fits, assuming no other traffic: within this window once enough of the previous
/// one has slid out, else in the next window.
fn retry_after(limit: u64, previous: u64, current_with_cost: u64, w: u64, into: u64) -> u64 {
    let wait_ms = if current_with_cost <= limit && previous > 0 {
        // Need previous * (w - t) / w <= limit - current_with_cost, i.e. t >= w - room * w / previous.
        let room = limit - current_with_cost;
        let t = w.saturating_sub(room * w / previous);
        t.saturating_sub(into)
    } else {
        w - into
    };
    wait_ms.div_ceil(1000).max(1)
}

/// A fixed-window counter in Redis, for counts that must be exact rather than estimated (attempts at one
/// sign-in code). Returns the count so far in this window.
pub async fn count_in_window(
    store: &Store,
    key: &str,
    window_secs: u64,
) -> redis::RedisResult<u64> {
    let mut c = store.conn().await?;
    let (n, _): (u64, bool) = redis::pipe()
        .incr(key, 1)
        .expire(key, window_secs as i64)
        .arg("NX")
        .query_async(&mut c)
        .await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Rule = Rule::per_minute("t", 10);

    #[test]
    fn allows_up_to_the_limit_per_subject_and_rule() {
        let l = Limiter::default();
        let t = 120_000; // the start of a window
        for i in 0..10 {
            let d = l.check_at(&MINUTE, "a", 1, t + i);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let denied = l.check_at(&MINUTE, "a", 1, t + 10);
        assert!(!denied.allowed);
        assert_eq!((denied.remaining, denied.retry_after), (0, 60));
        assert!(
            l.check_at(&MINUTE, "b", 1, t + 10).allowed,
            "another subject"
        );
        assert!(
            l.check_at(&Rule::per_minute("u", 10), "a", 1, t).allowed,
            "another rule"
        );
        assert!(
            !l.check_at(&MINUTE, "c", 11, t).allowed,
            "a batch over the limit"
        );
        assert!(
            l.check_at(&Rule::per_minute("free", 0), "a", 1_000_000, t)
                .allowed
        );
    }

    #[test]
    fn a_window_boundary_does_not_double_the_rate() {
        let l = Limiter::default();
        let end = 180_000 - 100; // 0.1 s before a boundary
        for _ in 0..10 {
            assert!(l.check_at(&MINUTE, "a", 1, end).allowed);
        }
        // 0.2 s later, in the next fixed window: the previous window still counts almost fully.
        assert!(!l.check_at(&MINUTE, "a", 1, end + 200).allowed);
        // Half a minute on, half of it has slid out.
        let half = 180_000 + 30_000;
        let passed = (0..10)
            .filter(|_| l.check_at(&MINUTE, "a", 1, half).allowed)
            .count();
        assert_eq!(passed, 5);
    }

    #[test]
    fn bursts_spread_over_their_window() {
        let r = Rule::per_second_with_burst("cf", 100, 200);
        assert_eq!((r.limit, r.window_ms, r.advertised), (200, 2000, 100));
        let l = Limiter::default();
        let passed = (0..300)
            .filter(|_| l.check_at(&r, "k", 1, 4_000).allowed)
            .count();
        assert_eq!(passed, 200);
        let d = l.check_at(&r, "k", 1, 4_000);
        assert_eq!((d.limit, d.retry_after), (100, 2));
    }
}
