//! The analytics routes.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::buckets::{fill, Period};
use super::queries::Filter;
use super::store::{Window, WindowQuery};
use super::{EVENT_COUNTS_RULE, READS_RULE};
use crate::app::state::AppState;
use crate::auth::keys::{KeyRecord, Scope};
use crate::auth::{self};
use crate::http::dialect::Dialect;
use crate::http::error::ApiError;
use crate::http::reply::success;

const CACHE_SECS: u64 = 10;

fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn unix_now() -> u32 {
    u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(u32::MAX)
}

fn analytics_error(dialect: Dialect, e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "analytics query failed");
    ApiError::new(
        dialect,
        StatusCode::SERVICE_UNAVAILABLE,
        "ANALYTICS_ERROR",
        "analytics are unavailable right now; retry later",
    )
}

/// The caller's `read` key, within the seed-003 reads' rate.
async fn reader(state: &AppState, headers: &HeaderMap, d: Dialect) -> Result<KeyRecord, ApiError> {
    let key = auth::api_key(state, headers, Scope::Read)
        .await
        .map_err(|e| ApiError::auth(d, e))?;
    let limit = state.limiter.check(&READS_RULE, &key.id, 1);
    if !limit.allowed {
        return Err(ApiError::rate_limited(
            d,
            "60 analytics reads per minute per key",
            limit.retry_after,
        ));
    }
    Ok(key)
}

/// Seed 002: `GET /api/v1/analytics/events?project_id&event_name&period` — 10 requests/min per key.
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let d = Dialect::EventApi;
    let key = match auth::api_key(&state, &headers, Scope::Read)
        .await
        .map_err(|e| ApiError::auth(d, e))
    {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let limit = state.limiter.check(&EVENT_COUNTS_RULE, &key.id, 1);
    let mut response = if !limit.allowed {
        ApiError::rate_limited(
            d,
            "10 analytics requests per minute per key",
            limit.retry_after,
        )
        .into_response()
    } else {
        match event_counts(&state, &key.site, &q).await {
            Ok(v) => Json(v).into_response(),
            Err(e) => e.into_response(),
        }
    };
    limit.apply(response.headers_mut());
    response
}

async fn event_counts(
    state: &AppState,
    site: &str,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let d = Dialect::EventApi;
    if let Some(p) = q.get("project_id") {
        if p != site {
            return Err(ApiError::new(
                d,
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "this API key does not belong to that project",
            ));
        }
    }
    let period = match q.get("period") {
        None => Period::H1,
        Some(p) => Period::parse(p).ok_or_else(|| {
            ApiError::field(d, "period", "period must be one of 15m, 1h, 24h, 7d")
        })?,
    };
    let filter = Filter {
        event_name: q.get("event_name").filter(|n| !n.is_empty()).cloned(),
        user_contains: None,
    };
    let w = window(state, site, period, &filter, false)
        .await
        .map_err(|e| analytics_error(d, &e))?;
    let buckets: Vec<Value> = fill(&w.starts, &w.data.buckets)
        .into_iter()
        .map(|(s, c)| json!({ "timestamp": iso(i64::from(s)), "count": c }))
        .collect();
    let totals = &w.data.totals;
    Ok(json!({ "count": totals.events, "unique_users": totals.users, "time_buckets": buckets }))
}

/// A window of `period` ending now, its bucket starts and the data.
struct Answer {
    now: u32,
    starts: Vec<u32>,
    data: Window,
}

async fn window(
    state: &AppState,
    site: &str,
    period: Period,
    filter: &Filter,
    top_users: bool,
) -> clickhouse::error::Result<Answer> {
    let now = unix_now();
    let starts = period.starts(now);
    let q = WindowQuery {
        site,
        period,
        from: starts[0],
        to: now,
        filter,
        top_users,
    };
    let data = state.stores.analytics.window(&q).await?;
    Ok(Answer { now, starts, data })
}

