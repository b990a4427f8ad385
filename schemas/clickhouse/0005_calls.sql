-- Call records (clicks matched or not to a session, and later status changes), one row per version;
-- ReplacingMergeTree keeps the highest version of each call.
CREATE TABLE IF NOT EXISTS calls (
    site String,
    call_id String,
    version Int64,
    visitor String,
    status String,
    session_id String,
    phone_number String,
    action String,
    gclid String,
    gbraid String,
    wbraid String,
    lead_score Int32,
    lead_reasons Array(String),
    sale_amount Float64,
    has_sale UInt8,
    currency String,
    created_at_ms Int64,
    updated_at_ms Int64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (site, call_id);
