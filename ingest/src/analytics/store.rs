//! What the product-event analytics read, as a seam: the ClickHouse queries and the short response cache.
//! [`ClickHouseAnalytics`] is the real one (ClickHouse + Redis); [`MemoryAnalytics`] answers the same reads
//! over events kept in memory (deduplicated by id, like `uniqExact(event_id)`), for in-process tests.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clickhouse::Client;
use futures::future::BoxFuture;
use opsmantik_runtime::redis::Store;
use redis::AsyncCommands;
use serde_json::Value;

use super::buckets::Period;
use super::queries::{self, Filter, Ingestion, Totals, TypeCount, UserCount};
use super::rollup;

type Reply<'a, T> = BoxFuture<'a, clickhouse::error::Result<T>>;

/// One window of product events, as an analytics answer asks for it.
#[derive(Debug, Clone, Copy)]
pub struct WindowQuery<'a> {
    pub site: &'a str,
    pub period: Period,
    /// Seconds, inclusive: `from` is the first bucket's start, `to` now.
    pub from: u32,
    pub to: u32,
    pub filter: &'a Filter,
    /// Whether the answer lists top users (seed 003) or not (seed 002).
    pub top_users: bool,
}

/// What a window holds: totals, event counts per bucket start (non-empty buckets only), per name, top users.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    pub totals: Totals,
    pub buckets: HashMap<u32, u64>,
    pub by_type: Vec<TypeCount>,
    pub top_users: Vec<UserCount>,
}

/// The analytics reads (see `rollup` and `queries` for how each is answered).
pub trait AnalyticsStore: Send + Sync + 'static {
    fn window<'a>(&'a self, q: &'a WindowQuery<'a>) -> Reply<'a, Window>;
    fn ingestion<'a>(&'a self, site: &'a str, now: u32) -> Reply<'a, Ingestion>;
    /// A cached response, if fresh (best effort: a slow or absent cache is a miss).
    fn cached<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Value>>;
    /// Caches a response for `secs` (best effort).
    fn cache<'a>(&'a self, key: &'a str, value: &'a Value, secs: u64) -> BoxFuture<'a, ()>;
}

/// ClickHouse for the reads, Redis for the cache.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // the ClickHouse client has no Debug
pub struct ClickHouseAnalytics {
    pub clickhouse: Client,
    pub redis: Store,
}

const CACHE_WAIT: Duration = Duration::from_millis(500);

impl AnalyticsStore for ClickHouseAnalytics {
    fn window<'a>(&'a self, q: &'a WindowQuery<'a>) -> Reply<'a, Window> {
        Box::pin(rollup::window(&self.clickhouse, q, rollup::RAW_BELOW))
    }
    fn ingestion<'a>(&'a self, site: &'a str, now: u32) -> Reply<'a, Ingestion> {
        Box::pin(queries::ingestion(&self.clickhouse, site, now))
    }
    fn cached<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Value>> {
        Box::pin(async move {
            let mut c = tokio::time::timeout(CACHE_WAIT, self.redis.conn())
                .await
                .ok()?
                .ok()?;
            let raw: Option<String> = c.get(key).await.ok()?;
            raw.and_then(|r| serde_json::from_str(&r).ok())
        })
    }
    fn cache<'a>(&'a self, key: &'a str, value: &'a Value, secs: u64) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Ok(Ok(mut c)) = tokio::time::timeout(CACHE_WAIT, self.redis.conn()).await {
                let _: Result<(), _> = c.set_ex(key, value.to_string(), secs).await;
            }
        })
    }
}

/// One product event as the analytics see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemoryEvent {
    pub site: String,
    pub event_id: String,
    pub event_name: String,
    pub user_id: String,
    pub session_id: String,
    pub timestamp_ms: i64,
    pub received_ms: i64,
}

#[derive(Debug, Default)]
struct Tables {
    events: Vec<MemoryEvent>,
    cache: HashMap<String, Value>,
}

/// Product events and the cache in memory (no expiry).
#[derive(Debug, Clone, Default)]
pub struct MemoryAnalytics(Arc<Mutex<Tables>>);

