//! Per-key rate limits with the same quota for every key — a GCRA bucket per key (`governor`) — with the
//! numbers for `X-RateLimit-Limit/-Remaining/-Reset`. Used by the callflow routes (100/s, burst 200) and the
//! seed-002 analytics route (10/min).
//!
//! The buckets live in this edge instance: N instances behind a load balancer allow up to N× the rate.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// What one request's check decided, with the header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the bucket is full again (allowed) or the next request fits (denied).
    pub reset: u64,
    /// Seconds to wait before retrying (denied only).
    pub retry_after: u64,
}

impl Decision {
    /// Adds the `X-RateLimit-*` headers.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("x-ratelimit-limit", self.limit as u64),
            ("x-ratelimit-remaining", self.remaining as u64),
            ("x-ratelimit-reset", self.reset),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }
}

/// A bucket per key.
pub struct KeyLimiter {
    limiter: Limiter,
    /// The advertised limit (requests per period).
    limit: NonZeroU32,
    burst: NonZeroU32,
    period: Duration,
    clock: DefaultClock,
}

impl std::fmt::Debug for KeyLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLimiter")
            .field("limit", &self.limit)
            .field("period", &self.period)
            .finish()
    }
}

impl KeyLimiter {
    /// `per_second` sustained, bursts of `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self::with_quota(quota, per_second, burst, Duration::from_secs(1))
    }

    /// `per_minute` requests a minute, all of them usable at once.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self::with_quota(
            Quota::per_minute(per_minute),
            per_minute,
            per_minute,
            Duration::from_secs(60),
        )
    }

    fn with_quota(quota: Quota, limit: NonZeroU32, burst: NonZeroU32, period: Duration) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            limit,
            burst,
            period,
            clock: DefaultClock::default(),
        }
    }

    /// Takes one token from `key`'s bucket if there is one.
    pub fn check(&self, key: &str) -> Decision {
        let limit = self.limit.get();
        match self.limiter.check_key(&key.to_string()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let missing = self.burst.get().saturating_sub(remaining);
                let refill = self.period.mul_f64(f64::from(missing) / f64::from(limit));
                Decision {
                    allowed: true,
                    limit,
                    remaining,
                    reset: opsmantik_runtime::now_secs() + refill.as_secs_f64().ceil() as u64,
                    retry_after: 0,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                Decision {
                    allowed: false,
                    limit,
                    remaining: 0,
                    reset: opsmantik_runtime::now_secs() + secs,
                    retry_after: secs,
                }
            }
        }
    }

    /// Forgets buckets that are full again (bounded memory with many keys); call periodically.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

/// Counts one event in a fixed window; returns the count so far in this window.
pub async fn count_in_window(
    store: &opsmantik_runtime::redis::Store,
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

    #[test]
    fn a_per_minute_quota_allows_its_count_then_denies() {
        let l = KeyLimiter::per_minute(NonZeroU32::new(10).unwrap());
        for i in 0..10 {
            let d = l.check("k");
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let denied = l.check("k");
        assert!(!denied.allowed);
        assert!(
            denied.retry_after >= 5,
            "one request every 6 s: {}",
            denied.retry_after
        );
    }

    #[test]
    fn burst_then_denied_with_retry_information_per_key() {
        let l = KeyLimiter::new(NonZeroU32::new(100).unwrap(), NonZeroU32::new(200).unwrap());
        let first = l.check("a");
        assert!(first.allowed);
        assert_eq!((first.limit, first.remaining), (100, 199));
        let mut last = first;
        for _ in 0..199 {
            last = l.check("a");
        }
        assert!(last.allowed);
        assert_eq!(last.remaining, 0);
        let denied = l.check("a");
        assert!(!denied.allowed);
        assert!(denied.retry_after >= 1);
        assert!(l.check("b").allowed, "another key has its own bucket");
        let mut headers = HeaderMap::new();
        denied.apply(&mut headers);
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        assert_eq!(headers["x-ratelimit-limit"], "100");
    }
}
