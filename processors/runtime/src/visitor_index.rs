//! The visitor index in Redis: site + visitor → the visitor's latest session, its last activity (event time)
//! and its lead score. Written by the Redis overlay from the sessions topic; read by the edge to answer a hit
//! or a call event synchronously with the visitor's score. Keys carry the site as hash tag and expire after
//! two days idle.

use ::redis::AsyncCommands;

use crate::redis::Store;

const TTL_SECS: i64 = 2 * 24 * 3600;

/// Sets the entry unless the stored one is newer; refreshes the expiry either way.
const KEEP_NEWEST: &str =
    "local last = tonumber(redis.call('HGET', KEYS[1], 'last_seen_ms') or '-1')
if tonumber(ARGV[2]) >= last then
  redis.call('HSET', KEYS[1], 'session_id', ARGV[1], 'last_seen_ms', ARGV[2], 'lead_score', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1";

/// One visitor's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorEntry {
    pub session_id: String,
    pub last_seen_ms: i64,
    pub lead_score: i32,
}

fn key(store: &Store, site: &str, visitor: &str) -> String {
    store.site_key("visitor", site, visitor)
}

/// Writes many entries in one pipelined round trip. An entry never moves back in time: a replayed older
/// session state does not overwrite a newer one.
pub async fn write(
    store: &Store,
    entries: &[(String, String, VisitorEntry)],
) -> ::redis::RedisResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut c = store.conn().await?;
    let mut pipe = ::redis::pipe();
    for (site, visitor, e) in entries {
        // EVAL (not EVALSHA): a pipeline cannot recover from a script cache miss, and the script is short.
        pipe.cmd("EVAL")
            .arg(KEEP_NEWEST)
            .arg(1)
            .arg(key(store, site, visitor))
            .arg(&e.session_id)
            .arg(e.last_seen_ms)
            .arg(e.lead_score)
            .arg(TTL_SECS);
    }
    pipe.query_async::<()>(&mut c).await
}

/// The entry of `visitor` at `site`, if any.
pub async fn read(
    store: &Store,
    site: &str,
    visitor: &str,
) -> ::redis::RedisResult<Option<VisitorEntry>> {
    let mut c = store.conn().await?;
    let m: std::collections::HashMap<String, String> = c.hgetall(key(store, site, visitor)).await?;
    Ok(m.get("session_id").map(|s| VisitorEntry {
        session_id: s.clone(),
        last_seen_ms: m
            .get("last_seen_ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        lead_score: m
            .get("lead_score")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }))
}
