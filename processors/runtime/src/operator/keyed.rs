//! One partition's keyed state: a value per key, at most one event-time and one wall-time timer per key in
//! time-ordered indexes (the next due timer is found without scanning), the partition's watermark, the next
//! input offset per topic, and which keys changed since the last snapshot (upserts and deletes alike).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What drives a timer: the partition's event-time watermark, or the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    Event = 0,
    Wall = 1,
}

/// Which timers are due: those before a time (a record at that time is handled first), or those by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Before(i64),
    By(i64),
}

/// A key's value and its timers, as kept in memory and in the snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot<S> {
    #[serde(rename = "s")]
    state: S,
    #[serde(rename = "t", default)]
    timers: [Option<i64>; 2],
}

/// A partition's state (see the module docs).
#[derive(Debug)]
pub struct Keyed<S> {
    slots: HashMap<String, Slot<S>>,
    timers: [BTreeSet<(i64, String)>; 2],
    changed: HashSet<String>,
    watermark: i64,
    offsets: HashMap<String, i64>,
    offsets_changed: bool,
}

impl<S> Default for Keyed<S> {
    fn default() -> Self {
        Self {
            slots: HashMap::new(),
            timers: [BTreeSet::new(), BTreeSet::new()],
            changed: HashSet::new(),
            watermark: i64::MIN,
            offsets: HashMap::new(),
            offsets_changed: false,
        }
    }
}

impl<S> Keyed<S> {
    pub fn get(&self, key: &str) -> Option<&S> {
        self.slots.get(key).map(|s| &s.state)
    }

    /// The value of `key` for changing; marks it changed.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut S> {
        let slot = self.slots.get_mut(key)?;
        self.changed.insert(key.to_string());
        Some(&mut slot.state)
    }

    /// Sets `key`'s value (its timers stay).
    pub fn insert(&mut self, key: &str, state: S) {
        self.changed.insert(key.to_string());
        match self.slots.get_mut(key) {
            Some(slot) => slot.state = state,
            None => {
                self.slots.insert(
                    key.to_string(),
                    Slot {
                        state,
                        timers: [None, None],
                    },
                );
            }
        }
    }

    /// Removes `key`, its value and its timers; the removal reaches the snapshot too.
    pub fn remove(&mut self, key: &str) -> Option<S> {
        let slot = self.slots.remove(key)?;
        for (kind, at) in slot.timers.iter().enumerate() {
            if let Some(at) = at {
                self.timers[kind].remove(&(*at, key.to_string()));
            }
        }
        self.changed.insert(key.to_string());
        Some(slot.state)
    }

    /// Sets (or moves) `key`'s timer of `kind` to `at`. No effect for a key without a value.
    pub fn set_timer(&mut self, key: &str, kind: TimerKind, at: i64) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let index = &mut self.timers[kind as usize];
        if let Some(old) = slot.timers[kind as usize].replace(at) {
            index.remove(&(old, key.to_string()));
        }
        index.insert((at, key.to_string()));
        self.changed.insert(key.to_string());
    }

    /// Removes and returns the earliest timer of `kind` that is `due`.
    pub fn pop_due(&mut self, kind: TimerKind, due: Due) -> Option<(i64, String)> {
        let index = &mut self.timers[kind as usize];
        let (at, _) = index.first()?;
        let is_due = match due {
            Due::Before(t) => *at < t,
            Due::By(t) => *at <= t,
        };
        if !is_due {
            return None;
        }
        let (at, key) = index.pop_first()?;
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.timers[kind as usize] = None;
        }
        self.changed.insert(key.clone());
        Some((at, key))
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Moves the watermark forward to `t` (never back).
    pub fn advance_watermark(&mut self, t: i64) {
        self.watermark = self.watermark.max(t);
    }

    /// The next offset of `topic` this state has not seen (0 when none).
    pub fn next_offset(&self, topic: &str) -> i64 {
        self.offsets.get(topic).copied().unwrap_or(0)
    }

    /// Records that the state reflects `topic` up to and including `offset`.
    pub fn consumed(&mut self, topic: &str, offset: i64) {
        let next = self.offsets.entry(topic.to_string()).or_insert(0);
        *next = (*next).max(offset + 1);
        self.offsets_changed = true;
    }

    /// Whether anything changed since the last [`take_delta`](Self::take_delta).
    pub fn is_dirty(&self) -> bool {
        self.offsets_changed || !self.changed.is_empty()
    }
}

/// What changed in a partition since its last snapshot.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Delta {
    /// (key, JSON of value and timers)
    pub upserts: Vec<(String, String)>,
    pub deletes: Vec<String>,
    pub offsets: Vec<(String, i64)>,
    pub watermark: i64,
}

/// A partition's stored form: its entries, next offsets and watermark.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stored {
    pub entries: Vec<(String, String)>,
    pub offsets: HashMap<String, i64>,
    pub watermark: Option<i64>,
}

impl<S: Serialize + DeserializeOwned> Keyed<S> {
    /// The changes since the last call, and forgets them.
    pub fn take_delta(&mut self) -> Result<Delta, serde_json::Error> {
        let mut delta = Delta {
            watermark: self.watermark,
            offsets: self.offsets.iter().map(|(t, o)| (t.clone(), *o)).collect(),
            ..Delta::default()
        };
        for key in std::mem::take(&mut self.changed) {
            match self.slots.get(&key) {
                Some(slot) => delta.upserts.push((key, serde_json::to_string(slot)?)),
                None => delta.deletes.push(key),
            }
        }
        self.offsets_changed = false;
        // State that expired gives its memory back (a table keeps its largest size otherwise).
        if self.slots.capacity() > 1024 && self.slots.len() < self.slots.capacity() / 4 {
            self.slots.shrink_to_fit();
        }
        Ok(delta)
    }

    /// Rebuilds a partition from its stored form; unreadable entries are skipped with a warning.
    pub fn restore(stored: Stored) -> Self {
        let mut keyed = Self {
            offsets: stored.offsets,
            ..Self::default()
        };
        if let Some(w) = stored.watermark {
            keyed.watermark = w;
        }
        for (key, json) in stored.entries {
            match serde_json::from_str::<Slot<S>>(&json) {
                Ok(slot) => {
                    for (kind, at) in slot.timers.iter().enumerate() {
                        if let Some(at) = at {
                            keyed.timers[kind].insert((*at, key.clone()));
                        }
                    }
                    keyed.slots.insert(key, slot);
                }
                Err(e) => tracing::warn!(error = %e, %key, "unreadable snapshot entry skipped"),
            }
        }
        keyed
    }
}
