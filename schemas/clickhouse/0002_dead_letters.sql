-- Every dead letter of every stage, queryable by analysts and by the DLQ API.
-- Deduplicated by (source_topic, source_partition, source_offset, stage): a dead letter produced twice is one row.
CREATE TABLE IF NOT EXISTS dead_letters (
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    stage String,
    reason String,
    detail String,
    record_key String,
    payload String,
    failed_at DateTime
) ENGINE = ReplacingMergeTree()
ORDER BY (source_topic, source_partition, source_offset, stage);
