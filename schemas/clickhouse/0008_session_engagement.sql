-- Engagement the tracker reports (SessionState v2): foreground seconds and the deepest scroll, 0 when unknown.
-- One column per statement (see 0007).
ALTER TABLE sessions ADD COLUMN active_sec Int64 DEFAULT 0;
ALTER TABLE sessions ADD COLUMN max_scroll_pct Int64 DEFAULT 0;
