//! What the call queue reads and writes, as a seam: the call ledger in Redis (the current version of each
//! call, changed by compare-and-set; `opsmantik_runtime::call_ledger`) and the matched sessions in ClickHouse.
//! [`LiveCalls`] is the real one; [`MemoryCalls`] keeps the same rules in memory for in-process tests
//! (`check_ledger` holds both to them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use opsmantik_runtime::call_ledger::{self, CONFIRMED};
use opsmantik_runtime::redis::Store;
use opsmantik_schemas::CallRecord;
use serde::{Deserialize, Serialize};

/// A read or write that failed in Redis or ClickHouse.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

type Reply<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

impl From<StoreError> for crate::http::error::ApiError {
    fn from(e: StoreError) -> Self {
        Self::unavailable(crate::http::error::Shape::Control, "store_unavailable", &e)
    }
}

/// What the queue shows of a call's matched session, and what auto-approval weighs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct SessionFacts {
    pub session_id: String,
    pub entry_url: String,
    pub referrer: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_term: String,
    pub utm_content: String,
    pub gclid: String,
    pub wbraid: String,
    pub gbraid: String,
    pub device: String,
    pub browser: String,
    pub os: String,
    pub geo_country: String,
    pub started_at: u32,
    pub pageviews: i64,
    pub events: i64,
    pub active_sec: i64,
    pub duration_sec: i64,
}

/// The call queue's storage.
pub trait CallStore: Send + Sync + 'static {
    /// The call `id`'s current version.
    fn get<'a>(&'a self, id: &'a str) -> Reply<'a, Option<CallRecord>>;
    /// Stores `next` if the call is still at version `expected`; else `Err(current version)`.
    fn replace<'a>(&'a self, expected: i64, next: &'a CallRecord) -> Reply<'a, Result<(), i64>>;
    /// The site's calls created in `[from, to]` (ms), newest first, after skipping `skip`, at most `limit`.
    fn created_between<'a>(
        &'a self,
        site: &'a str,
        range: (i64, i64),
        skip: usize,
        limit: usize,
    ) -> Reply<'a, Vec<CallRecord>>;
    /// The site's calls confirmed in `[from, to)` (ms), oldest first.
    fn confirmed_between<'a>(
        &'a self,
        site: &'a str,
        range: (i64, i64),
    ) -> Reply<'a, Vec<CallRecord>>;
    /// The latest state of the site's sessions `ids`.
    fn sessions<'a>(
        &'a self,
        site: &'a str,
        ids: &'a [String],
    ) -> Reply<'a, HashMap<String, SessionFacts>>;
}

/// Redis for the calls, ClickHouse for the sessions.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // the ClickHouse client has no Debug
pub struct LiveCalls {
    pub redis: Store,
    pub clickhouse: clickhouse::Client,
}

const SESSIONS: &str =
    "SELECT session_id, entry_url, referrer, utm_source, utm_medium, utm_campaign, \
     utm_term, utm_content, gclid, wbraid, gbraid, device, browser, os, geo_country, \
     toUInt32(started_at) AS started_at, pageviews, events, active_sec, duration_sec \
     FROM sessions FINAL WHERE site = ? AND has(?, session_id)";

impl CallStore for LiveCalls {
    fn get<'a>(&'a self, id: &'a str) -> Reply<'a, Option<CallRecord>> {
        Box::pin(async move { Ok(call_ledger::get(&self.redis, id).await?) })
    }

    fn replace<'a>(&'a self, expected: i64, next: &'a CallRecord) -> Reply<'a, Result<(), i64>> {
        Box::pin(async move { Ok(call_ledger::replace(&self.redis, expected, next).await?) })
    }

    fn created_between<'a>(
        &'a self,
        site: &'a str,
        range: (i64, i64),
        skip: usize,
        limit: usize,
    ) -> Reply<'a, Vec<CallRecord>> {
        Box::pin(async move {
            Ok(call_ledger::created_between(&self.redis, site, range, skip, limit).await?)
        })
    }

    fn confirmed_between<'a>(
        &'a self,
        site: &'a str,
        range: (i64, i64),
    ) -> Reply<'a, Vec<CallRecord>> {
        Box::pin(async move { Ok(call_ledger::confirmed_between(&self.redis, site, range).await?) })
    }

    fn sessions<'a>(
        &'a self,
        site: &'a str,
        ids: &'a [String],
    ) -> Reply<'a, HashMap<String, SessionFacts>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            let rows: Vec<SessionFacts> = self
                .clickhouse
                .query(SESSIONS)
                .bind(site)
                .bind(ids)
                .fetch_all()
                .await?;
            Ok(rows
                .into_iter()
                .map(|s| (s.session_id.clone(), s))
                .collect())
        })
    }
}

/// The same rules over memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryCalls {
    calls: Arc<Mutex<HashMap<String, CallRecord>>>,
    sessions: Arc<Mutex<HashMap<(String, String), SessionFacts>>>,
}

impl MemoryCalls {
    /// A call as the call-matcher's record enters the ledger (kept unless a newer version is there).
    pub fn absorb(&self, call: CallRecord) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let newer = calls
            .get(&call.call_id)
            .is_none_or(|c| c.version < call.version);
        if newer {
            calls.insert(call.call_id.clone(), call);
        }
    }

    /// A session the queue can show.
    pub fn add_session(&self, site: &str, facts: SessionFacts) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((site.to_string(), facts.session_id.clone()), facts);
    }

    fn all(&self, site: &str) -> Vec<CallRecord> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.values().filter(|c| c.site == site).cloned().collect()
    }
}

