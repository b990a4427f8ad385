//! What the summary adds for the dashboard's overview: conversions, calls and their confirmed value, events
//! over time (hourly up to two days, else daily in the site's time zone) and the top sources, devices and
//! countries of the range's sessions. Every read is deduplicated (`uniqExact(id)`, `FINAL`), like the counts.
//! The SQL is written out to `schemas/runtime/analytics.sql` by the runtime SQL test, so CI runs it on current
//! ClickHouse too.

use serde::{Deserialize, Serialize};

/// How many sources, devices and countries the summary lists.
pub const TOP: usize = 10;

/// One bucket of the series: its start (Unix seconds), events and page views in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, clickhouse::Row, utoipa::ToSchema)]
pub struct Bucket {
    pub start: u32,
    pub events: u64,
    pub pageviews: u64,
}

/// A value and how many sessions had it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, clickhouse::Row, utoipa::ToSchema)]
pub struct Count {
    pub value: String,
    pub sessions: u64,
}

/// The calls of the range (by creation time): all, matched to a session, confirmed, and the confirmed sale
/// amounts summed (in the calls' currencies; a site has one in practice).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, clickhouse::Row)]
pub struct CallCounts {
    pub calls: u64,
    pub matched_calls: u64,
    pub confirmed_calls: u64,
    pub confirmed_value: f64,
}

/// Daily buckets above this range (seconds), hourly below.
const HOURLY_UP_TO_SECS: u32 = 48 * 3600;

/// The series' bucket width for a range of `from`..`to` seconds: `"hour"` or `"day"`.
pub fn bucket_width(from: u32, to: u32) -> &'static str {
    if to.saturating_sub(from) <= HOURLY_UP_TO_SECS {
        "hour"
    } else {
        "day"
    }
}

/// Conversion hits (the tracker's category `conversion`); binds (site, from, to).
pub const CONVERSIONS_SQL: &str =
    "SELECT uniqExactIf(event_id, category = 'conversion') FROM events \
     WHERE site = ? AND event_time >= toDateTime(?) AND event_time < toDateTime(?)";

/// The calls created in the range; binds (site, from ms, to ms).
pub const CALLS_SQL: &str = "SELECT count() AS calls, countIf(session_id != '') AS matched_calls, \
     countIf(status IN ('confirmed', 'qualified', 'real')) AS confirmed_calls, \
     sumIf(sale_amount, status IN ('confirmed', 'qualified', 'real') AND has_sale = 1) AS confirmed_value \
     FROM calls FINAL WHERE site = ? AND created_at_ms >= ? AND created_at_ms < ?";

/// The series: binds (time zone, site, from, to) for daily buckets, (site, from, to) for hourly ones.
pub fn series_sql(width: &str) -> String {
    let start = if width == "day" {
        "toUInt32(toStartOfDay(event_time, ?))"
    } else {
        "toUInt32(toStartOfHour(event_time))"
    };
    format!(
        "SELECT {start} AS start, uniqExact(event_id) AS events, \
         uniqExactIf(event_id, action = 'view') AS pageviews FROM events \
         WHERE site = ? AND event_time >= toDateTime(?) AND event_time < toDateTime(?) \
         GROUP BY start ORDER BY start"
    )
}

/// The sessions started in the range, counted by `dimension` (most first, ties by value); binds (site, from,
/// to). A session's source is its UTM source, else its referrer's host, else `direct`.
pub fn top_sql(dimension: &str) -> String {
    let value = match dimension {
        "source" => {
            "if(utm_source != '', utm_source, if(referrer != '', domain(referrer), 'direct'))"
        }
        "device" => "if(device != '', device, 'unknown')",
        _ => "if(geo_country != '', geo_country, 'unknown')",
    };
    format!(
        "SELECT {value} AS value, count() AS sessions FROM sessions FINAL \
         WHERE site = ? AND started_at >= toDateTime(?) AND started_at < toDateTime(?) \
         GROUP BY value ORDER BY sessions DESC, value LIMIT {TOP}"
    )
}

/// The dimensions `top_sql` knows, in the summary's order.
pub const DIMENSIONS: [&str; 3] = ["source", "device", "country"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_up_to_two_days_then_daily() {
        assert_eq!(bucket_width(0, 24 * 3600), "hour");
        assert_eq!(bucket_width(0, 48 * 3600), "hour");
        assert_eq!(bucket_width(0, 48 * 3600 + 1), "day");
    }
}
