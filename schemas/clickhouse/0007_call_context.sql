-- What the tracker knew about a click (CallRecord v2 `context`): the page it happened on, the tracker's click
-- stamp and action words, the browser, and the ads context as JSON text. Empty for calls without it.
-- ClickHouse 18.16 has no `ADD COLUMN IF NOT EXISTS`: one column per statement, and the migrator takes
-- "column already exists" (code 44) as done, so a re-run after a crash is harmless.
ALTER TABLE calls ADD COLUMN page_url String DEFAULT '';
ALTER TABLE calls ADD COLUMN intent_stamp String DEFAULT '';
ALTER TABLE calls ADD COLUMN intent_action String DEFAULT '';
ALTER TABLE calls ADD COLUMN intent_target String DEFAULT '';
ALTER TABLE calls ADD COLUMN user_agent String DEFAULT '';
ALTER TABLE calls ADD COLUMN ads_context_json String DEFAULT '';
