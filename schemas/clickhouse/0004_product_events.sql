-- Product events of the event API (seeds 002 and 003), one row per event, deduplicated by event id.
-- Counts read uniqExact(event_id) (or FINAL): a client id reused with another timestamp stays one event.
CREATE TABLE IF NOT EXISTS product_events (
    site String,
    timestamp_ms Int64,
    event_id String,
    event_name String,
    user_id String,
    session_id String,
    metadata_json String,
    payload_json String,
    priority Int32,
    idempotency_key String,
    dialect String,
    received_at_ms Int64,
    event_time DateTime MATERIALIZED toDateTime(intDiv(timestamp_ms, 1000)),
    received_at DateTime MATERIALIZED toDateTime(intDiv(received_at_ms, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (site, event_time, event_id);
