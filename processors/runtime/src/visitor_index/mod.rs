//! The visitor index in Redis: site + visitor → the visitor's latest session, its last activity (event time)
//! and its lead score. Written by the Redis overlay from the sessions topic; read by the edge to answer a hit
//! or a call event synchronously with the visitor's score. Keys carry the site as hash tag and expire after
//! two days idle.
//!
//! Every write is also published on a Redis channel ([`updates_channel`]); each edge keeps a [`Replica`] of
//! the entries it has met, kept current from that channel, so answering a hit costs no Redis round trip.

mod replica;

pub use replica::Replica;

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

/// The channel every write of the index is announced on (under the store's prefix).
pub fn updates_channel(store: &Store) -> String {
    store.key(&["visitor_index", "updates"])
}

/// One announced write: `[site, visitor, session_id, last_seen_ms, lead_score]`.
type Update = (String, String, String, i64, i32);

/// Writes many entries in one pipelined round trip, and announces them on [`updates_channel`] in the same
/// round trip. An entry never moves back in time: a replayed older session state does not overwrite a newer
/// one (replicas apply the same rule).
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
    let updates: Vec<Update> = entries
        .iter()
        .map(|(site, visitor, e)| {
            let (session, seen, score) = (e.session_id.clone(), e.last_seen_ms, e.lead_score);
            (site.clone(), visitor.clone(), session, seen, score)
        })
        .collect();
    let announced = serde_json::to_string(&updates).unwrap_or_default();
    pipe.cmd("PUBLISH")
        .arg(updates_channel(store))
        .arg(announced);
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
