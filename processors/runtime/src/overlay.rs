//! The realtime overlay's data (written by the overlay sink, read by the edge): per site and local day, HyperLogLog sets of event ids, session ids, conversion event
//! ids, call ids, matched call ids, and the ids of calls confirmed (confirmed, qualified or real) or marked junk
//! that day (a call confirmed and later cancelled stays counted that day) in Redis (`overlay:{site}:<day>:<metric>`, kept 3 days). Adding an id twice counts once, so a
//! replayed record never double-counts; counts are estimates within about 1% (HyperLogLog). ClickHouse holds
//! the exact numbers; the overlay is the cheap "today so far" for dashboards.

use crate::redis::Store;
use chrono::TimeZone;

/// The metrics of the overlay.
pub const METRICS: [&str; 7] = [
    "events",
    "sessions",
    "conversions",
    "calls",
    "matched_calls",
    "confirmed_calls",
    "junk_calls",
];
const TTL_SECS: i64 = 3 * 24 * 3600;

/// The local date (`YYYY-MM-DD`) of `ms` in time zone `tz` (UTC when the zone is unknown).
pub fn local_day(ms: i64, tz: &str) -> String {
    let utc = chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default();
    match tz.parse::<chrono_tz::Tz>() {
        Ok(zone) => utc.with_timezone(&zone).format("%Y-%m-%d").to_string(),
        Err(_) => utc.format("%Y-%m-%d").to_string(),
    }
}

/// `[start, end)` in ms of local day `day` (`YYYY-MM-DD`) in time zone `tz` (UTC when the zone is unknown);
/// `None` for a day that is not a date. A zone that skips midnight starts the day at its first instant.
pub fn day_bounds(day: &str, tz: &str) -> Option<(i64, i64)> {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    let start_of = |d: chrono::NaiveDate| {
        zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.timestamp_millis())
    };
    Some((start_of(date)?, start_of(date.succ_opt()?)?))
}

/// The Redis key of one metric.
pub fn key(store: &Store, site: &str, day: &str, metric: &str) -> String {
    store.site_key("overlay", site, &format!("{day}:{metric}"))
}

/// One id to add to one metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub site: String,
    pub day: String,
    pub metric: &'static str,
    pub id: String,
}

/// Adds every mark in one pipelined round trip.
pub async fn apply(store: &Store, marks: &[Mark]) -> ::redis::RedisResult<()> {
    if marks.is_empty() {
        return Ok(());
    }
    let mut c = store.conn().await?;
    let mut pipe = ::redis::pipe();
    for m in marks {
        let k = key(store, &m.site, &m.day, m.metric);
        pipe.cmd("PFADD").arg(&k).arg(&m.id).ignore();
        pipe.expire(&k, TTL_SECS).ignore();
    }
    pipe.query_async::<()>(&mut c).await
}

/// The counts of `site` on `day`, in `METRICS` order.
pub async fn counts(store: &Store, site: &str, day: &str) -> ::redis::RedisResult<Vec<u64>> {
    let mut c = store.conn().await?;
    let mut pipe = ::redis::pipe();
    for m in METRICS {
        pipe.cmd("PFCOUNT").arg(key(store, site, day, m));
    }
    pipe.query_async(&mut c).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_local_to_the_site() {
        // 2026-01-01T22:30:00Z is already Jan 2 in Istanbul (UTC+3).
        let ms = 1_767_306_600_000;
        assert_eq!(local_day(ms, "Europe/Istanbul"), "2026-01-02");
        assert_eq!(local_day(ms, "UTC"), "2026-01-01");
        assert_eq!(local_day(ms, "Not/AZone"), "2026-01-01");
        let (start, end) = day_bounds("2026-01-02", "Europe/Istanbul").unwrap();
        assert!((start..end).contains(&ms) && end - start == 86_400_000);
        assert_eq!(
            day_bounds("2026-01-01", "UTC"),
            Some((1_767_225_600_000, 1_767_312_000_000))
        );
        assert_eq!(day_bounds("2026-13-01", "UTC"), None);
    }
}
