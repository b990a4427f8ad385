//! Long windows from the rollups (migration 0013; docs/performance.md, "Analytics rollups").
//!
//! Event counts are exact and deduplicated: per quarter-hour and event name, a seal's final count while it
//! covers the group's last insert, else the group's `uniq` state of event ids (exact below 65,536 ids a
//! quarter and name, but for 32-bit hash collisions). Unique users and sessions merge `uniqHLL12` states
//! (estimates, ±1.6 %), whole hours from `product_hours`, the quarters before the first whole hour from
//! `product_quarters`. Top users: the `topK` states name candidates, whose figures are then read exactly
//! per user from `product_user_quarters` (the ranking is an estimate; each listed figure is exact).
//! Windows with few events are answered from the raw rows instead (exact everything; `queries`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use clickhouse::Client;
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::queries::{self, fetch, Totals, TypeCount, UserCount};
use super::store::{Window, WindowQuery};

/// Below this many events in a window the raw rows answer (exact, and fast at that size).
pub const RAW_BELOW: u64 = 20_000;
/// How long a group must go without data before the sealer counts it.
const SETTLE_SECS: u32 = 10;
/// How far back the sealer looks: the longest documented window (7 days) and a day of margin.
const SEAL_HORIZON_SECS: u32 = 8 * 24 * 3600;
/// How often each edge seals what settled.
pub const SEAL_EVERY: Duration = Duration::from_secs(15);
const QUARTER: u32 = 900;
const HOUR: u32 = 3600;

/// Answers `q`: from the rollups when it can (no user filter, buckets of a quarter-hour or more, at least
/// `raw_below` events), else from the raw rows.
pub async fn window(client: &Client, q: &WindowQuery<'_>, raw_below: u64) -> Result<Window> {
    let rollable = q.filter.user_contains.is_none()
        && q.period.bucket_secs().is_multiple_of(QUARTER)
        && q.from.is_multiple_of(QUARTER);
    if rollable {
        let quarters = quarter_counts(client, q).await?;
        let total: u64 = quarters.iter().map(|c| c.events).sum();
        if total >= raw_below {
            return from_rollups(client, q, &quarters).await;
        }
    }
    raw(client, q).await
}

type Result<T> = clickhouse::error::Result<T>;

