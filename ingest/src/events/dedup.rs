//! Edge deduplication, in two steps so a crash cannot lose an event. A request first *claims* each client id
//! (per site) for 30 seconds, marked pending; once the broker acknowledged the event it *confirms* the claim
//! for 7 days with the event's id; if publishing failed it *releases* it. A later request with the same id
//! finds a confirmed claim (a duplicate: it learns the first event's id), a pending one (the first request is
//! in flight or died before confirming: the event is published again under the same deterministic id, which
//! ClickHouse deduplicates), or none (new).
//!
//! A claim is ~200 bytes whatever the id's length; the key's rate bounds how many a key can leave, and Redis
//! runs with `maxmemory-policy volatile-lru` (docs/local-stack.md), so a full Redis drops the least recently
//! used claims first, never the control plane; ids are deterministic, so ClickHouse still deduplicates an
//! event whose claim was evicted. One pipelined round trip per step, never one per event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use redis::RedisResult;

use opsmantik_runtime::redis::Store;

const PENDING_TTL_SECS: u64 = 30;
const CLAIM_TTL_SECS: u64 = 7 * 24 * 3600;
const PENDING: &str = "pending:";

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had the id: it is this request's now.
    New,
    /// Another request claimed it and has not confirmed (in flight, or died): publish again.
    Pending,
    /// An event with this id was accepted before: its event id.
    Done(String),
}

/// Where client-id claims live: [`RedisDedup`] for the edge, [`MemoryDedup`] for in-process tests.
pub trait DedupStore: Send + Sync + 'static {
    /// Claims each `(client_id, event_id)` as pending; says per claim what was there.
    fn claim<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<Vec<Claim>>>;
    /// Confirms `(client_id, event_id)` claims whose events the broker acknowledged.
    fn confirm<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<()>>;
    /// Gives claims back (their events were not stored), so a retry is not taken for a duplicate.
    fn release<'a>(
        &'a self,
        site: &'a str,
        client_ids: &'a [String],
    ) -> BoxFuture<'a, RedisResult<()>>;
}

/// What a stored claim value means.
fn read(value: Option<String>) -> Claim {
    match value {
        None => Claim::New,
        Some(v) if v.starts_with(PENDING) => Claim::Pending,
        Some(v) => Claim::Done(v),
    }
}

/// Claims in Redis.
#[derive(Debug, Clone)]
pub struct RedisDedup(pub Store);

impl RedisDedup {
    /// The claim's key: the client id's hash (128 bits), so every claim has the same small footprint however
    /// long the client's id is, and client-chosen text never becomes a Redis key name.
    fn key(&self, site: &str, client_id: &str) -> String {
        self.0
            .site_key("dedup", site, &crate::auth::sha256_hex(client_id)[..32])
    }

    async fn claim_all(&self, site: &str, claims: &[(String, String)]) -> RedisResult<Vec<Claim>> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.0.conn().await?;
        let mut pipe = redis::pipe();
        for (client_id, event_id) in claims {
            pipe.cmd("SET")
                .arg(self.key(site, client_id))
                .arg(format!("{PENDING}{event_id}"))
                .arg("NX")
                .arg("GET")
                .arg("EX")
                .arg(PENDING_TTL_SECS);
        }
        // `SET … NX GET` answers the value that was there (nil when the claim is new).
        let before: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
        Ok(before.into_iter().map(read).collect())
    }

    async fn confirm_all(&self, site: &str, claims: &[(String, String)]) -> RedisResult<()> {
        if claims.is_empty() {
            return Ok(());
        }
        let mut conn = self.0.conn().await?;
        let mut pipe = redis::pipe();
        for (client_id, event_id) in claims {
            pipe.cmd("SET")
                .arg(self.key(site, client_id))
                .arg(event_id)
                .arg("EX")
                .arg(CLAIM_TTL_SECS)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await
    }

    async fn release_all(&self, site: &str, client_ids: &[String]) -> RedisResult<()> {
        if client_ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.0.conn().await?;
        let mut pipe = redis::pipe();
        for c in client_ids {
            pipe.del(self.key(site, c)).ignore();
        }
        pipe.query_async::<()>(&mut conn).await
    }
}

impl DedupStore for RedisDedup {
    fn claim<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<Vec<Claim>>> {
        Box::pin(self.claim_all(site, claims))
    }
    fn confirm<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<()>> {
        Box::pin(self.confirm_all(site, claims))
    }
    fn release<'a>(
        &'a self,
        site: &'a str,
        client_ids: &'a [String],
    ) -> BoxFuture<'a, RedisResult<()>> {
        Box::pin(self.release_all(site, client_ids))
    }
}

/// Claims in memory: (site, client id) → stored value; no expiry.
#[derive(Debug, Clone, Default)]
pub struct MemoryDedup(Arc<Mutex<HashMap<(String, String), String>>>);

impl MemoryDedup {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(String, String), String>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl DedupStore for MemoryDedup {
    fn claim<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<Vec<Claim>>> {
        let out = self.with(|taken| {
            claims
                .iter()
                .map(|(client_id, event_id)| {
                    let k = (site.to_string(), client_id.clone());
                    let before = taken.get(&k).cloned();
                    taken
                        .entry(k)
                        .or_insert_with(|| format!("{PENDING}{event_id}"));
                    read(before)
                })
                .collect()
        });
        Box::pin(std::future::ready(Ok(out)))
    }
    fn confirm<'a>(
        &'a self,
        site: &'a str,
        claims: &'a [(String, String)],
    ) -> BoxFuture<'a, RedisResult<()>> {
        self.with(|taken| {
            for (c, id) in claims {
                taken.insert((site.to_string(), c.clone()), id.clone());
            }
        });
        Box::pin(std::future::ready(Ok(())))
    }
    fn release<'a>(
        &'a self,
        site: &'a str,
        client_ids: &'a [String],
    ) -> BoxFuture<'a, RedisResult<()>> {
        self.with(|taken| {
            for c in client_ids {
                taken.remove(&(site.to_string(), c.clone()));
            }
        });
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The claim lifecycle every [`DedupStore`] must follow — new, then pending until confirmed, then done; per
/// site; new again once released — checked against `d`. Run on the in-memory store by the unit tests and on
/// Redis by the end-to-end tests; the error says which step differed.
pub async fn check_lifecycle(d: &dyn DedupStore) -> Result<(), String> {
    let claim = [("k".to_string(), "e1".to_string())];
    let expect = |step: &str, got: RedisResult<Vec<Claim>>, want: Claim| match got {
        Ok(g) if g == [want.clone()] => Ok(()),
        other => Err(format!("{step}: got {other:?}, want [{want:?}]")),
    };
    expect("first claim", d.claim("s", &claim).await, Claim::New)?;
    expect("unconfirmed", d.claim("s", &claim).await, Claim::Pending)?;
    d.confirm("s", &claim).await.map_err(|e| e.to_string())?;
    expect(
        "confirmed",
        d.claim("s", &claim).await,
        Claim::Done("e1".into()),
    )?;
    expect("other site", d.claim("other", &claim).await, Claim::New)?;
    d.release("s", &["k".to_string()])
        .await
        .map_err(|e| e.to_string())?;
    expect("released", d.claim("s", &claim).await, Claim::New)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_claim_is_new_then_pending_then_done_once_confirmed() {
        assert_eq!(check_lifecycle(&MemoryDedup::default()).await, Ok(()));
    }
}
