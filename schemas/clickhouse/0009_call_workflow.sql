-- The operator's workflow on a call (CallRecord v3): when it was confirmed or cancelled, by whom, and its
-- offline-conversion state (`sealed`, `uploaded`) and upload batch. 0 / '' when not set.
-- One column per statement; the migrator takes "column already exists" (code 44) as done.
ALTER TABLE calls ADD COLUMN confirmed_at_ms Int64 DEFAULT 0;
ALTER TABLE calls ADD COLUMN cancelled_at_ms Int64 DEFAULT 0;
ALTER TABLE calls ADD COLUMN confirmed_by String DEFAULT '';
ALTER TABLE calls ADD COLUMN oci_status String DEFAULT '';
ALTER TABLE calls ADD COLUMN oci_batch_id String DEFAULT '';
