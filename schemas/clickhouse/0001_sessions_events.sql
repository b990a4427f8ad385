-- Sessions and session events, as the sessionizer publishes them.
-- Both deduplicate by id (events) or id + version (sessions): a replayed record never counts twice as long as
-- readers use FINAL, argMax or uniqExact(id). Times are UTC.

-- One row per session version; ReplacingMergeTree keeps the highest version of each (site, session_id).
-- No PARTITION BY: a late event may move a session's start into another month, and rows of one session must
-- share a partition to be merged.
CREATE TABLE IF NOT EXISTS sessions (
    site String,
    session_id String,
    version Int64,
    visitor String,
    client_session_id String,
    started_at DateTime,
    last_seen_at DateTime,
    duration_sec Int64,
    pageviews Int64,
    events Int64,
    entry_url String,
    exit_url String,
    referrer String,
    utm_source String,
    utm_medium String,
    utm_campaign String,
    utm_term String,
    utm_content String,
    gclid String,
    gbraid String,
    wbraid String,
    device String,
    browser String,
    os String,
    geo_country String,
    lead_score Int32,
    lead_reasons Array(String)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (site, session_id);

-- One row per tracking hit; an event's time never changes, so it can partition by month.
CREATE TABLE IF NOT EXISTS events (
    site String,
    event_time DateTime,
    event_id String,
    session_id String,
    visitor String,
    seq Int64,
    received_at DateTime,
    url String,
    referrer String,
    category String,
    action String,
    label String,
    value Float64,
    has_value UInt8,
    meta_json String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (site, event_time, event_id);
