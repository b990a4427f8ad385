-- The migration runner's own record of applied files. The runner applies this file before every run
-- (it is idempotent) and records the others here once they have been applied.
CREATE TABLE IF NOT EXISTS schema_migrations (
    name String,
    applied_at DateTime
) ENGINE = ReplacingMergeTree()
ORDER BY name;
