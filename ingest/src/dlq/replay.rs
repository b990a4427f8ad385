//! Replaying one dead letter: its stored record is published again to its source topic, marked with the dead
//! letter's id and the replay's number (`Replay`), so only the stage that refused it processes it again and a
//! second refusal comes back under the same id with `replay_count` = that number. The record keeps its bytes,
//! so every id derived from it (event ids, call ids, delivery ids) is the same: a replay that succeeds twice
//! lands once. Every replay that reached a stored record is audited (`dlq_replayed`), success or failure.
//! The edge route and `opsmantik-admin dlq replay` both go through [`replay`].

use std::sync::Arc;
use std::time::Duration;

use opsmantik_runtime::kafka::{OutRecord, Publisher, Replay};
use opsmantik_runtime::redis::Store;
use opsmantik_schemas::{LetterId, Topic, Topics};
use serde_json::json;

use super::store;
use crate::app::state::AppState;

/// What replaying needs: the stores and a way to the broker.
#[derive(Clone)]
pub struct Dlq {
    pub clickhouse: clickhouse::Client,
    pub redis: Store,
    pub publisher: Arc<dyn Publisher>,
    pub topics: Topics,
    pub publish_timeout: Duration,
}

impl std::fmt::Debug for Dlq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dlq").field("topics", &self.topics).finish()
    }
}

impl Dlq {
    pub fn of(state: &AppState) -> Self {
        Self {
            clickhouse: state.clickhouse.clone(),
            redis: state.redis.clone(),
            publisher: state.publisher.clone(),
            topics: state.topics.clone(),
            publish_timeout: state.publish_timeout,
        }
    }

    async fn publish(&self, record: OutRecord) -> Result<(), String> {
        match tokio::time::timeout(
            self.publish_timeout,
            self.publisher.publish_batch(vec![record]),
        )
        .await
        {
            Ok(mut outcomes) => match outcomes.pop() {
                Some((_, Ok(()))) => Ok(()),
                Some((_, Err(e))) => Err(e.to_string()),
                None => Err("no outcome".into()),
            },
            Err(_) => Err(format!(
                "the broker did not acknowledge within {} ms",
                self.publish_timeout.as_millis()
            )),
        }
    }
}

/// Who replays, as the audit names them.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayer {
    pub actor: String,
    pub user_id: Option<String>,
    pub email: Option<String>,
}

/// Why a replay did not happen or did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    #[error("`{0}` is not a dead letter id (<topic>:<partition>:<offset>:<stage>)")]
    BadId(String),
    #[error("no dead letter has id `{0}`")]
    NotFound(String),
    /// The record cannot go back where it came from (audited).
    #[error("{0}")]
    NotReplayable(String),
    /// A store could not be read or written; nothing was published.
    #[error("store unavailable: {0}")]
    Store(String),
    /// The broker did not take the record (audited, counted as a replay).
    #[error("{0}")]
    Publish(String),
}

/// Replays dead letter `id`; returns its replay count after this replay.
pub async fn replay(dlq: &Dlq, by: &Replayer, id: &str) -> Result<u32, ReplayError> {
    let letter = LetterId::parse(id).ok_or_else(|| ReplayError::BadId(id.to_string()))?;
    let stored = store::stored(&dlq.clickhouse, &letter)
        .await
        .map_err(|e| ReplayError::Store(e.to_string()))?
        .ok_or_else(|| ReplayError::NotFound(id.to_string()))?;
    let record = match replayable(&dlq.topics, &letter, &stored) {
        Ok(r) => r,
        Err(why) => {
            audit(dlq, by, id, None, Some(&why)).await;
            return Err(ReplayError::NotReplayable(why));
        }
    };
    let count = store::count_replay(&dlq.redis, id)
        .await
        .map_err(|e| ReplayError::Store(e.to_string()))?;
    let record = OutRecord {
        replay: Some(Replay {
            of: id.to_string(),
            count,
        }),
        ..record
    };
    let outcome = dlq.publish(record).await;
    let error = outcome.as_ref().err().map(String::as_str);
    if let Err(e) = store::finish_replay(&dlq.redis, id, opsmantik_runtime::now_ms(), error).await {
        tracing::warn!(error = %e, id, "replay outcome not recorded");
    }
    audit(dlq, by, id, Some(count), error).await;
    outcome.map(|()| count).map_err(ReplayError::Publish)
}

/// The record to publish again, or why it cannot be.
fn replayable(topics: &Topics, id: &LetterId, stored: &store::Stored) -> Result<OutRecord, String> {
    match topics.topic_of(&id.topic) {
        None => return Err(format!("`{}` is not a topic of this deployment", id.topic)),
        Some(Topic::Dlq) => {
            return Err("a dead letter of the DLQ topic itself is not replayed".into())
        }
        Some(_) => {}
    }
    if id.partition < 0 {
        return Err(format!(
            "the record was an output of `{}` that no input caused (a timer's); it has no source to replay",
            id.stage
        ));
    }
    let key = hex::decode(&stored.record_key).map_err(|e| format!("stored key: {e}"))?;
    let payload = hex::decode(&stored.payload).map_err(|e| format!("stored record: {e}"))?;
    Ok(OutRecord::new(id.topic.clone(), key, payload))
}

async fn audit(dlq: &Dlq, by: &Replayer, id: &str, count: Option<u32>, error: Option<&str>) {
    let detail = json!({
        "replayed_by_user_id": by.user_id,
        "replayed_by_email": by.email,
        "replay_count_after": count,
        "error_if_failed": error,
    });
    let Some(out) = crate::audit::out_record(&dlq.topics, &by.actor, ACTION, id, &detail) else {
        return;
    };
    if dlq.publish(out).await.is_err() {
        crate::audit::failed(ACTION);
    }
}

/// The audit action of a replay.
pub const ACTION: &str = "dlq_replayed";