fn ready<'a, T: Send + 'a>(value: T) -> Reply<'a, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl MemoryAnalytics {
    /// Stores an event (what the sink would have inserted).
    pub fn insert(&self, event: MemoryEvent) {
        self.tables().events.push(event);
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The site's events in `[from, to]` (seconds) matching `f`, one per event id.
    fn select(&self, site: &str, from: u32, to: u32, f: &Filter) -> Vec<MemoryEvent> {
        let mut seen = BTreeSet::new();
        self.tables()
            .events
            .iter()
            .filter(|e| {
                let t = e.timestamp_ms.div_euclid(1000);
                e.site == site
                    && t >= i64::from(from)
                    && t <= i64::from(to)
                    && f.event_name.as_ref().is_none_or(|n| *n == e.event_name)
                    && f.user_contains
                        .as_ref()
                        .is_none_or(|u| e.user_id.contains(u.as_str()))
            })
            .filter(|e| seen.insert(e.event_id.clone()))
            .cloned()
            .collect()
    }
}

fn distinct<'e>(items: impl Iterator<Item = &'e str>) -> u64 {
    items
        .filter(|s| !s.is_empty())
        .collect::<BTreeSet<_>>()
        .len() as u64
}

/// The ten users with the most events, most first.
fn top_users(rows: Vec<MemoryEvent>) -> Vec<UserCount> {
    let mut users: HashMap<String, UserCount> = HashMap::new();
    for e in rows.into_iter().filter(|e| !e.user_id.is_empty()) {
        let u = users.entry(e.user_id.clone()).or_insert_with(|| UserCount {
            user_id: e.user_id.clone(),
            events: 0,
            last_ms: i64::MIN,
            types: Vec::new(),
        });
        u.events += 1;
        u.last_ms = u.last_ms.max(e.timestamp_ms);
        if !u.types.contains(&e.event_name) {
            u.types.push(e.event_name);
        }
    }
    let mut out: Vec<UserCount> = users.into_values().collect();
    out.sort_by(|a, b| (b.events, &a.user_id).cmp(&(a.events, &b.user_id)));
    out.truncate(10);
    out
}

impl AnalyticsStore for MemoryAnalytics {
    fn window<'a>(&'a self, q: &'a WindowQuery<'a>) -> Reply<'a, Window> {
        let rows = self.select(q.site, q.from, q.to, q.filter);
        let b = i64::from(q.period.bucket_secs());
        let mut buckets = HashMap::new();
        let mut names: HashMap<String, u64> = HashMap::new();
        for e in &rows {
            let start = e.timestamp_ms.div_euclid(1000) / b * b;
            *buckets.entry(start as u32).or_insert(0) += 1;
            *names.entry(e.event_name.clone()).or_insert(0) += 1;
        }
        let by_type = TypeCount::ranked(names);
        ready(Window {
            totals: Totals {
                events: rows.len() as u64,
                users: distinct(rows.iter().map(|e| e.user_id.as_str())),
                sessions: distinct(rows.iter().map(|e| e.session_id.as_str())),
            },
            buckets,
            by_type,
            top_users: if q.top_users {
                top_users(rows)
            } else {
                Vec::new()
            },
        })
    }
    fn ingestion<'a>(&'a self, site: &'a str, now: u32) -> Reply<'a, Ingestion> {
        let all = self.select(site, 0, u32::MAX, &Filter::default());
        let since = i64::from(now.saturating_sub(60));
        let last_minute = all
            .iter()
            .filter(|e| e.received_ms.div_euclid(1000) > since)
            .count();
        ready(Ingestion {
            total: all.len() as u64,
            last_minute: last_minute as u64,
        })
    }
    fn cached<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Value>> {
        let hit = self.tables().cache.get(key).cloned();
        Box::pin(std::future::ready(hit))
    }
    fn cache<'a>(&'a self, key: &'a str, value: &'a Value, _secs: u64) -> BoxFuture<'a, ()> {
        self.tables().cache.insert(key.to_string(), value.clone());
        Box::pin(std::future::ready(()))
    }
}
