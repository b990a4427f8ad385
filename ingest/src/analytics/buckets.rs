//! Time windows and buckets. A period is the N most recent aligned buckets, the last one holding "now":
//! 15m = 15 × 1 minute, 1h = 12 × 5 minutes, 24h = 96 × 15 minutes, 7d = 168 × 1 hour. Empty buckets count 0.

use std::collections::HashMap;

/// A supported period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    M15,
    H1,
    H24,
    D7,
}

impl Period {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "15m" => Some(Period::M15),
            "1h" => Some(Period::H1),
            "24h" => Some(Period::H24),
            "7d" => Some(Period::D7),
            _ => None,
        }
    }

    /// Bucket width in seconds.
    pub const fn bucket_secs(self) -> u32 {
        match self {
            Period::M15 => 60,
            Period::H1 => 300,
            Period::H24 => 900,
            Period::D7 => 3600,
        }
    }

    pub const fn buckets(self) -> u32 {
        match self {
            Period::M15 => 15,
            Period::H1 => 12,
            Period::H24 => 96,
            Period::D7 => 168,
        }
    }

    /// The ClickHouse function that truncates a `DateTime` to this period's bucket (all exist on 18.16).
    pub const fn truncate_fn(self) -> &'static str {
        match self {
            Period::M15 => "toStartOfMinute",
            Period::H1 => "toStartOfFiveMinute",
            Period::H24 => "toStartOfFifteenMinutes",
            Period::D7 => "toStartOfHour",
        }
    }

    /// Start of every bucket (Unix seconds), oldest first, for a window ending at `now`.
    pub fn starts(self, now: u32) -> Vec<u32> {
        let b = self.bucket_secs();
        let last = now / b * b;
        (0..self.buckets())
            .rev()
            .map(|i| last.saturating_sub(i * b))
            .collect()
    }
}

/// `starts` with their counts (0 where none).
pub fn fill(starts: &[u32], counts: &HashMap<u32, u64>) -> Vec<(u32, u64)> {
    starts
        .iter()
        .map(|s| (*s, counts.get(s).copied().unwrap_or(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_aligned_and_end_with_the_current_one() {
        let now = 1_706_608_830; // 2024-01-30T10:00:30Z
        let s = Period::M15.starts(now);
        assert_eq!(s.len(), 15);
        assert_eq!(*s.last().unwrap(), 1_706_608_800);
        assert_eq!(s[0], 1_706_608_800 - 14 * 60);
        let h = Period::H24.starts(now);
        assert_eq!((h.len(), h[1] - h[0]), (96, 900));
        assert_eq!(Period::D7.starts(now).len(), 168);
        assert_eq!(Period::parse("2h"), None);
    }

    #[test]
    fn empty_buckets_are_zero() {
        let starts = [60, 120, 180];
        let counts = HashMap::from([(120, 5)]);
        assert_eq!(fill(&starts, &counts), vec![(60, 0), (120, 5), (180, 0)]);
    }
}
