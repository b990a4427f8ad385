//! What the summary adds for the dashboard's overview: calls and their confirmed value, events
//! over time (hourly up to two days, else daily in the site's time zone) and the top sources, devices and
//! countries of the range's sessions. Every read is deduplicated (`uniqExact(id)`, `FINAL`), like the counts.
//! The SQL is written out to `schemas/runtime/analytics.sql` by the runtime SQL test, so CI runs it on current
//! ClickHouse too.

use serde::{Deserialize, Serialize};

/// How many sources, devices and countries the summary lists.
pub const TOP: usize = 10;

/// One bucket of the series: its start (Unix seconds), events and page views in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, clickhouse::Row, utoipa::ToSchema)]
pub struct SeriesBucket {
    pub start: u32,
    pub events: u64,
    pub pageviews: u64,
}

/// A value and how many sessions had it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, clickhouse::Row, utoipa::ToSchema)]
pub struct TopValue {
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

/// The start of every bucket of `from..to` (seconds): whole hours, or the local days of `time_zone`.
pub fn bucket_starts(from: u32, to: u32, width: &str, time_zone: &str) -> Vec<u32> {
    let mut out = Vec::new();
    if width == "hour" {
        let mut start = from - from % 3600;
        while start < to {
            out.push(start);
            start += 3600;
        }
        return out;
    }
    let mut ms = i64::from(from) * 1000;
    while ms < i64::from(to) * 1000 {
        let day = opsmantik_runtime::overlay::local_day(ms, time_zone);
        let Some((start, end)) = opsmantik_runtime::overlay::day_bounds(&day, time_zone) else {
            break;
        };
        out.push(u32::try_from(start / 1000).unwrap_or(u32::MAX));
        ms = end;
    }
    out
}

/// `series` over every bucket of `starts`, the ones without events as zeros (a chart without gaps).
pub fn fill(series: Vec<SeriesBucket>, starts: &[u32]) -> Vec<SeriesBucket> {
    let mut found: std::collections::HashMap<u32, SeriesBucket> =
        series.into_iter().map(|b| (b.start, b)).collect();
    starts
        .iter()
        .map(|&start| {
            found.remove(&start).unwrap_or(SeriesBucket {
                start,
                events: 0,
                pageviews: 0,
            })
        })
        .collect()
}

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
    fn every_bucket_of_the_range_is_there_empty_ones_as_zeros() {
        let hours = bucket_starts(7_200 + 59, 4 * 3_600, "hour", "UTC");
        assert_eq!(hours, [7_200, 10_800]);
        let seen = SeriesBucket {
            start: 10_800,
            events: 5,
            pageviews: 2,
        };
        let filled = fill(vec![seen.clone()], &hours);
        assert_eq!(filled[0].events, 0);
        assert_eq!(filled[1], seen);
        // Istanbul is UTC+3: its days start at 21:00 UTC. 2026-01-01T12:00Z .. 2026-01-03T12:00Z.
        let days = bucket_starts(1_767_268_800, 1_767_441_600, "day", "Europe/Istanbul");
        assert_eq!(days, [1_767_214_800, 1_767_301_200, 1_767_387_600]);
    }

    #[test]
    fn hourly_up_to_two_days_then_daily() {
        assert_eq!(bucket_width(0, 24 * 3600), "hour");
        assert_eq!(bucket_width(0, 48 * 3600), "hour");
        assert_eq!(bucket_width(0, 48 * 3600 + 1), "day");
    }
}
