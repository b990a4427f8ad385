//! Edge deduplication: the first event with a given client id (per site) claims it in Redis for 7 days;
//! later ones learn the first one's event id. A claim is ~200 bytes whatever the id's length; the key's
//! rate bounds how many a key can leave, and Redis runs with `maxmemory-policy volatile-lru`
//! (docs/local-stack.md), so a full Redis drops the least recently used claims first, never the control
//! plane; ids are deterministic, so ClickHouse still deduplicates an event whose claim was evicted. One pipelined round trip per request (two when there are
//! duplicates), never one per event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use redis::RedisResult;

use opsmantik_runtime::redis::Store;

/// Where client-id claims live: [`RedisDedup`] for the edge, [`MemoryDedup`] for in-process tests.
pub trait DedupStore: Send + Sync + 'static {
    /// Claims each `(client_id, event_id)`; per claim `None` when new, else the earlier event's id.
    fn claim<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<Vec<Option<String>>>>;
    /// Gives claims back (their events were not stored).
    fn release<'a>(
        &'a self,
        site: &'a str,
        client_ids: &'a [String],
    ) -> BoxFuture<'a, RedisResult<()>>;
}

/// Claims in Redis.
#[derive(Debug, Clone)]
pub struct RedisDedup(pub Store);

impl DedupStore for RedisDedup {
    fn claim<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<Vec<Option<String>>>> {
        Box::pin(claim(&self.0, site, claims))
    }
    fn release<'a>(
        &'a self,
        site: &'a str,
        client_ids: &'a [String],
    ) -> BoxFuture<'a, RedisResult<()>> {
        Box::pin(release(&self.0, site, client_ids))
    }
}

/// Claims in memory: (site, client id) → event id; no expiry.
#[derive(Debug, Clone, Default)]
pub struct MemoryDedup(Arc<Mutex<HashMap<(String, String), String>>>);

impl DedupStore for MemoryDedup {
    fn claim<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<Vec<Option<String>>>> {
        let mut taken = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let out = claims
            .iter()
            .map(|(client_id, event_id)| {
                let k = (site.to_string(), client_id.clone());
                match taken.get(&k) {
                    Some(earlier) => Some(earlier.clone()),
                    None => {
                        taken.insert(k, event_id.clone());
                        None
                    }
                }
            })
            .collect();
        Box::pin(std::future::ready(Ok(out)))
    }
    fn release<'a>(
        &'a self,
        site: &'a str,
        client_ids: &'a [String],
    ) -> BoxFuture<'a, RedisResult<()>> {
        let mut taken = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for c in client_ids {
            taken.remove(&(site.to_string(), c.clone()));
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

const CLAIM_TTL_SECS: u64 = 7 * 24 * 3600;

/// The claim's key: the client id's hash (128 bits), so every claim has the same small footprint however
/// long the client's id is, and client-chosen text never becomes a Redis key name.
fn key(store: &Store, site: &str, client_id: &str) -> String {
    store.site_key("dedup", site, &crate::auth::sha256_hex(client_id)[..32])
}

/// Claims each `(client_id, event_id)`; returns, per claim, `None` when it is new, or the event id of the
/// earlier event with that client id.
async fn claim(
    store: &Store,
    site: &str,
    claims: &[(String, String)],
) -> RedisResult<Vec<Option<String>>> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = store.conn().await?;
    let mut pipe = redis::pipe();
    for (client_id, event_id) in claims {
        pipe.cmd("SET")
            .arg(key(store, site, client_id))
            .arg(event_id)
            .arg("NX")
            .arg("EX")
            .arg(CLAIM_TTL_SECS);
    }
    let set: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
    let taken: Vec<usize> = set
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_none())
        .map(|(i, _)| i)
        .collect();
    let mut out = vec![None; claims.len()];
    if taken.is_empty() {
        return Ok(out);
    }
    let mut pipe = redis::pipe();
    for &i in &taken {
        pipe.get(key(store, site, &claims[i].0));
    }
    let earlier: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
    for (i, id) in taken.into_iter().zip(earlier) {
        // A claim that expired between the two calls counts as the earlier event's own id.
        out[i] = Some(id.unwrap_or_else(|| claims[i].1.clone()));
    }
    Ok(out)
}

/// Gives claims back (their events were not stored), so a retry is not taken for a duplicate.
async fn release(store: &Store, site: &str, client_ids: &[String]) -> RedisResult<()> {
    if client_ids.is_empty() {
        return Ok(());
    }
    let mut conn = store.conn().await?;
    let mut pipe = redis::pipe();
    for c in client_ids {
        pipe.del(key(store, site, c));
    }
    pipe.query_async::<()>(&mut conn).await
}
