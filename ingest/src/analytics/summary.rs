//! `GET /api/v1/sites/{site}/summary?from=&to=` (a `read` key of the site or a member): what landed in ClickHouse for a site in a time range —
//! events, pageviews, sessions, visitors. Counts read deduplicated data (`uniqExact(id)`, `FINAL`), so
//! replays never double-count. `from`/`to` are RFC 3339; default: the last 24 hours. Sessions count by
//! start time, events by event time.

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::app::state::AppState;
use crate::auth::{self, Need};
use crate::http::error::{ApiError, Shape};

const MAX_RANGE_DAYS: i64 = 366;

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Summary {
    pub site: String,
    pub from: String,
    pub to: String,
    pub events: u64,
    pub pageviews: u64,
    pub sessions: u64,
    pub visitors: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct EventCounts {
    events: u64,
    pageviews: u64,
    visitors: u64,
}

fn parse_time(field: &'static str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("`{field}` must be an RFC 3339 time"),
            )
        })
}

/// The validated range, as whole seconds.
pub fn range(
    q: &RangeQuery,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to =
        q.to.as_deref()
            .map(|v| parse_time("to", v))
            .transpose()?
            .unwrap_or(now);
    let from = q
        .from
        .as_deref()
        .map(|v| parse_time("from", v))
        .transpose()?
        .unwrap_or(to - Duration::hours(24));
    if from >= to {
        return Err(ApiError::bad_request(
            "invalid_range",
            "`from` must be before `to`",
        ));
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::bad_request(
            "invalid_range",
            format!("range must be at most {MAX_RANGE_DAYS} days"),
        ));
    }
    if from.timestamp() < 0 || to.timestamp() > i64::from(u32::MAX) {
        return Err(ApiError::bad_request(
            "invalid_range",
            "range must lie between 1970 and 2106",
        ));
    }
    Ok((from, to))
}

const EVENT_COUNTS: &str = "SELECT uniqExact(event_id) AS events, \
     uniqExactIf(event_id, action = 'view') AS pageviews, uniqExact(visitor) AS visitors FROM events \
     WHERE site = ? AND event_time >= toDateTime(?) AND event_time < toDateTime(?)";

const SESSION_COUNT: &str = "SELECT count() FROM sessions FINAL \
     WHERE site = ? AND started_at >= toDateTime(?) AND started_at < toDateTime(?)";

/// Runs a one-row query bound to (site, from, to).
async fn site_range_query<T>(
    state: &AppState,
    sql: &str,
    site: &str,
    from: u32,
    to: u32,
) -> Result<T, ApiError>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    state
        .clickhouse
        .query(sql)
        .bind(site)
        .bind(from)
        .bind(to)
        .fetch_one()
        .await
        .map_err(|e| {
            ApiError::unavailable(
                crate::http::error::Shape::Tracking,
                "analytics_unavailable",
                &e,
            )
        })
}

/// The summary, for a `read` key of the site or a member's session.
pub async fn get(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(site): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Summary>, ApiError> {
    let who = auth::identify(&state, &headers)
        .await
        .map_err(|e| ApiError::auth(Shape::Tracking, e))?;
    let site = auth::access::site(&state, &who, &site, Need::READ)
        .await
        .map_err(|e| ApiError::auth(Shape::Tracking, e))?
        .public_id
        .clone();
    let (from, to) = range(&q, Utc::now())?;
    let (f, t) = (from.timestamp() as u32, to.timestamp() as u32);
    let counts: EventCounts = site_range_query(&state, EVENT_COUNTS, &site, f, t).await?;
    let sessions: u64 = site_range_query(&state, SESSION_COUNT, &site, f, t).await?;
    Ok(Json(Summary {
        site,
        from: from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to: to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        events: counts.events,
        pageviews: counts.pageviews,
        sessions,
        visitors: counts.visitors,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: Option<&str>, to: Option<&str>) -> RangeQuery {
        RangeQuery {
            from: from.map(String::from),
            to: to.map(String::from),
        }
    }

    #[test]
    fn defaults_to_the_last_day_and_validates() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (from, to) = range(&q(None, None), now).unwrap();
        assert_eq!((to - from).num_hours(), 24);
        assert_eq!(
            range(&q(Some("yesterday"), None), now).unwrap_err().code,
            "invalid_parameter"
        );
        let backwards = q(Some("2026-01-02T00:00:00Z"), Some("2026-01-01T00:00:00Z"));
        assert_eq!(range(&backwards, now).unwrap_err().code, "invalid_range");
        let huge = q(Some("2020-01-01T00:00:00Z"), Some("2026-01-01T00:00:00Z"));
        assert_eq!(range(&huge, now).unwrap_err().code, "invalid_range");
    }
}
