//! Reads of call-flow events from ClickHouse (`callflow_events`, deduplicated with `FINAL`). Writes go
//! through the broker and the ClickHouse sink, so a stored event is readable about a second later.

use clickhouse::Client;
use serde::Deserialize;

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

/// Up to `limit` events of `site` matching `q`, after `after`, in (timestamp, event id) order.
pub async fn list(
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

/// The event `event_id` of `site`, if stored.
pub async fn get(
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
