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

type Reply<'a, T> = BoxFuture<'a, clickhouse::error::Result<T>>;

/// The analytics reads (see `queries` for what each returns).
pub trait AnalyticsStore: Send + Sync + 'static {
    fn totals<'a>(&'a self, site: &'a str, from: u32, to: u32, f: &'a Filter) -> Reply<'a, Totals>;
    fn per_bucket<'a>(
        &'a self,
        site: &'a str,
        period: Period,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, HashMap<u32, u64>>;
    fn by_type<'a>(
        &'a self,
        site: &'a str,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, Vec<TypeCount>>;
    fn top_users<'a>(
        &'a self,
        site: &'a str,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, Vec<UserCount>>;
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
    fn totals<'a>(&'a self, site: &'a str, from: u32, to: u32, f: &'a Filter) -> Reply<'a, Totals> {
        Box::pin(queries::totals(&self.clickhouse, site, from, to, f))
    }
    fn per_bucket<'a>(
        &'a self,
        site: &'a str,
        period: Period,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, HashMap<u32, u64>> {
        Box::pin(queries::per_bucket(
            &self.clickhouse,
            site,
            period,
            from,
            to,
            f,
        ))
    }
    fn by_type<'a>(
        &'a self,
        site: &'a str,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, Vec<TypeCount>> {
        Box::pin(queries::by_type(&self.clickhouse, site, from, to, f))
    }
    fn top_users<'a>(
        &'a self,
        site: &'a str,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, Vec<UserCount>> {
        Box::pin(queries::top_users(&self.clickhouse, site, from, to, f))
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

impl AnalyticsStore for MemoryAnalytics {
    fn totals<'a>(&'a self, site: &'a str, from: u32, to: u32, f: &'a Filter) -> Reply<'a, Totals> {
        let rows = self.select(site, from, to, f);
        ready(Totals {
            events: rows.len() as u64,
            users: distinct(rows.iter().map(|e| e.user_id.as_str())),
            sessions: distinct(rows.iter().map(|e| e.session_id.as_str())),
        })
    }
    fn per_bucket<'a>(
        &'a self,
        site: &'a str,
        period: Period,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, HashMap<u32, u64>> {
        let b = i64::from(period.bucket_secs());
        let mut counts = HashMap::new();
        for e in self.select(site, from, to, f) {
            let start = e.timestamp_ms.div_euclid(1000) / b * b;
            *counts.entry(start as u32).or_insert(0) += 1;
        }
        ready(counts)
    }
    fn by_type<'a>(
        &'a self,
        site: &'a str,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, Vec<TypeCount>> {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for e in self.select(site, from, to, f) {
            *counts.entry(e.event_name).or_insert(0) += 1;
        }
        let mut out: Vec<TypeCount> = counts
            .into_iter()
            .map(|(event_name, events)| TypeCount { event_name, events })
            .collect();
        out.sort_by(|a, b| (b.events, &a.event_name).cmp(&(a.events, &b.event_name)));
        ready(out)
    }
    fn top_users<'a>(
        &'a self,
        site: &'a str,
        from: u32,
        to: u32,
        f: &'a Filter,
    ) -> Reply<'a, Vec<UserCount>> {
        let mut users: HashMap<String, UserCount> = HashMap::new();
        for e in self
            .select(site, from, to, f)
            .into_iter()
            .filter(|e| !e.user_id.is_empty())
        {
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
        ready(out)
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
