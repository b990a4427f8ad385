-- Every version of every call: `calls` (ReplacingMergeTree) keeps only the latest version of a call once
-- parts merge; this view keeps each version as inserted (one row per call and version; a replayed insert of
-- the same version collapses). Versions written before this migration are not copied in.
CREATE MATERIALIZED VIEW IF NOT EXISTS call_history
ENGINE = ReplacingMergeTree(updated_at_ms)
ORDER BY (site, call_id, version)
AS SELECT * FROM calls;