impl CallStore for MemoryCalls {
    fn get<'a>(&'a self, id: &'a str) -> Reply<'a, Option<CallRecord>> {
        let found = self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn replace<'a>(&'a self, expected: i64, next: &'a CallRecord) -> Reply<'a, Result<(), i64>> {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let current = calls.get(&next.call_id).map_or(-1, |c| c.version);
        let outcome = if current == expected {
            calls.insert(next.call_id.clone(), next.clone());
            Ok(())
        } else {
            Err(current)
        };
        Box::pin(async move { Ok(outcome) })
    }

    fn created_between<'a>(
        &'a self,
        site: &'a str,
        (from, to): (i64, i64),
        skip: usize,
        limit: usize,
    ) -> Reply<'a, Vec<CallRecord>> {
        let mut calls: Vec<_> = self
            .all(site)
            .into_iter()
            .filter(|c| (from..=to).contains(&c.created_at))
            .collect();
        // Redis orders equal scores by member; newest first reverses both.
        calls.sort_by(|a, b| (b.created_at, &b.call_id).cmp(&(a.created_at, &a.call_id)));
        let page = calls.into_iter().skip(skip).take(limit).collect();
        Box::pin(async move { Ok(page) })
    }

    fn confirmed_between<'a>(
        &'a self,
        site: &'a str,
        (from, to): (i64, i64),
    ) -> Reply<'a, Vec<CallRecord>> {
        let mut calls: Vec<_> = self
            .all(site)
            .into_iter()
            .filter(|c| CONFIRMED.contains(&c.status.as_str()))
            .filter(|c| c.confirmed_at.is_some_and(|t| (from..to).contains(&t)))
            .collect();
        calls.sort_by(|a, b| (a.confirmed_at, &a.call_id).cmp(&(b.confirmed_at, &b.call_id)));
        Box::pin(async move { Ok(calls) })
    }

    fn sessions<'a>(
        &'a self,
        site: &'a str,
        ids: &'a [String],
    ) -> Reply<'a, HashMap<String, SessionFacts>> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let found = ids
            .iter()
            .filter_map(|id| sessions.get(&(site.to_string(), id.clone())))
            .map(|s| (s.session_id.clone(), s.clone()))
            .collect();
        Box::pin(async move { Ok(found) })
    }
}

/// Enters a call the way the overlay does (for [`check_ledger`]).
pub type Absorb<'a> = &'a (dyn Fn(CallRecord) -> BoxFuture<'static, Result<(), String>> + Sync);

fn expect(ok: bool, what: &str) -> Result<(), String> {
    ok.then_some(()).ok_or_else(|| what.to_string())
}

/// The ledger's rules, run on both stores (the Redis run is in the end-to-end tests).
pub async fn check_ledger(
    store: &dyn CallStore,
    absorb: Absorb<'_>,
    site: &str,
) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    let call = |id: &str, created: i64| CallRecord {
        call_id: id.into(),
        version: 1,
        site: site.into(),
        status: "intent".into(),
        created_at: created,
        ..CallRecord::default()
    };
    for (id, at) in [("a", 1_000), ("b", 2_000), ("c", 3_000)] {
        absorb(call(id, at)).await?;
    }
    let newest: Vec<_> = store
        .created_between(site, (0, i64::MAX), 0, 10)
        .await
        .map_err(e)?;
    let ids: Vec<_> = newest.iter().map(|c| c.call_id.as_str()).collect();
    expect(ids == ["c", "b", "a"], "newest first")?;
    let page = store
        .created_between(site, (0, 2_000), 1, 1)
        .await
        .map_err(e)?;
    expect(
        page.len() == 1 && page[0].call_id == "a",
        "bounded and paged",
    )?;
    let mut confirmed = call("b", 2_000);
    (confirmed.version, confirmed.status, confirmed.confirmed_at) =
        (2, "confirmed".into(), Some(5_000));
    expect(
        store.replace(2, &confirmed).await.map_err(e)? == Err(1),
        "not at version 2",
    )?;
    expect(
        store.replace(1, &confirmed).await.map_err(e)? == Ok(()),
        "compare-and-set",
    )?;
    let lost = store.replace(1, &confirmed).await.map_err(e)?;
    expect(lost == Err(2), "the loser learns the version")?;
    absorb(call("b", 2_000)).await?;
    let b = store.get("b").await.map_err(e)?;
    expect(
        b.is_some_and(|b| b.version == 2),
        "an older version is skipped",
    )?;
    let day = store
        .confirmed_between(site, (5_000, 5_001))
        .await
        .map_err(e)?;
    expect(day.len() == 1, "confirmed that day")?;
    let before = store.confirmed_between(site, (0, 5_000)).await.map_err(e)?;
    expect(before.is_empty(), "the end is excluded")?;
    let mut junk = confirmed.clone();
    (junk.version, junk.status, junk.confirmed_at) = (3, "junk".into(), None);
    expect(
        store.replace(2, &junk).await.map_err(e)? == Ok(()),
        "junked",
    )?;
    let none = store
        .confirmed_between(site, (0, i64::MAX))
        .await
        .map_err(e)?;
    expect(none.is_empty(), "no longer confirmed")?;
    expect(
        store.get("nope").await.map_err(e)?.is_none(),
        "unknown call",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_ledger_keeps_the_rules() {
        let m = MemoryCalls::default();
        let handle = m.clone();
        let absorb = move |c| {
            handle.absorb(c);
            Box::pin(async { Ok(()) }) as BoxFuture<'static, Result<(), String>>
        };
        assert_eq!(check_ledger(&m, &absorb, "s").await, Ok(()));
    }
}