/// The window from the raw rows (`uniqExact`), every read at once.
pub async fn raw(client: &Client, q: &WindowQuery<'_>) -> Result<Window> {
    let (site, from, to, f) = (q.site, q.from, q.to, q.filter);
    let top = async {
        if q.top_users {
            queries::top_users(client, site, from, to, f).await
        } else {
            Ok(Vec::new())
        }
    };
    let (totals, buckets, by_type, top_users) = tokio::try_join!(
        queries::totals(client, site, from, to, f),
        queries::per_bucket(client, site, q.period, from, to, f),
        queries::by_type(client, site, from, to, f),
        top,
    )?;
    Ok(Window {
        totals,
        buckets,
        by_type,
        top_users,
    })
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
struct QuarterCount {
    qt: u32,
    event_name: String,
    events: u64,
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
struct SealState {
    qt: u32,
    event_name: String,
    last: u32,
    sealed: u32,
    sealed_events: u64,
}

/// The window's filter on a rollup's time `column` (a rollup window has no user filter).
fn range(column: &str, q: &WindowQuery<'_>, from: u32, to: u32) -> (String, Vec<String>) {
    queries::where_clause(column, q.site, from, to, q.filter)
}

/// Exact event counts per quarter-hour and name: seals where they still cover the group, states elsewhere.
async fn quarter_counts(client: &Client, q: &WindowQuery<'_>) -> Result<Vec<QuarterCount>> {
    let (sql, args) = quarter_counts_sql(q);
    let states: Vec<SealState> = fetch(client, &sql, args).await?;
    let mut out = Vec::with_capacity(states.len());
    let mut open = Vec::new();
    for s in states {
        if s.sealed >= s.last && s.sealed > 0 {
            out.push(QuarterCount {
                qt: s.qt,
                event_name: s.event_name,
                events: s.sealed_events,
            });
        } else {
            open.push((s.qt, s.event_name));
        }
    }
    out.extend(open_counts(client, q, &open).await?);
    Ok(out)
}

/// Each quarter-hour group's last arrival and its newest seal (`quarter_counts`).
fn quarter_counts_sql(q: &WindowQuery<'_>) -> (String, Vec<String>) {
    let (w, args) = range("quarter", q, q.from, q.to);
    let sql = format!(
        "SELECT qt, event_name, last, sealed, sealed_events FROM \
         (SELECT toUInt32(quarter) AS qt, event_name, toUInt32(maxMerge(last_insert)) AS last \
          FROM product_quarters WHERE {w} GROUP BY quarter, event_name) AS a ANY LEFT JOIN \
         (SELECT toUInt32(quarter) AS qt, event_name, toUInt32(max(covers)) AS sealed, \
          argMax(events, covers) AS sealed_events FROM product_quarter_seals WHERE {w} \
          GROUP BY quarter, event_name) AS b USING qt, event_name"
    );
    (sql, args.iter().chain(args.iter()).cloned().collect())
}

/// `uniqMerge` of the groups no seal covers (usually the last few quarters).
async fn open_counts(
    client: &Client,
    q: &WindowQuery<'_>,
    open: &[(u32, String)],
) -> Result<Vec<QuarterCount>> {
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let quarters: HashSet<u32> = open.iter().map(|(t, _)| *t).collect();
    let (sql, args) = open_counts_sql(q, &quarters);
    let wanted: HashSet<&(u32, String)> = open.iter().collect();
    let rows: Vec<QuarterCount> = fetch(client, &sql, args).await?;
    Ok(rows
        .into_iter()
        .filter(|r| wanted.contains(&(r.qt, r.event_name.clone())))
        .collect())
}

/// `uniqMerge` of the given quarter-hours' groups (`open_counts`).
fn open_counts_sql(q: &WindowQuery<'_>, quarters: &HashSet<u32>) -> (String, Vec<String>) {
    let list = quarters
        .iter()
        .map(|t| format!("toDateTime({t})"))
        .collect::<Vec<_>>()
        .join(", ");
    let (w, args) = range("quarter", q, q.from, q.to);
    let sql = format!(
        "SELECT toUInt32(quarter) AS qt, event_name, uniqMerge(ids_state) AS events \
         FROM product_quarters WHERE {w} AND quarter IN ({list}) GROUP BY quarter, event_name"
    );
    (sql, args)
}

async fn from_rollups(
    client: &Client,
    q: &WindowQuery<'_>,
    quarters: &[QuarterCount],
) -> Result<Window> {
    let bucket = q.period.bucket_secs();
    let mut buckets: HashMap<u32, u64> = HashMap::new();
    let mut names: HashMap<&str, u64> = HashMap::new();
    for c in quarters {
        *buckets.entry(c.qt / bucket * bucket).or_insert(0) += c.events;
        *names.entry(c.event_name.as_str()).or_insert(0) += c.events;
    }
    let by_type = TypeCount::ranked(names);
    let top = async {
        if q.top_users {
            top_users(client, q).await
        } else {
            Ok(Vec::new())
        }
    };
    let ((users, sessions), top_users) = tokio::try_join!(uniques(client, q), top)?;
    Ok(Window {
        totals: Totals {
            events: quarters.iter().map(|c| c.events).sum(),
            users,
            sessions,
        },
        buckets,
        by_type,
        top_users,
    })
}

/// The union of the states covering the window: whole hours from `product_hours`, the quarters before
/// the first whole hour from `product_quarters`; `columns` picks the state columns, both tables have them.
fn cover(q: &WindowQuery<'_>, columns: &str) -> (String, Vec<String>) {
    let first_hour = q.from.div_ceil(HOUR) * HOUR;
    let (hours, mut args) = range("hour", q, first_hour, q.to);
    let (edge, edge_args) = range("quarter", q, q.from, first_hour.saturating_sub(1).min(q.to));
    args.extend(edge_args);
    let sql = format!(
        "SELECT {columns} FROM product_hours WHERE {hours} \
         UNION ALL SELECT {columns} FROM product_quarters WHERE {edge}"
    );
    (sql, args)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
struct Uniques {
    users: u64,
    sessions: u64,
}

async fn uniques(client: &Client, q: &WindowQuery<'_>) -> Result<(u64, u64)> {
    let (sql, args) = uniques_sql(q);
    let row: Option<Uniques> = fetch(client, &sql, args).await?.pop();
    Ok(row.map_or((0, 0), |u| (u.users, u.sessions)))
}

fn uniques_sql(q: &WindowQuery<'_>) -> (String, Vec<String>) {
    let (states, args) = cover(q, "users_state, sessions_state");
    let sql = format!(
        "SELECT uniqHLL12IfMerge(users_state) AS users, uniqHLL12IfMerge(sessions_state) AS sessions \
         FROM ({states})"
    );
    (sql, args)
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
struct Candidates {
    users: Vec<String>,
}

/// The ten users with the most events among the `topK` candidates, with their exact figures.
async fn top_users(client: &Client, q: &WindowQuery<'_>) -> Result<Vec<UserCount>> {
    let (sql, args) = candidates_sql(q);
    let candidates = fetch::<Candidates>(client, &sql, args)
        .await?
        .pop()
        .map(|c| c.users)
        .unwrap_or_default();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let (sql, args) = candidate_figures_sql(q, candidates);
    fetch(client, &sql, args).await
}

/// The users the merged `topK` states name for the window.
fn candidates_sql(q: &WindowQuery<'_>) -> (String, Vec<String>) {
    let (states, args) = cover(q, "top_state");
    let sql = format!("SELECT topKIfMerge(20)(top_state) AS users FROM ({states})");
    (sql, args)
}

/// The exact figures of the `candidates`, the ten with most events first.
fn candidate_figures_sql(q: &WindowQuery<'_>, candidates: Vec<String>) -> (String, Vec<String>) {
    let (w, mut args) = range("quarter", q, q.from, q.to);
    let marks = vec!["?"; candidates.len()].join(", ");
    args.extend(candidates);
    let sql = format!(
        "SELECT user_id, sum(e) AS events, max(l) AS last_ms, groupUniqArray(event_name) AS types FROM \
         (SELECT user_id, quarter, event_name, uniqMerge(ids_state) AS e, maxMerge(last_ms_state) AS l \
          FROM product_user_quarters WHERE {w} AND user_id IN ({marks}) GROUP BY user_id, quarter, event_name) \
         GROUP BY user_id ORDER BY events DESC, user_id LIMIT 10"
    );
    (sql, args)
}

/// Seals every quarter-hour group of the last [`SEAL_HORIZON_SECS`] whose data has settled and that no seal
/// covers yet: its final event count, taken together with the last insert it covers (one query, one snapshot
/// of the parts). Older quarter-hours are outside every documented window; a read of one merges its state.
pub async fn seal(client: &Client) -> Result<()> {
    client.query(&seal_sql()).execute().await
}

fn seal_sql() -> String {
    let recent = format!("quarter >= now() - {SEAL_HORIZON_SECS}");
    format!(
        "INSERT INTO product_quarter_seals (site, quarter, event_name, events, covers) \
         SELECT site, quarter, event_name, uniqMerge(ids_state) AS events, maxMerge(last_insert) AS covers \
         FROM product_quarters WHERE {recent} AND (site, quarter, event_name) IN \
         (SELECT site, quarter, event_name FROM \
           (SELECT site, quarter, event_name, maxMerge(last_insert) AS last FROM product_quarters \
            WHERE {recent} GROUP BY site, quarter, event_name) AS a ANY LEFT JOIN \
           (SELECT site, quarter, event_name, max(covers) AS sealed FROM product_quarter_seals \
            WHERE {recent} GROUP BY site, quarter, event_name) AS b USING site, quarter, event_name \
          WHERE last > sealed AND last < now() - {SETTLE_SECS}) \
         GROUP BY site, quarter, event_name HAVING covers < now() - {SETTLE_SECS}"
    )
}

/// Runs [`seal`] every `every` until `shutdown` (several edges may: seals of the same moment collapse).
pub fn spawn_sealer(
    client: Client,
    every: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let sealed = seal(&client).await;
            if let Err(e) = &sealed {
                tracing::warn!(error = %e, "sealing analytics quarters failed; retrying");
            }
            crate::ops::metrics::rollup_sealed(sealed.is_ok());
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    })
}

#[cfg(test)]
#[path = "rollup_sql_tests.rs"]
mod sql_tests;
