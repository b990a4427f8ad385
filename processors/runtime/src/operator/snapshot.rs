//! Where partition state is kept between runs: one hash per (stage, partition) with a field per key
//! (`e:<key>`, the value and its timers as JSON), per input topic the next offset the state reflects
//! (`o:<topic>`) and the watermark (`w`). A delta is written in one transaction after a batch's outputs are
//! acknowledged and before its offsets are stored, so a snapshot is never behind the committed offsets; removed
//! keys are deleted from it, so expired state does not come back on restore.
//!
//! Redis holds them in production ([`RedisSnapshots`]); [`MemorySnapshots`] is the in-memory twin for tests.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use super::keyed::{Delta, Stored};
use crate::redis::Store;

const ENTRY: &str = "e:";
const OFFSET: &str = "o:";
const WATERMARK: &str = "w";

/// A home for partition snapshots.
pub trait SnapshotStore: Send + Sync {
    fn load(
        &self,
        stage: &str,
        partition: i32,
    ) -> impl Future<Output = Result<Stored, String>> + Send;
    fn save(
        &self,
        stage: &str,
        partition: i32,
        delta: &Delta,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// Reads a snapshot hash's fields.
fn parse(fields: HashMap<String, String>) -> Stored {
    let mut stored = Stored::default();
    for (field, value) in fields {
        if let Some(key) = field.strip_prefix(ENTRY) {
            stored.entries.push((key.to_string(), value));
        } else if let Some(topic) = field.strip_prefix(OFFSET) {
            stored
                .offsets
                .insert(topic.to_string(), value.parse().unwrap_or(0));
        } else if field == WATERMARK {
            stored.watermark = value.parse().ok();
        }
    }
    stored
}

/// The fields a delta sets, and the ones it deletes.
fn fields(delta: &Delta) -> (Vec<(String, String)>, Vec<String>) {
    let mut set: Vec<(String, String)> = delta
        .upserts
        .iter()
        .map(|(k, v)| (format!("{ENTRY}{k}"), v.clone()))
        .collect();
    set.extend(
        delta
            .offsets
            .iter()
            .map(|(t, o)| (format!("{OFFSET}{t}"), o.to_string())),
    );
    set.push((WATERMARK.to_string(), delta.watermark.to_string()));
    let deletes = delta
        .deletes
        .iter()
        .map(|k| format!("{ENTRY}{k}"))
        .collect();
    (set, deletes)
}

/// Snapshots in Redis (no TTL: never evicted under `volatile-lru`).
#[derive(Debug, Clone)]
pub struct RedisSnapshots(pub Store);

impl RedisSnapshots {
    fn key(&self, stage: &str, partition: i32) -> String {
        self.0
            .key(&["snapshot", stage, "partition", &partition.to_string()])
    }
}

impl SnapshotStore for RedisSnapshots {
    async fn load(&self, stage: &str, partition: i32) -> Result<Stored, String> {
        let mut c = self.0.conn().await.map_err(|e| e.to_string())?;
        let fields: HashMap<String, String> = ::redis::cmd("HGETALL")
            .arg(self.key(stage, partition))
            .query_async(&mut c)
            .await
            .map_err(|e| e.to_string())?;
        Ok(parse(fields))
    }

    async fn save(&self, stage: &str, partition: i32, delta: &Delta) -> Result<(), String> {
        let key = self.key(stage, partition);
        let (set, deletes) = fields(delta);
        let mut pipe = ::redis::pipe();
        pipe.atomic().hset_multiple(&key, &set).ignore();
        if !deletes.is_empty() {
            pipe.hdel(&key, deletes).ignore();
        }
        let mut c = self.0.conn().await.map_err(|e| e.to_string())?;
        pipe.query_async::<()>(&mut c)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Snapshot hashes by (stage, partition).
type Hashes = HashMap<(String, i32), HashMap<String, String>>;

/// Snapshots in memory, shared between clones (tests: a "restart" builds a new stage over the same store).
#[derive(Debug, Clone, Default)]
pub struct MemorySnapshots {
    hashes: Arc<Mutex<Hashes>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl MemorySnapshots {
    /// Makes every call fail (or succeed again).
    pub fn fail(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    /// Number of keys stored for (stage, partition).
    pub fn keys(&self, stage: &str, partition: i32) -> usize {
        let hashes = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
        hashes
            .get(&(stage.to_string(), partition))
            .map_or(0, |h| h.keys().filter(|f| f.starts_with(ENTRY)).count())
    }

    fn check(&self) -> Result<(), String> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("snapshot store unavailable".into());
        }
        Ok(())
    }
}

impl SnapshotStore for MemorySnapshots {
    async fn load(&self, stage: &str, partition: i32) -> Result<Stored, String> {
        self.check()?;
        let hashes = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
        let fields = hashes
            .get(&(stage.to_string(), partition))
            .cloned()
            .unwrap_or_default();
        Ok(parse(fields))
    }

    async fn save(&self, stage: &str, partition: i32, delta: &Delta) -> Result<(), String> {
        self.check()?;
        let (set, deletes) = fields(delta);
        let mut hashes = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
        let hash = hashes.entry((stage.to_string(), partition)).or_default();
        hash.extend(set);
        for field in deletes {
            hash.remove(&field);
        }
        Ok(())
    }
}
