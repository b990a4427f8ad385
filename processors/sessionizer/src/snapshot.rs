//! Per-partition state snapshots in Redis: for each input partition, a hash with one field per visitor
//! (the visitor's state as JSON) and `__offset`, the next input offset the state reflects. Written after a
//! batch's outputs are acknowledged and before its offsets are stored, so a snapshot is never behind the
//! committed offset; a restarted or newly assigned instance restores it and skips the records at or after the
//! committed offset but before `__offset` (already reflected, outputs already acknowledged).

use std::collections::HashMap;

use opsmantik_runtime::redis::Store;

use crate::operator::Sessionizer;

const OFFSET_FIELD: &str = "__offset";

fn key(store: &Store, stage: &str, topic: &str, partition: i32) -> String {
    store.key(&["snapshot", stage, topic, &partition.to_string()])
}

/// A partition's restored state: the operator and the first offset it has not seen.
#[derive(Debug, Default)]
pub struct Restored {
    pub operator: Sessionizer,
    pub next_offset: i64,
}

/// Loads the snapshot of `topic`/`partition` (empty state when there is none).
pub async fn load(
    store: &Store,
    stage: &str,
    topic: &str,
    partition: i32,
) -> redis::RedisResult<Restored> {
    let mut c = store.conn().await?;
    let fields: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(key(store, stage, topic, partition))
        .query_async(&mut c)
        .await?;
    let mut restored = Restored::default();
    for (field, value) in fields {
        if field == OFFSET_FIELD {
            restored.next_offset = value.parse().unwrap_or(0);
        } else if let Err(e) = restored.operator.import(field, &value) {
            tracing::warn!(error = %e, "unreadable visitor in snapshot; skipped");
        }
    }
    Ok(restored)
}

/// Saves `visitors` (key, JSON) of `topic`/`partition` and the next offset, in one round trip.
pub async fn save(
    store: &Store,
    stage: &str,
    topic: &str,
    partition: i32,
    visitors: &[(String, String)],
    next_offset: i64,
) -> redis::RedisResult<()> {
    let mut c = store.conn().await?;
    let mut cmd = redis::cmd("HSET");
    cmd.arg(key(store, stage, topic, partition))
        .arg(OFFSET_FIELD)
        .arg(next_offset);
    for (k, v) in visitors {
        cmd.arg(k).arg(v);
    }
    cmd.query_async::<()>(&mut c).await
}
