-- Call-flow events (seed 004), one row per event, deduplicated by event id.
-- Sorted for the two reads the API makes: a call's events in event-time order, and every event of a site in
-- event-time order (keyset pagination on (timestamp_ms, event_id)).
CREATE TABLE IF NOT EXISTS callflow_events (
    site String,
    call_id String,
    timestamp_ms Int64,
    event_id String,
    event_type String,
    metadata_json String,
    created_at_ms Int64,
    event_time DateTime MATERIALIZED toDateTime(intDiv(timestamp_ms, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (site, call_id, timestamp_ms, event_id);
