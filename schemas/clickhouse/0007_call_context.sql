-- What the tracker knew about a click (CallRecord v2 `context`): the page it happened on, the tracker's click
-- stamp and action words, the browser, and the ads context as JSON text. Empty for calls without it.
ALTER TABLE calls
    ADD COLUMN page_url String DEFAULT '',
    ADD COLUMN intent_stamp String DEFAULT '',
    ADD COLUMN intent_action String DEFAULT '',
    ADD COLUMN intent_target String DEFAULT '',
    ADD COLUMN user_agent String DEFAULT '',
    ADD COLUMN ads_context_json String DEFAULT '';
