//! Per-key event rate: each API key has its own events-per-minute quota (default 1000, 0 = unlimited), a
//! GCRA bucket in this edge instance (no Redis round trip per request). A batch takes one token per event.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Buckets by key id.
#[derive(Debug, Default)]
pub struct EventLimits {
    buckets: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

impl EventLimits {
    /// Takes `n` tokens from key `id`'s bucket (`rate` per minute); `false` when the key is over its rate.
    pub fn allow(&self, id: &str, rate: u32, n: u32) -> bool {
        let (Some(per_minute), Some(n)) = (NonZeroU32::new(rate), NonZeroU32::new(n)) else {
            return true; // 0 = unlimited, and an empty batch costs nothing
        };
        let bucket = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            let entry = buckets.entry(id.to_string()).or_insert_with(|| {
                (
                    rate,
                    Arc::new(RateLimiter::direct(Quota::per_minute(per_minute))),
                )
            });
            if entry.0 != rate {
                *entry = (
                    rate,
                    Arc::new(RateLimiter::direct(Quota::per_minute(per_minute))),
                );
            }
            entry.1.clone()
        };
        matches!(bucket.check_n(n), Ok(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_rate_in_events() {
        let l = EventLimits::default();
        assert!(l.allow("k", 10, 6));
        assert!(l.allow("k", 10, 4));
        assert!(!l.allow("k", 10, 1), "11th event in the minute");
        assert!(l.allow("other", 10, 10), "keys do not share buckets");
        assert!(
            !l.allow("big", 10, 11),
            "a batch larger than the whole quota"
        );
        assert!(l.allow("free", 0, 1_000_000), "0 = unlimited");
    }
}
