//! Product-event ingestion (`POST /api/v1/events`, `/batch`) in both dialects: seed 002 (`event_name`,
//! `user_id`, `idempotency_key`; batch = JSON array) and seed 003 (`eventType`, `userId`, `sessionId`,
//! `eventId`; batch = `{ "events": [...] }`). The body's field names pick the dialect; each answers in its
//! own documented shape. Duplicates (same `idempotency_key` / `eventId` per site) are caught at the edge in
//! Redis and carry a deterministic event id, so ClickHouse deduplicates them even if Redis forgot.

pub mod dedup;
pub mod handlers;
pub mod validate;

/// Largest batch body (bytes).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Most events per batch.
pub const MAX_BATCH_EVENTS: usize = 1000;
