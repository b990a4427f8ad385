//! The limiter's counts: per rule, per subject, the two most recent windows. Looked up by `&str`, so a
//! request of a subject already seen allocates nothing; a subject's entry is dropped once both its windows
//! ended (at the sync).

use std::collections::HashMap;

/// One window's count.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Count {
    /// Global total after the last sync (all instances, ours included).
    pub synced: u64,
    /// Counted here, sent to Redis by the sync under way, not in `synced` yet.
    pub in_flight: u64,
    /// Counted here since the last sync.
    pub pending: u64,
}

impl Count {
    pub fn total(&self) -> u64 {
        self.synced + self.in_flight + self.pending
    }
}

/// A window (by index: start ÷ window length) and its count.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Slot {
    pub window: u64,
    pub used: bool,
    pub count: Count,
}

/// The two most recent windows of one subject.
#[derive(Debug, Default)]
pub(super) struct Windows {
    pub slots: [Slot; 2],
    pub window_ms: u64,
}

impl Windows {
    /// The count of window `w`, if held.
    pub fn get(&self, w: u64) -> Option<&Count> {
        self.slots
            .iter()
            .find(|s| s.used && s.window == w)
            .map(|s| &s.count)
    }

    /// The count of window `w`, made when missing in place of a window older than `w - 1`.
    pub fn current_mut(&mut self, w: u64) -> &mut Count {
        let i = match self.slots.iter().position(|s| s.used && s.window == w) {
            Some(i) => i,
            None => {
                // Keep the previous window; else drop the older (or unused) slot.
                let [a, b] = &self.slots;
                let i = if a.used && a.window + 1 == w {
                    1
                } else if (b.used && b.window + 1 == w) || !a.used {
                    0
                } else {
                    usize::from(b.window < a.window || !b.used)
                };
                self.slots[i] = Slot {
                    window: w,
                    used: true,
                    count: Count::default(),
                };
                i
            }
        };
        &mut self.slots[i].count
    }

    /// Whether both windows ended more than a window ago (nothing here counts any more).
    pub fn expired(&self, now_ms: u64) -> bool {
        let w = self.window_ms.max(1);
        self.slots
            .iter()
            .all(|s| !s.used || (s.window + 2) * w <= now_ms)
    }
}

/// Every count: rule name → subject → windows.
pub(super) type Table = HashMap<&'static str, HashMap<String, Windows>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_windows_roll_forward() {
        let mut w = Windows {
            window_ms: 1000,
            ..Default::default()
        };
        w.current_mut(5).pending = 3;
        w.current_mut(6).pending = 4;
        assert_eq!(
            w.get(5).map(Count::total),
            Some(3),
            "the previous window stays"
        );
        w.current_mut(7).pending = 1;
        assert!(w.get(5).is_none(), "two back is dropped");
        assert_eq!(w.get(6).map(Count::total), Some(4));
        w.current_mut(9);
        assert!(w.get(6).is_none() && w.get(7).is_some());
        assert!(!w.expired(10_999) && w.expired(11_000));
    }
}
