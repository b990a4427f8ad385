//! Reads of call-flow events from ClickHouse (`callflow_events`, deduplicated with `FINAL`). Writes go
//! through the broker and the ClickHouse sink, so a stored event is readable about a second later.
//! [`CallflowReader`] is the seam: [`ClickHouseCallflow`] for the edge, [`MemoryCallflow`] for in-process
//! tests.

use std::sync::{Arc, Mutex};

use clickhouse::Client;
use futures::future::BoxFuture;
use serde::Deserialize;

/// Reads of stored call-flow events.
pub trait CallflowReader: Send + Sync + 'static {
    /// Up to `limit` events of `site` matching `q`, after `after`, in (timestamp, event id) order.
    fn list<'a>(
        &'a self,
        site: &'a str,
        q: &'a ListQuery,
        after: Option<&'a Cursor>,
        limit: usize,
    ) -> BoxFuture<'a, clickhouse::error::Result<Vec<StoredEvent>>>;
    /// The event `event_id` of `site`, if stored.
    fn get<'a>(
        &'a self,
        site: &'a str,
        event_id: &'a str,
    ) -> BoxFuture<'a, clickhouse::error::Result<Option<StoredEvent>>>;
}

/// The `callflow_events` table.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // the ClickHouse client has no Debug
pub struct ClickHouseCallflow(pub Client);

impl CallflowReader for ClickHouseCallflow {
    fn list<'a>(
        &'a self,
        site: &'a str,
        q: &'a ListQuery,
        after: Option<&'a Cursor>,
        limit: usize,
    ) -> BoxFuture<'a, clickhouse::error::Result<Vec<StoredEvent>>> {
        Box::pin(list(&self.0, site, q, after, limit))
    }
    fn get<'a>(
        &'a self,
        site: &'a str,
        event_id: &'a str,
    ) -> BoxFuture<'a, clickhouse::error::Result<Option<StoredEvent>>> {
        Box::pin(get(&self.0, site, event_id))
    }
}

/// Stored events in memory, as (site, event); the same filters and order as the table's reads.
#[derive(Debug, Clone, Default)]
pub struct MemoryCallflow(Arc<Mutex<Vec<(String, StoredEvent)>>>);

impl MemoryCallflow {
    /// Stores `event` for `site` (what the sink would have inserted).
    pub fn insert(&self, site: &str, event: StoredEvent) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((site.to_string(), event));
    }

    fn matching(&self, keep: impl Fn(&str, &StoredEvent) -> bool) -> Vec<StoredEvent> {
        let rows = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<StoredEvent> = rows
            .iter()
            .filter(|(s, e)| keep(s, e))
            .map(|(_, e)| e.clone())
            .collect();
        out.sort_by(|a, b| (a.timestamp_ms, &a.event_id).cmp(&(b.timestamp_ms, &b.event_id)));
        out.dedup_by(|a, b| a.event_id == b.event_id);
        out
    }
}

impl CallflowReader for MemoryCallflow {
    fn list<'a>(
        &'a self,
        site: &'a str,
        q: &'a ListQuery,
        after: Option<&'a Cursor>,
        limit: usize,
    ) -> BoxFuture<'a, clickhouse::error::Result<Vec<StoredEvent>>> {
        let mut rows = self.matching(|s, e| {
            s == site
                && q.call_id.as_ref().is_none_or(|c| *c == e.call_id)
                && q.event_type.as_ref().is_none_or(|t| *t == e.event_type)
                && q.start_ms.is_none_or(|t| e.timestamp_ms >= t)
                && q.end_ms.is_none_or(|t| e.timestamp_ms <= t)
                && after.is_none_or(|c| {
                    (e.timestamp_ms, e.event_id.as_str()) > (c.timestamp_ms, c.event_id.as_str())
                })
        });
        rows.truncate(limit);
        Box::pin(std::future::ready(Ok(rows)))
    }
    fn get<'a>(
        &'a self,
        site: &'a str,
        event_id: &'a str,
    ) -> BoxFuture<'a, clickhouse::error::Result<Option<StoredEvent>>> {
        let found = self.matching(|s, e| s == site && e.event_id == event_id);
        Box::pin(std::future::ready(Ok(found.into_iter().next())))
    }
}

use super::token::Cursor;
use super::validate::ListQuery;

/// One stored event.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct StoredEvent {
    pub call_id: String,
    pub timestamp_ms: i64,
    pub event_id: String,
    pub event_type: String,
    pub metadata_json: String,
    pub created_at_ms: i64,
}

const COLUMNS: &str = "call_id, timestamp_ms, event_id, event_type, metadata_json, created_at_ms";

enum Arg {
    Text(String),
    Int(i64),
}

async fn list(
    client: &Client,
    site: &str,
    q: &ListQuery,
    after: Option<&Cursor>,
    limit: usize,
) -> clickhouse::error::Result<Vec<StoredEvent>> {
    let mut conditions = vec!["site = ?"];
    let mut args = vec![Arg::Text(site.to_string())];
    if let Some(c) = &q.call_id {
        conditions.push("call_id = ?");
        args.push(Arg::Text(c.clone()));
    }
    if let Some(t) = &q.event_type {
        conditions.push("event_type = ?");
        args.push(Arg::Text(t.clone()));
    }
    if let Some(s) = q.start_ms {
        conditions.push("timestamp_ms >= ?");
        args.push(Arg::Int(s));
    }
    if let Some(e) = q.end_ms {
        conditions.push("timestamp_ms <= ?");
        args.push(Arg::Int(e));
    }
    if let Some(c) = after {
        conditions.push("(timestamp_ms > ? OR (timestamp_ms = ? AND event_id > ?))");
        args.extend([
            Arg::Int(c.timestamp_ms),
            Arg::Int(c.timestamp_ms),
            Arg::Text(c.event_id.clone()),
        ]);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM callflow_events FINAL WHERE {} ORDER BY timestamp_ms, event_id LIMIT {limit}",
        conditions.join(" AND ")
    );
    let mut query = client.query(&sql);
    for a in args {
        query = match a {
            Arg::Text(s) => query.bind(s),
            Arg::Int(n) => query.bind(n),
        };
    }
    query.fetch_all().await
}

async fn get(
    client: &Client,
    site: &str,
    event_id: &str,
) -> clickhouse::error::Result<Option<StoredEvent>> {
    client
        .query(&format!(
            "SELECT {COLUMNS} FROM callflow_events FINAL WHERE site = ? AND event_id = ? LIMIT 1"
        ))
        .bind(site)
        .bind(event_id)
        .fetch_optional()
        .await
}
