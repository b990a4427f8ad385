//! `GET /api/v1/sites/{site}/summary?from=&to=` (a `read` key of the site or a member): what landed in ClickHouse for a site in a time range —
//! events, pageviews, sessions, visitors, and for the dashboard's overview the parts in [`super::breakdown`].
//! Counts read deduplicated data (`uniqExact(id)`, `FINAL`), so replays never double-count. `from`/`to` are
//! RFC 3339; default: the last 24 hours. Sessions count by start time, events by event time, calls by creation.

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::breakdown::{self, CallCounts, SeriesBucket, TopValue};
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
    /// Conversion hits (the tracker's category `conversion`).
    pub conversions: u64,
    pub calls: u64,
    /// Calls matched to a session.
    pub matched_calls: u64,
    /// Calls confirmed, qualified or real.
    pub confirmed_calls: u64,
    /// Their sale amounts, summed.
    pub confirmed_value: f64,
    /// The site's time zone: daily buckets start at its midnights.
    pub time_zone: String,
    /// `hour` (ranges up to two days) or `day`.
    pub bucket: String,
    /// Events and page views per bucket, oldest first, every bucket of the range (empty ones as zeros).
    pub series: Vec<SeriesBucket>,
    /// Top sessions' sources (UTM source, else referrer host, else `direct`), devices and countries.
    pub sources: Vec<TopValue>,
    pub devices: Vec<TopValue>,
    pub countries: Vec<TopValue>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct EventCounts {
    events: u64,
    pageviews: u64,
    visitors: u64,
    conversions: u64,
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

/// Events, page views, visitors and conversion hits (the tracker's category `conversion`) by event time.
pub(super) const EVENT_COUNTS: &str = "SELECT uniqExact(event_id) AS events, \
     uniqExactIf(event_id, action = 'view') AS pageviews, uniqExact(visitor) AS visitors, \
     uniqExactIf(event_id, category = 'conversion') AS conversions FROM events \
     WHERE site = ? AND event_time >= toDateTime(?) AND event_time < toDateTime(?)";

/// Sessions by start time.
pub(super) const SESSION_COUNT: &str = "SELECT count() FROM sessions FINAL \
     WHERE site = ? AND started_at >= toDateTime(?) AND started_at < toDateTime(?)";

fn unavailable(e: clickhouse::error::Error) -> ApiError {
    ApiError::unavailable(Shape::Tracking, "analytics_unavailable", &e)
}

/// A query bound to (site, from, to), as the summary's reads are.
fn site_range(
    state: &AppState,
    sql: &str,
    site: &str,
    from: u32,
    to: u32,
) -> clickhouse::query::Query {
    state.clickhouse.query(sql).bind(site).bind(from).bind(to)
}

/// The series, hourly or daily in `time_zone`.
async fn series(
    state: &AppState,
    site: &str,
    time_zone: &str,
    (from, to): (u32, u32),
) -> Result<Vec<SeriesBucket>, ApiError> {
    let width = breakdown::bucket_width(from, to);
    let sql = breakdown::series_sql(width);
    let mut q = state.clickhouse.query(&sql);
    if width == "day" {
        q = q.bind(time_zone);
    }
    let found = q
        .bind(site)
        .bind(from)
        .bind(to)
        .fetch_all()
        .await
        .map_err(unavailable)?;
    let starts = breakdown::bucket_starts(from, to, width, time_zone);
    Ok(breakdown::fill(found, &starts))
}

/// The top values of each of [`breakdown::DIMENSIONS`].
async fn tops(
    state: &AppState,
    site: &str,
    (f, t): (u32, u32),
) -> Result<[Vec<TopValue>; 3], ApiError> {
    let [a, b, c] = breakdown::DIMENSIONS.map(breakdown::top_sql);
    let read = |sql: String| async move { site_range(state, &sql, site, f, t).fetch_all().await };
    let (a, b, c) = tokio::try_join!(read(a), read(b), read(c)).map_err(unavailable)?;
    Ok([a, b, c])
}

/// The range's counts: events (with page views, visitors, conversions), sessions and calls.
async fn counts(
    state: &AppState,
    site: &str,
    (f, t): (u32, u32),
) -> Result<(EventCounts, u64, CallCounts), ApiError> {
    let events = site_range(state, EVENT_COUNTS, site, f, t).fetch_one::<EventCounts>();
    let sessions = site_range(state, SESSION_COUNT, site, f, t).fetch_one::<u64>();
    let calls = state
        .clickhouse
        .query(breakdown::CALLS_SQL)
        .bind(site)
        .bind(i64::from(f) * 1000)
        .bind(i64::from(t) * 1000)
        .fetch_one::<CallCounts>();
    tokio::try_join!(events, sessions, calls).map_err(unavailable)
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
    let record = auth::access::site(&state, &who, &site, Need::READ)
        .await
        .map_err(|e| ApiError::auth(Shape::Tracking, e))?;
    let site = record.public_id.as_str();
    let time_zone = match record.time_zone.as_str() {
        "" => opsmantik_runtime::sites::DEFAULT_TIME_ZONE,
        tz => tz,
    };
    let (from, to) = range(&q, Utc::now())?;
    let window = (from.timestamp() as u32, to.timestamp() as u32);
    let ((counts, sessions, calls), series, [sources, devices, countries]) = tokio::try_join!(
        counts(&state, site, window),
        series(&state, site, time_zone, window),
        tops(&state, site, window)
    )?;
    Ok(Json(Summary {
        site: site.to_string(),
        from: from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to: to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        events: counts.events,
        pageviews: counts.pageviews,
        sessions,
        visitors: counts.visitors,
        conversions: counts.conversions,
        calls: calls.calls,
        matched_calls: calls.matched_calls,
        confirmed_calls: calls.confirmed_calls,
        confirmed_value: calls.confirmed_value,
        time_zone: time_zone.to_string(),
        bucket: breakdown::bucket_width(window.0, window.1).to_string(),
        series,
        sources,
        devices,
        countries,
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
