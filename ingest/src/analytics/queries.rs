//! The analytics SQL (ClickHouse 18.16 and current): every query filters by site and an event-time window
//! and counts `uniqExact(event_id)`, so a replayed event never counts twice.

use std::collections::HashMap;

use clickhouse::Client;
use serde::Deserialize;

use super::buckets::Period;

/// Optional filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub event_name: Option<String>,
    /// Substring of the user id.
    pub user_contains: Option<String>,
}

/// `site = ? AND {column} in [from, to]` plus the filter, and the strings to bind, in order (`column`: the raw
/// rows' `event_time`, or a rollup's `quarter`/`hour`). The window bounds are numbers the edge computed,
/// written into the SQL; everything from the client is bound.
pub(super) fn where_clause(
    column: &str,
    site: &str,
    from: u32,
    to: u32,
    f: &Filter,
) -> (String, Vec<String>) {
    let mut sql =
        format!("site = ? AND {column} >= toDateTime({from}) AND {column} <= toDateTime({to})");
    let mut args = vec![site.to_string()];
    if let Some(n) = &f.event_name {
        sql.push_str(" AND event_name = ?");
        args.push(n.clone());
    }
    if let Some(u) = &f.user_contains {
        sql.push_str(" AND position(user_id, ?) > 0");
        args.push(u.clone());
    }
    (sql, args)
}

pub(super) async fn fetch<T>(
    client: &Client,
    sql: &str,
    args: Vec<String>,
) -> clickhouse::error::Result<Vec<T>>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    let mut q = client.query(sql);
    for a in args {
        q = q.bind(a);
    }
    q.fetch_all().await
}

#[derive(Debug, Clone, Default, PartialEq, clickhouse::Row, Deserialize)]
pub struct Totals {
    pub events: u64,
    pub users: u64,
    pub sessions: u64,
}

pub async fn totals(
    client: &Client,
    site: &str,
    from: u32,
    to: u32,
    f: &Filter,
) -> clickhouse::error::Result<Totals> {
    let (sql, args) = totals_sql(site, from, to, f);
    Ok(fetch(client, &sql, args).await?.pop().unwrap_or_default())
}

pub(super) fn totals_sql(site: &str, from: u32, to: u32, f: &Filter) -> (String, Vec<String>) {
    let (w, args) = where_clause("event_time", site, from, to, f);
    let sql = format!(
        "SELECT uniqExact(event_id) AS events, uniqExactIf(user_id, user_id != '') AS users, \
         uniqExactIf(session_id, session_id != '') AS sessions FROM product_events WHERE {w}"
    );
    (sql, args)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
struct BucketCount {
    bucket: u32,
    events: u64,
}

/// Event counts per bucket start (only non-empty buckets).
pub async fn per_bucket(
    client: &Client,
    site: &str,
    period: Period,
    from: u32,
    to: u32,
    f: &Filter,
) -> clickhouse::error::Result<HashMap<u32, u64>> {
    let (sql, args) = per_bucket_sql(site, period, from, to, f);
    let rows: Vec<BucketCount> = fetch(client, &sql, args).await?;
    Ok(rows.into_iter().map(|r| (r.bucket, r.events)).collect())
}

pub(super) fn per_bucket_sql(
    site: &str,
    period: Period,
    from: u32,
    to: u32,
    f: &Filter,
) -> (String, Vec<String>) {
    let (w, args) = where_clause("event_time", site, from, to, f);
    let sql = format!(
        "SELECT toUInt32({}(event_time)) AS bucket, uniqExact(event_id) AS events FROM product_events WHERE {w} GROUP BY bucket",
        period.truncate_fn()
    );
    (sql, args)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct TypeCount {
    pub event_name: String,
    pub events: u64,
}

impl TypeCount {
    /// Counts per event name, most first (ties by name), as `by_type` orders them.
    pub fn ranked<N: Into<String>>(counts: HashMap<N, u64>) -> Vec<Self> {
        let mut out: Vec<Self> = counts
            .into_iter()
            .map(|(n, events)| Self {
                event_name: n.into(),
                events,
            })
            .collect();
        out.sort_by(|a, b| (b.events, &a.event_name).cmp(&(a.events, &b.event_name)));
        out
    }
}

pub async fn by_type(
    client: &Client,
    site: &str,
    from: u32,
    to: u32,
    f: &Filter,
) -> clickhouse::error::Result<Vec<TypeCount>> {
    let (sql, args) = by_type_sql(site, from, to, f);
    fetch(client, &sql, args).await
}

pub(super) fn by_type_sql(site: &str, from: u32, to: u32, f: &Filter) -> (String, Vec<String>) {
    let (w, args) = where_clause("event_time", site, from, to, f);
    let sql = format!(
        "SELECT event_name, uniqExact(event_id) AS events FROM product_events WHERE {w} \
         GROUP BY event_name ORDER BY events DESC, event_name"
    );
    (sql, args)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct UserCount {
    pub user_id: String,
    pub events: u64,
    pub last_ms: i64,
    pub types: Vec<String>,
}

pub async fn top_users(
    client: &Client,
    site: &str,
    from: u32,
    to: u32,
    f: &Filter,
) -> clickhouse::error::Result<Vec<UserCount>> {
    let (sql, args) = top_users_sql(site, from, to, f);
    fetch(client, &sql, args).await
}

pub(super) fn top_users_sql(site: &str, from: u32, to: u32, f: &Filter) -> (String, Vec<String>) {
    let (w, args) = where_clause("event_time", site, from, to, f);
    let sql = format!(
        "SELECT user_id, uniqExact(event_id) AS events, max(timestamp_ms) AS last_ms, \
         groupUniqArray(event_name) AS types FROM product_events WHERE {w} AND user_id != '' \
         GROUP BY user_id ORDER BY events DESC, user_id LIMIT 10"
    );
    (sql, args)
}

#[derive(Debug, Clone, Default, PartialEq, clickhouse::Row, Deserialize)]
pub struct Ingestion {
    pub total: u64,
    pub last_minute: u64,
}

/// Everything a site ever ingested, and what arrived in the last minute (by receive time).
pub async fn ingestion(
    client: &Client,
    site: &str,
    now: u32,
) -> clickhouse::error::Result<Ingestion> {
    let rows: Vec<Ingestion> = client
        .query(
            "SELECT uniqExact(event_id) AS total, uniqExactIf(event_id, received_at > toDateTime(?)) AS last_minute \
             FROM product_events WHERE site = ?",
        )
        .bind(now.saturating_sub(60))
        .bind(site)
        .fetch_all()
        .await?;
    Ok(rows.into_iter().next().unwrap_or_default())
}
