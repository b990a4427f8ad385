-- Rollups of product_events for the analytics reads over long windows (docs/performance.md, "Analytics
-- rollups"). Filled by materialized views on insert, so a late event lands in its own quarter-hour; re-inserting
-- an event (a redelivered batch, a replay) changes nothing that is read: event counts are `uniq` states of the
-- event ids, unique users and sessions `uniqHLL12` states, top-user candidates `topK` states.
--
-- product_quarters: per site, quarter-hour and event name. `last_insert` is when data last arrived for the
-- group; a seal (below) is used only while it covers that moment.
CREATE TABLE IF NOT EXISTS product_quarters (
    site String,
    quarter DateTime,
    event_name String,
    ids_state AggregateFunction(uniq, String),
    last_insert AggregateFunction(max, DateTime),
    users_state AggregateFunction(uniqHLL12If, String, UInt8),
    sessions_state AggregateFunction(uniqHLL12If, String, UInt8),
    top_state AggregateFunction(topKIf(20), String, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(quarter)
ORDER BY (site, quarter, event_name);

CREATE MATERIALIZED VIEW IF NOT EXISTS product_quarters_mv TO product_quarters AS
SELECT site, toStartOfFifteenMinutes(toDateTime(intDiv(timestamp_ms, 1000))) AS quarter, event_name,
    uniqState(event_id) AS ids_state, maxState(now()) AS last_insert,
    uniqHLL12IfState(user_id, user_id != '') AS users_state,
    uniqHLL12IfState(session_id, session_id != '') AS sessions_state,
    topKIfState(20)(user_id, user_id != '') AS top_state
FROM product_events
GROUP BY site, quarter, event_name;

-- product_hours: the same unique and top-user states per hour, so a 7-day window merges 168 states a name.
CREATE TABLE IF NOT EXISTS product_hours (
    site String,
    hour DateTime,
    event_name String,
    users_state AggregateFunction(uniqHLL12If, String, UInt8),
    sessions_state AggregateFunction(uniqHLL12If, String, UInt8),
    top_state AggregateFunction(topKIf(20), String, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (site, hour, event_name);

CREATE MATERIALIZED VIEW IF NOT EXISTS product_hours_mv TO product_hours AS
SELECT site, toStartOfHour(toDateTime(intDiv(timestamp_ms, 1000))) AS hour, event_name,
    uniqHLL12IfState(user_id, user_id != '') AS users_state,
    uniqHLL12IfState(session_id, session_id != '') AS sessions_state,
    topKIfState(20)(user_id, user_id != '') AS top_state
FROM product_events
GROUP BY site, hour, event_name;

-- product_user_quarters: per site and user, what a top-user candidate did (looked up by user id).
CREATE TABLE IF NOT EXISTS product_user_quarters (
    site String,
    user_id String,
    quarter DateTime,
    event_name String,
    ids_state AggregateFunction(uniq, String),
    last_ms_state AggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(quarter)
ORDER BY (site, user_id, quarter, event_name)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS product_user_quarters_mv TO product_user_quarters AS
SELECT site, user_id, toStartOfFifteenMinutes(toDateTime(intDiv(timestamp_ms, 1000))) AS quarter, event_name,
    uniqState(event_id) AS ids_state, maxState(timestamp_ms) AS last_ms_state
FROM product_events
WHERE user_id != ''
GROUP BY site, user_id, quarter, event_name;

-- product_quarter_seals: a quarter-hour's final event count, written by the edge's sealer once no data has
-- arrived for the group for a while. `covers` is the group's `last_insert` the count was taken at.
CREATE TABLE IF NOT EXISTS product_quarter_seals (
    site String,
    quarter DateTime,
    event_name String,
    events UInt64,
    covers DateTime
) ENGINE = ReplacingMergeTree(covers)
PARTITION BY toYYYYMM(quarter)
ORDER BY (site, quarter, event_name);

-- Events stored before this migration. Running it again (a crash before the bookkeeping row) adds the same
-- ids to the same states, which changes no count.
INSERT INTO product_quarters
SELECT site, toStartOfFifteenMinutes(toDateTime(intDiv(timestamp_ms, 1000))) AS quarter, event_name,
    uniqState(event_id), maxState(now()),
    uniqHLL12IfState(user_id, user_id != ''), uniqHLL12IfState(session_id, session_id != ''),
    topKIfState(20)(user_id, user_id != '')
FROM product_events
GROUP BY site, quarter, event_name;

INSERT INTO product_hours
SELECT site, toStartOfHour(toDateTime(intDiv(timestamp_ms, 1000))) AS hour, event_name,
    uniqHLL12IfState(user_id, user_id != ''), uniqHLL12IfState(session_id, session_id != ''),
    topKIfState(20)(user_id, user_id != '')
FROM product_events
GROUP BY site, hour, event_name;

INSERT INTO product_user_quarters
SELECT site, user_id, toStartOfFifteenMinutes(toDateTime(intDiv(timestamp_ms, 1000))) AS quarter, event_name,
    uniqState(event_id), maxState(timestamp_ms)
FROM product_events
WHERE user_id != ''
GROUP BY site, user_id, quarter, event_name;
