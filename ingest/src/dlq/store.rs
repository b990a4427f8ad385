//! Where dead letters are read from and replays are counted: the `dead_letters` table in ClickHouse (every
//! dead letter, one row per failure; a replay that fails again adds a row under the same id with a higher
//! `replay_count`) and one Redis hash per replayed dead letter (count, last replay time, last publish error),
//! so a replay's count is exact and visible at once on every edge.

use opsmantik_runtime::redis::Store;
use opsmantik_schemas::LetterId;
use redis::AsyncCommands;
use serde::Deserialize;

/// The latest row of each dead letter, with its first failure time, as the list reads it.
const LATEST: &str = "SELECT \
    concat(source_topic, ':', toString(source_partition), ':', toString(source_offset), ':', stage) AS id, \
    toInt64(min(failed_at)) AS received_at, argMax(site, replay_count) AS letter_site, stage, \
    argMax(reason, replay_count) AS last_reason, argMax(detail, replay_count) AS last_detail, \
    source_topic, source_partition, source_offset, max(replay_count) AS failed_replays \
    FROM dead_letters WHERE (? = '' OR site IN (?, ?)) AND (? = '' OR stage = ?) \
    GROUP BY source_topic, source_partition, source_offset, stage";

/// One dead letter as listed.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct Letter {
    pub id: String,
    /// Unix seconds of the first failure.
    pub received_at: i64,
    /// The `site` of the record carried ('' when it does not decode).
    pub letter_site: String,
    pub stage: String,
    /// Reason and detail of the latest failure.
    pub last_reason: String,
    pub last_detail: String,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    /// The highest replay after which the stage failed again (0: only the first failure).
    pub failed_replays: u32,
}

/// The list's filter and page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// The site's id and public id (a dead letter is filed under the `site` its record names).
    pub site: Option<(String, String)>,
    pub reason: Option<String>,
    pub stage: Option<String>,
    /// Unix seconds, first failure in `[from, to)`.
    pub from: i64,
    pub to: i64,
    pub limit: u32,
    pub offset: u64,
}

/// The total matching `f` and its page, newest first.
pub async fn list(
    ch: &clickhouse::Client,
    f: &Filter,
) -> Result<(u64, Vec<Letter>), clickhouse::error::Error> {
    let outer = "WHERE received_at >= ? AND received_at < ? AND (? = '' OR last_reason = ?)";
    let count = format!("SELECT count() FROM ({LATEST}) {outer}");
    let page = format!("SELECT * FROM ({LATEST}) {outer} ORDER BY received_at DESC, id LIMIT ?, ?");
    let bind = |q: clickhouse::query::Query| {
        let (id, public) = f.site.clone().unwrap_or_default();
        let stage = f.stage.clone().unwrap_or_default();
        let reason = f.reason.clone().unwrap_or_default();
        q.bind(&id)
            .bind(&id)
            .bind(&public)
            .bind(&stage)
            .bind(&stage)
            .bind(f.from)
            .bind(f.to)
            .bind(&reason)
            .bind(&reason)
    };
    let (total, items) = tokio::join!(
        bind(ch.query(&count)).fetch_one::<u64>(),
        bind(ch.query(&page))
            .bind(f.offset)
            .bind(f.limit)
            .fetch_all::<Letter>()
    );
    Ok((total?, items?))
}

/// What a replay needs of a dead letter: where its record came from and its bytes (hex, as stored).
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct Stored {
    pub record_key: String,
    pub payload: String,
}

/// The stored record of dead letter `id`, if there is one.
pub async fn stored(
    ch: &clickhouse::Client,
    id: &LetterId,
) -> Result<Option<Stored>, clickhouse::error::Error> {
    ch.query(
        "SELECT record_key, payload FROM dead_letters WHERE source_topic = ? AND source_partition = ? \
         AND source_offset = ? AND stage = ? ORDER BY replay_count LIMIT 1",
    )
    .bind(&id.topic)
    .bind(id.partition)
    .bind(id.offset)
    .bind(&id.stage)
    .fetch_optional()
    .await
}

/// A dead letter's replays as counted at the edge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replays {
    pub count: u32,
    /// Unix milliseconds of the last replay.
    pub last_at: Option<i64>,
    /// Why the last replay could not be published (cleared by a published one).
    pub last_error: Option<String>,
}

fn key(store: &Store, id: &str) -> String {
    store.key(&["dlq_replay", id])
}

/// The replays of each of `ids`, in order (one pipelined round trip).
pub async fn replays(store: &Store, ids: &[String]) -> redis::RedisResult<Vec<Replays>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.hgetall(key(store, id));
    }
    let maps: Vec<std::collections::HashMap<String, String>> =
        pipe.query_async(&mut store.conn().await?).await?;
    Ok(maps
        .into_iter()
        .map(|m| Replays {
            count: m.get("count").and_then(|c| c.parse().ok()).unwrap_or(0),
            last_at: m.get("last_at").and_then(|c| c.parse().ok()),
            last_error: m.get("last_error").cloned(),
        })
        .collect())
}

/// Counts a new replay of `id` and returns its number.
pub async fn count_replay(store: &Store, id: &str) -> redis::RedisResult<u32> {
    store.conn().await?.hincr(key(store, id), "count", 1).await
}

/// Records how replay of `id` at `at` went (`error` when it could not be published).
pub async fn finish_replay(
    store: &Store,
    id: &str,
    at: i64,
    error: Option<&str>,
) -> redis::RedisResult<()> {
    let k = key(store, id);
    let mut pipe = redis::pipe();
    pipe.hset(&k, "last_at", at);
    match error {
        Some(e) => pipe.hset(&k, "last_error", e),
        None => pipe.hdel(&k, "last_error"),
    };
    pipe.query_async(&mut store.conn().await?).await
}
