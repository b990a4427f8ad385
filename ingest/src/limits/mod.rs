//! Every rate limit of the edge, in one place: per client IP (tracking, sign-in, API), per API key (event
//! API events, analytics, Callflow), per inviter. One [`Limiter`] counts them all, shared by every edge
//! instance through Redis without a Redis round trip per request.
//!
//! **Counting.** Sliding windows, estimated from two fixed windows (the current and the previous one,
//! weighted by how much of the previous one still overlaps): a client cannot double its rate at a window
//! boundary, as fixed windows allow.
//!
//! **Sharing.** Each instance counts locally and, every [`SYNC_EVERY`], adds what it counted to the shared
//! counters (`INCRBY`, one pipelined round trip for every live counter) and learns the global totals; a
//! subject seen for the first time triggers a sync at once. A request is allowed while `global total at
//! the last sync + not yet synced local count` stays under the limit, so the instances together overshoot
//! by at most what arrives between two syncs (one Redis round trip for a new subject). The same sync
//! forgets windows that ended (the one sweep: memory stays bounded by the subjects seen in two windows).
//! If Redis is down each instance limits on its own counts (fail open) and
//! `edge_rate_limit_sync_failures_total` says so.

mod counts;
pub mod in_flight;
pub mod ip;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use opsmantik_runtime::redis::Store;
use tokio_util::sync::CancellationToken;

use counts::Table;

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

/// One window's count on its way to Redis.
#[derive(Debug)]
struct Outgoing {
    rule: &'static str,
    subject: String,
    window: u64,
    sent: u64,
    window_ms: u64,
}

