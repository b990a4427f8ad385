//! Reads. Over product events, from ClickHouse (deduplicated: `uniqExact(event_id)` over raw rows, or the
//! rollups of `rollup` for long, busy windows): seed 002
//! `GET /api/v1/analytics/events`, seed 003 `GET /api/v1/analytics/metrics` (cached 10 s in Redis) and
//! `GET /api/v1/events/stats`, scoped to the site of the caller's API key. Over tracking: a site's summary,
//! today's realtime overlay and its status (`site_stats`, `summary`), for a `read` key or a member.

pub mod breakdown;
pub mod buckets;
pub mod handlers;
pub mod queries;
pub mod reconcile;
pub mod rollup;
pub mod site_stats;
pub mod store;
pub mod summary;

use crate::limits::Rule;

/// Seed 002's analytics rate per API key.
pub const EVENT_COUNTS_RULE: Rule = Rule::per_minute("analytics_events", 10);
/// The seed-003 reads (`metrics`, `events/stats`) have no documented limit; a 7-day query costs
/// ClickHouse seconds, so each key gets 60 a minute (one a second, far above what a dashboard polls).
pub const READS_RULE: Rule = Rule::per_minute("analytics_reads", 60);
