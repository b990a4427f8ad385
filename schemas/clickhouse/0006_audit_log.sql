-- The audit trail of control actions (sites, members, keys, secrets, admins) and, later, replays.
-- One row per audit id: a record landed twice is one row.
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id String,
    subject_id String,
    actor String,
    action String,
    detail_json String,
    at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (subject_id, at, audit_id);
