//! The drift check (seed 001): `GET /api/stats/reconcile?siteId=<public id>&date=YYYY-MM-DD` — the realtime
//! overlay's counts (HyperLogLog estimates in Redis) beside the exact counts in ClickHouse for the site's local
//! day, and their difference. Global admins only (403 `forbidden` otherwise).
//!
//! What each exact count is (the overlay counts the same ids on the same day): events and conversions by
//! event time, sessions by their start, calls and matched calls by their creation, confirmed calls by their
//! confirmation and junk calls by the change that made them junk (from `call_history`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use opsmantik_runtime::iso_ms;
use opsmantik_runtime::overlay::{self, day_bounds, METRICS};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::app::state::AppState;
use crate::auth::principal::Admin;
use crate::http::error::{ApiError, Shape};
use crate::http::reply::ok;

/// How the exact counts are made.
const METHOD: &str =
    "uniqExact of ids in ClickHouse (latest versions with FINAL; call changes from call_history)";

/// The exact count of each overlay metric, in `METRICS` order.
const EXACT: [&str; 7] = [
    "SELECT uniqExact(event_id) FROM events WHERE site = ? AND event_time >= toDateTime(?) AND event_time < toDateTime(?)",
    "SELECT uniqExact(session_id) FROM sessions FINAL WHERE site = ? AND started_at >= toDateTime(?) AND started_at < toDateTime(?)",
    "SELECT uniqExact(event_id) FROM events WHERE site = ? AND category = 'conversion' AND event_time >= toDateTime(?) AND event_time < toDateTime(?)",
    "SELECT uniqExact(call_id) FROM calls FINAL WHERE site = ? AND created_at_ms >= ? * 1000 AND created_at_ms < ? * 1000",
    "SELECT uniqExactIf(call_id, session_id != '') FROM calls FINAL WHERE site = ? AND created_at_ms >= ? * 1000 AND created_at_ms < ? * 1000",
    "SELECT uniqExact(call_id) FROM call_history WHERE site = ? AND status IN ('confirmed', 'qualified', 'real') AND confirmed_at_ms >= ? * 1000 AND confirmed_at_ms < ? * 1000",
    "SELECT uniqExact(call_id) FROM call_history WHERE site = ? AND status = 'junk' AND updated_at_ms >= ? * 1000 AND updated_at_ms < ? * 1000",
];

/// The query.
#[derive(Debug, Deserialize)]
pub struct Params {
    #[serde(rename = "siteId")]
    site_id: Option<String>,
    date: Option<String>,
}

fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::unavailable(Shape::Control, "store_unavailable", e)
}

/// `GET /api/stats/reconcile`.
pub async fn get(
    State(state): State<AppState>,
    Admin(_): Admin,
    Query(q): Query<Params>,
) -> Result<Response, ApiError> {
    let key = q
        .site_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("siteId", "is required"))?;
    let site = crate::auth::access::find_site(&state, &key)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                Shape::Control,
                StatusCode::NOT_FOUND,
                "not_found",
                "no such site",
            )
        })?;
    let date = q
        .date
        .unwrap_or_else(|| overlay::local_day(opsmantik_runtime::now_ms(), &site.time_zone));
    let (from, to) = day_bounds(&date, &site.time_zone)
        .ok_or_else(|| ApiError::invalid("date", "must be YYYY-MM-DD"))?;
    let estimates = overlay::counts(&state.redis, &site.public_id, &date)
        .await
        .map_err(|e| unavailable(&e))?;
    let (mut redis, mut db, mut drift) = (Map::new(), Map::new(), Map::new());
    // The seven exact counts at once, not one after the other.
    let exact = futures::future::try_join_all(EXACT.iter().map(|sql| {
        state
            .clickhouse
            .query(sql)
            .bind(&site.public_id)
            .bind(from / 1000)
            .bind(to / 1000)
            .fetch_one::<u64>()
    }))
    .await
    .map_err(|e| unavailable(&e))?;
    for ((metric, estimate), exact) in METRICS.iter().zip(estimates).zip(exact) {
        redis.insert((*metric).into(), json!(estimate));
        db.insert((*metric).into(), json!(exact));
        drift.insert(
            (*metric).into(),
            json!(i128::from(estimate) - i128::from(exact)),
        );
    }
    db.insert("method".into(), json!(METHOD));
    Ok(ok(
        StatusCode::OK,
        json!({
            "siteId": site.public_id, "date": date, "timeZone": site.time_zone,
            "rangeUtc": { "fromIso": iso_ms(from), "toIso": iso_ms(to) },
            "redis": Value::Object(redis), "db": Value::Object(db), "drift": Value::Object(drift),
        }),
    ))
}
