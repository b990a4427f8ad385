//! Analytics over product events, always read from ClickHouse (deduplicated with `uniqExact(event_id)`):
//! seed 002 `GET /api/v1/analytics/events`, seed 003 `GET /api/v1/analytics/metrics` (cached 10 s in Redis)
//! and `GET /api/v1/events/stats`. Every read is scoped to the site of the caller's API key.

pub mod buckets;
pub mod handlers;
pub mod queries;

/// Seed 002's analytics rate per API key (requests per minute).
pub const PER_MINUTE_PER_KEY: std::num::NonZeroU32 = match std::num::NonZeroU32::new(10) {
    Some(n) => n,
    None => panic!("10 is not zero"),
};