/// The limiter of one edge instance. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Limiter {
    counts: Arc<Mutex<Table>>,
    /// Rung when a subject is seen for the first time (or again after a window without it here), so the
    /// sync learns its global counts at once instead of at the next tick.
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
        let mut table = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let subjects = table.entry(rule.name).or_default();
        let held = subjects.get_mut(subject);
        let previous = held
            .as_ref()
            .and_then(|h| window.checked_sub(1).and_then(|p| h.get(p)))
            .map_or(0, |c| c.total());
        let current = held
            .as_ref()
            .and_then(|h| h.get(window))
            .map_or(0, |c| c.total());
        // The previous window's share that still overlaps the sliding window.
        let carried = (previous * (w - into)).div_ceil(w);
        let used = carried + current;
        if used + cost > rule.limit {
            return Decision {
                allowed: false,
                limit: rule.advertised,
                remaining: rule.limit.saturating_sub(used),
                reset,
                retry_after: retry_after(rule.limit, previous, current + cost, w, into),
            };
        }
        if commit {
            let windows = match held {
                Some(h) => h,
                None => subjects.entry(subject.to_string()).or_default(),
            };
            // A subject met for the first time, or again after a window without it here: the previous window
            // is held too, so the sync (at once) learns what other instances counted in it.
            if let Some(p) = window.checked_sub(1) {
                if windows.get(window).is_none() && windows.get(p).is_none() {
                    windows.current_mut(p);
                    self.first_sight.notify_one();
                }
            }
            windows.window_ms = w;
            windows.current_mut(window).pending += cost;
        }
        Decision {
            allowed: true,
            limit: rule.advertised,
            remaining: rule.limit - used - cost,
            reset,
            retry_after: 0,
        }
    }

    /// One sync with Redis: adds every pending count to the shared counters, learns the totals, and forgets
    /// windows that ended.
    pub async fn sync(&self, store: &Store) -> redis::RedisResult<()> {
        let batch = self.take_pending(now_ms());
        if batch.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for b in &batch {
            let key = store.key(&["ratelimit", b.rule, &b.subject, &b.window.to_string()]);
            let ttl = (2 * b.window_ms).div_ceil(1000) + 5;
            pipe.incr(&key, b.sent).expire(&key, ttl as i64).ignore();
        }
        let totals: Result<Vec<u64>, _> = match store.conn().await {
            Ok(mut c) => pipe.query_async(&mut c).await,
            Err(e) => Err(e),
        };
        self.learn(&batch, totals.as_deref().ok());
        totals.map(|_| ())
    }

    /// Takes in a sync's answer: the global total of every window sent (`None`: Redis failed, so keep
    /// limiting on what this instance saw).
    fn learn(&self, batch: &[Outgoing], totals: Option<&[u64]>) {
        let mut table = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for (i, b) in batch.iter().enumerate() {
            let held = table.get_mut(b.rule).and_then(|s| s.get_mut(&b.subject));
            let Some(windows) = held else { continue };
            if let Some(slot) = windows
                .slots
                .iter_mut()
                .find(|s| s.used && s.window == b.window)
            {
                let c = &mut slot.count;
                c.in_flight = 0;
                c.synced = totals
                    .and_then(|t| t.get(i).copied())
                    .unwrap_or(c.synced + b.sent);
            }
        }
    }

    /// Forgets subjects whose windows ended, and moves every live window's pending count in flight.
    fn take_pending(&self, now: u64) -> Vec<Outgoing> {
        let mut table = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = Vec::new();
        for (rule, subjects) in table.iter_mut() {
            subjects.retain(|_, windows| !windows.expired(now));
            for (subject, windows) in subjects.iter_mut() {
                let window_ms = windows.window_ms;
                // Every live window goes out, idle here or not (`INCRBY 0` learns the others' counts): a
                // subject's next request here is decided on the total learned before it, not after.
                for slot in windows.slots.iter_mut().filter(|s| s.used) {
                    slot.count.in_flight = std::mem::take(&mut slot.count.pending);
                    batch.push(Outgoing {
                        rule,
                        subject: subject.clone(),
                        window: slot.window,
                        sent: slot.count.in_flight,
                        window_ms,
                    });
                }
            }
        }
        table.retain(|_, subjects| !subjects.is_empty());
        batch
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
    fn a_subject_first_seen_after_a_boundary_learns_the_previous_window() {
        let (a, b) = (Limiter::default(), Limiter::default());
        let end = 240_000 - 500; // 0.5 s before a boundary
        for _ in 0..8 {
            assert!(a.check_at(&MINUTE, "k", 1, end).allowed);
        }
        // Instance b meets the subject 1 s later, in the next fixed window.
        assert!(b.check_at(&MINUTE, "k", 1, end + 1000).allowed);
        let batch = b.take_pending(end + 1000);
        let windows: Vec<u64> = batch.iter().map(|o| o.window).collect();
        assert_eq!(windows, [3, 4], "the previous window is asked for too");
        // Redis answers the global totals: 8 from a in window 3, b's 1 in window 4.
        b.learn(&batch, Some(&[8, 1]));
        let passed = (0..10)
            .filter(|_| b.check_at(&MINUTE, "k", 1, end + 1100).allowed)
            .count();
        assert_eq!(
            passed, 1,
            "8 carried over almost fully + 1 here leave one of 10"
        );
    }

    #[test]
    fn a_subject_back_after_a_window_away_learns_the_previous_window() {
        let (a, b) = (Limiter::default(), Limiter::default());
        assert!(b.check_at(&MINUTE, "k", 1, 60_000).allowed); // window 1, here
        b.learn(&b.take_pending(60_000), Some(&[0, 1]));
        for _ in 0..8 {
            assert!(a.check_at(&MINUTE, "k", 1, 179_000).allowed); // window 2, elsewhere
        }
        // Back here in window 3, before the sync that would forget window 1.
        assert!(b.check_at(&MINUTE, "k", 1, 180_500).allowed);
        let batch = b.take_pending(180_500);
        let mut windows: Vec<u64> = batch.iter().map(|o| o.window).collect();
        windows.sort_unstable();
        assert_eq!(windows, [2, 3], "window 2 is asked for");
        let totals: Vec<u64> = batch
            .iter()
            .map(|o| if o.window == 2 { 8 } else { 1 })
            .collect();
        b.learn(&batch, Some(&totals));
        let passed = (0..10)
            .filter(|_| b.check_at(&MINUTE, "k", 1, 180_600).allowed)
            .count();
        assert_eq!(passed, 1);
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
