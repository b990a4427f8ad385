//! What one tracked visit left in ClickHouse, for the tracker tests (the real tracker replayed, ours in a
//! browser): the counts that must come out, and the one session.

use std::time::Duration;

use crate::{wait_for, Env};

/// (page views, sessions, calls, matched calls, session ends).
pub type Counts = [u64; 5];

async fn count(env: &Env, sql: &str) -> Result<u64, String> {
    env.count(sql).await.map_err(|e| e.to_string())
}

async fn counts(env: &Env) -> Result<(Counts, bool), String> {
    let seen = [
        count(
            env,
            "SELECT uniqExact(event_id) FROM events WHERE action = 'view'",
        )
        .await?,
        count(env, "SELECT count() FROM sessions FINAL").await?,
        count(env, "SELECT count() FROM calls FINAL").await?,
        count(env, "SELECT countIf(session_id != '') FROM calls FINAL").await?,
        count(
            env,
            "SELECT uniqExact(event_id) FROM events WHERE action = 'session_end'",
        )
        .await?,
    ];
    // The session's last version holds every event that landed: nothing is still on its way.
    let settled = count(env, "SELECT toUInt64(sum(events)) FROM sessions FINAL").await?
        == count(env, "SELECT uniqExact(event_id) FROM events").await?;
    Ok((seen, settled))
}

/// Waits until the visit has landed with exactly `expected` and nothing more on its way.
pub async fn landed(env: &Env, expected: Counts) -> anyhow::Result<()> {
    wait_for("the visit in ClickHouse", Duration::from_secs(90), || async {
        match counts(env).await? {
            (seen, true) if seen == expected => Ok(()),
            (seen, settled) => Err(format!(
                "(views, sessions, calls, matched calls, session ends) = {seen:?}, settled: {settled}"
            )),
        }
    })
    .await
}

/// The visit's one session: (gclid, utm_source, page views, active seconds, deepest scroll %).
pub async fn session(env: &Env) -> anyhow::Result<(String, String, i64, i64, i64)> {
    Ok(env
        .ch()
        .query(
            "SELECT gclid, utm_source, pageviews, active_sec, max_scroll_pct FROM sessions FINAL",
        )
        .fetch_one()
        .await?)
}

/// The visit's calls' numbers, sorted.
pub async fn call_numbers(env: &Env) -> anyhow::Result<Vec<String>> {
    Ok(env
        .ch()
        .query("SELECT phone_number FROM calls FINAL ORDER BY phone_number")
        .fetch_all()
        .await?)
}
