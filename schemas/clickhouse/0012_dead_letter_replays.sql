-- Dead letters for the DLQ API: the site of the record carried (its `site` field when it decodes, else ''), and
-- the replay count (DeadLetter v2): a record that fails again after its n-th replay lands under its original
-- id with replay_count n, so the API reads each dead letter's latest row by replay_count.
-- One column per statement; the migrator takes "column already exists" (code 44) as done.
ALTER TABLE dead_letters ADD COLUMN site String DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN replay_count UInt32 DEFAULT 0;
