-- Every webhook delivery attempt (the delivery log): which delivery, which try, what came back and how long it
-- took. `status`: delivered (2xx), retrying (a retryable failure; tried again later), failed (a 4xx that is not
-- retried), dead (given up after the last attempt or the maximum age). Written by the webhook sink.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    site String,
    webhook_id String,
    delivery_id String,
    rule_id String,
    event_id String,
    attempt UInt32,
    status String,
    http_status UInt16,
    latency_ms UInt32,
    error String,
    attempted_at_ms Int64,
    attempted_at DateTime
) ENGINE = MergeTree
PARTITION BY toYYYYMM(attempted_at)
ORDER BY (site, webhook_id, attempted_at_ms, delivery_id, attempt);