/// Seed 003: `GET /api/v1/analytics/metrics?timeRange&eventType&userId`, cached 10 s per site and query.
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let d = Dialect::EventProcessor;
    let key = match reader(&state, &headers, d).await {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let period = match q.get("timeRange") {
        None => Period::H1,
        Some(p) => match Period::parse(p) {
            Some(p) => p,
            None => {
                return ApiError::field(d, "timeRange", "timeRange must be one of 15m, 1h, 24h, 7d")
                    .into_response()
            }
        },
    };
    let filter = Filter {
        event_name: q.get("eventType").filter(|v| !v.is_empty()).cloned(),
        user_contains: q.get("userId").filter(|v| !v.is_empty()).cloned(),
    };
    let cache_key = state.redis.site_key(
        "cache:metrics",
        &key.site,
        &format!(
            "{}|{}|{}",
            q.get("timeRange").map_or("1h", String::as_str),
            filter.event_name.as_deref().unwrap_or(""),
            filter.user_contains.as_deref().unwrap_or("")
        ),
    );
    if let Some(cached) = state.stores.analytics.cached(&cache_key).await {
        return success(StatusCode::OK, cached);
    }
    match metrics_data(&state, &key.site, period, &filter).await {
        Ok(data) => {
            state
                .stores
                .analytics
                .cache(&cache_key, &data, CACHE_SECS)
                .await;
            success(StatusCode::OK, data)
        }
        Err(e) => e.into_response(),
    }
}

async fn metrics_data(
    state: &AppState,
    site: &str,
    period: Period,
    f: &Filter,
) -> Result<Value, ApiError> {
    let d = Dialect::EventProcessor;
    let w = window(state, site, period, f, true)
        .await
        .map_err(|e| analytics_error(d, &e))?;
    let (totals, from, now) = (&w.data.totals, w.starts[0], w.now);
    let pct = |n: u64| {
        if totals.events == 0 {
            0.0
        } else {
            (n as f64 * 1000.0 / totals.events as f64).round() / 10.0
        }
    };
    let avg = if totals.users == 0 {
        0.0
    } else {
        (totals.events as f64 * 100.0 / totals.users as f64).round() / 100.0
    };
    Ok(json!({
        "totalEvents": totals.events,
        "timeRange": { "start": iso(i64::from(from)), "end": iso(i64::from(now)) },
        "eventsByType": w.data.by_type.iter().map(|t| json!({ "eventType": t.event_name, "count": t.events, "percentage": pct(t.events) })).collect::<Vec<_>>(),
        "topUsers": w.data.top_users.into_iter().map(|mut u| {
            u.types.sort();
            json!({ "userId": u.user_id, "eventCount": u.events, "lastEventAt": iso(u.last_ms.div_euclid(1000)), "eventTypes": u.types })
        }).collect::<Vec<_>>(),
        "eventsOverTime": fill(&w.starts, &w.data.buckets).into_iter().map(|(s, c)| json!({ "timestamp": iso(i64::from(s)), "count": c })).collect::<Vec<_>>(),
        "avgEventsPerUser": avg,
        "uniqueUsers": totals.users,
        "uniqueSessions": totals.sessions,
    }))
}

/// Seed 003: `GET /api/v1/events/stats` — what the caller's site ingested, from ClickHouse.
pub async fn stats(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let d = Dialect::EventProcessor;
    let key = match reader(&state, &headers, d).await {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    match state
        .stores
        .analytics
        .ingestion(&key.site, unix_now())
        .await
    {
        Ok(i) => success(
            StatusCode::OK,
            json!({
                "ingestionRate": (i.last_minute as f64 * 10.0 / 60.0).round() / 10.0,
                "totalIngested": i.total,
                "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }),
        ),
        Err(e) => analytics_error(d, &e).into_response(),
    }
}

#[cfg(test)]
#[path = "handlers_tests.rs"]
mod tests;
