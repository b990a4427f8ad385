//! The scheduled-delivery store in Redis: the consumer hands every delivery over here (then its offset is
//! committed), and the dispatcher sends what is due. Retries wait here, not in the consumer, so one dead
//! endpoint never holds back a partition; deliveries claimed by a dispatcher carry a lease, so a sink killed
//! mid-send sends them again after the lease (receivers dedupe on the delivery id).
//!
//! Layout: `webhooks:due` (sorted set, score = when due or when the lease ends, member `<webhook>|<delivery>`),
//! `webhook_delivery:<delivery>` (hash: `record` JSON, `attempt`, `state`, `first_at`, the Kafka source for the
//! dead-letter topic). A finished delivery's hash stays 7 days, so a replayed record is not sent again.

use std::collections::HashMap;

use ::redis::AsyncCommands;
use opsmantik_runtime::redis::Store;
use opsmantik_schemas::WebhookDelivery;

/// How long a finished delivery is remembered (a replay within it is skipped).
const DONE_TTL_SECS: i64 = 7 * 24 * 3600;

/// Enters a delivery unless known: hash fields, then due now. Returns 1 when entered. A delivery replayed
/// from the DLQ (ARGV[8] = the dead letter's id) enters again when it was given up (`dead` or `failed`), as a
/// fresh delivery; never when it was delivered or is still pending.
const ENQUEUE: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[8] == '' then return 0 end
  local s = redis.call('HGET', KEYS[1], 'state')
  if s ~= 'dead' and s ~= 'failed' then return 0 end
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'attempt', 0, 'state', 'queued', 'first_at', ARGV[2],
  'src_topic', ARGV[4], 'src_partition', ARGV[5], 'src_offset', ARGV[6], 'src_payload', ARGV[7],
  'src_replay_of', ARGV[8], 'src_replay_count', ARGV[9])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1";
/// Moves a member still due at ARGV[1] to ARGV[2] (a claim's lease, or a deferral); 1 when moved.
const CLAIM: &str = "local s = redis.call('ZSCORE', KEYS[1], ARGV[3])
if s and tonumber(s) <= tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0";

/// Where a delivery came from (for the dead-letter record).
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub payload: Vec<u8>,
    /// Set when the delivery was replayed from the DLQ.
    pub replay: Option<opsmantik_runtime::kafka::Replay>,
}

/// A claimed delivery with its attempt count so far and its first hand-over time.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub member: String,
    pub delivery: WebhookDelivery,
    pub attempts: u32,
    pub first_at: i64,
    pub source: Source,
}

fn due_key(store: &Store) -> String {
    store.key(&["webhooks", "due"])
}

fn record_key(store: &Store, delivery: &str) -> String {
    store.key(&["webhook_delivery", delivery])
}

/// `<webhook>|<delivery>`.
pub fn member(d: &WebhookDelivery) -> String {
    format!("{}|{}", d.webhook_id, d.delivery_id)
}

/// The webhook of a member.
pub fn webhook_of(member: &str) -> &str {
    member.split_once('|').map_or(member, |(w, _)| w)
}

fn encoding(e: serde_json::Error) -> ::redis::RedisError {
    ::redis::RedisError::from((
        ::redis::ErrorKind::TypeError,
        "webhook delivery",
        e.to_string(),
    ))
}

/// Hands deliveries over (one pipelined round trip); known ones are skipped.
pub async fn enqueue(
    store: &Store,
    items: &[(WebhookDelivery, Source)],
    now: i64,
) -> ::redis::RedisResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut pipe = ::redis::pipe();
    for (d, src) in items {
        let json = serde_json::to_string(d).map_err(encoding)?;
        pipe.cmd("EVAL")
            .arg(ENQUEUE)
            .arg(2)
            .arg(record_key(store, &d.delivery_id))
            .arg(due_key(store))
            .arg(json)
            .arg(now)
            .arg(member(d))
            .arg(&src.topic)
            .arg(src.partition)
            .arg(src.offset)
            .arg(&src.payload[..])
            .arg(src.replay.as_ref().map_or("", |r| r.of.as_str()))
            .arg(src.replay.as_ref().map_or(0, |r| r.count))
            .ignore();
    }
    let mut c = store.conn().await?;
    pipe.query_async::<()>(&mut c).await
}

/// Up to `n` members due at `now`, soonest first.
pub async fn due(store: &Store, now: i64, n: usize) -> ::redis::RedisResult<Vec<String>> {
    let mut c = store.conn().await?;
    c.zrangebyscore_limit(due_key(store), "-inf", now, 0, n as isize)
        .await
}

/// Moves each of `members` still due at `now` to `until` (one pipelined round trip); whether each moved.
/// A claim's lease and a busy endpoint's deferral; a member another dispatcher moved meanwhile is left alone.
async fn move_due(
    store: &Store,
    members: &[String],
    now: i64,
    until: i64,
) -> ::redis::RedisResult<Vec<bool>> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = ::redis::pipe();
    for m in members {
        pipe.cmd("EVAL")
            .arg(CLAIM)
            .arg(1)
            .arg(due_key(store))
            .arg(now)
            .arg(until)
            .arg(m);
    }
    let mut c = store.conn().await?;
    let moved: Vec<i64> = pipe.query_async(&mut c).await?;
    Ok(moved.into_iter().map(|m| m == 1).collect())
}

/// Defers `members` still due at `now` to `until`.
pub async fn defer(
    store: &Store,
    members: &[String],
    now: i64,
    until: i64,
) -> ::redis::RedisResult<()> {
    move_due(store, members, now, until).await.map(drop)
}

fn claimed(
    member: &str,
    fields: &HashMap<String, Vec<u8>>,
) -> Result<Option<Claimed>, ::redis::RedisError> {
    let text = |k: &str| {
        fields
            .get(k)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let Some(record) = fields.get("record") else {
        return Ok(None);
    };
    Ok(Some(Claimed {
        member: member.to_string(),
        delivery: serde_json::from_slice(record).map_err(encoding)?,
        attempts: text("attempt").parse().unwrap_or(0),
        first_at: text("first_at").parse().unwrap_or(0),
        source: Source {
            topic: text("src_topic"),
            partition: text("src_partition").parse().unwrap_or(-1),
            offset: text("src_offset").parse().unwrap_or(-1),
            payload: fields.get("src_payload").cloned().unwrap_or_default(),
            replay: Some(text("src_replay_of"))
                .filter(|of| !of.is_empty())
                .map(|of| opsmantik_runtime::kafka::Replay {
                    of,
                    count: text("src_replay_count").parse().unwrap_or(1),
                }),
        },
    }))
}

/// Claims `members` until `lease_until`, with their records, in two pipelined round trips; those another
/// dispatcher has are left out, and those whose record is gone (expired) leave the schedule.
pub async fn claim_all(
    store: &Store,
    members: &[String],
    now: i64,
    lease_until: i64,
) -> ::redis::RedisResult<Vec<Claimed>> {
    let won: Vec<&String> = members
        .iter()
        .zip(move_due(store, members, now, lease_until).await?)
        .filter_map(|(m, moved)| moved.then_some(m))
        .collect();
    if won.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = ::redis::pipe();
    for m in &won {
        pipe.hgetall(record_key(store, m.split_once('|').map_or("", |(_, d)| d)));
    }
    let mut c = store.conn().await?;
    let records: Vec<HashMap<String, Vec<u8>>> = pipe.query_async(&mut c).await?;
    let (mut out, mut gone) = (Vec::new(), Vec::new());
    for (m, fields) in won.into_iter().zip(records) {
        match claimed(m, &fields)? {
            Some(cl) => out.push(cl),
            None => gone.push(m.clone()),
        }
    }
    if !gone.is_empty() {
        let _: () = c.zrem(due_key(store), gone).await?;
    }
    Ok(out)
}

/// Records an attempt that will be tried again at `due`.
pub async fn retry(store: &Store, c: &Claimed, due: i64) -> ::redis::RedisResult<()> {
    let mut conn = store.conn().await?;
    ::redis::pipe()
        .hset(
            record_key(store, &c.delivery.delivery_id),
            "attempt",
            c.attempts + 1,
        )
        .ignore()
        .hset(
            record_key(store, &c.delivery.delivery_id),
            "state",
            "retrying",
        )
        .ignore()
        .zadd(due_key(store), &c.member, due)
        .ignore()
        .query_async::<()>(&mut conn)
        .await
}

/// Finishes a delivery in `state` (delivered, failed, dead): no longer due, remembered 7 days.
pub async fn finish(store: &Store, c: &Claimed, state: &str) -> ::redis::RedisResult<()> {
    let key = record_key(store, &c.delivery.delivery_id);
    let mut conn = store.conn().await?;
    ::redis::pipe()
        .atomic()
        .hset(&key, "attempt", c.attempts + 1)
        .ignore()
        .hset(&key, "state", state)
        .ignore()
        .hdel(&key, "src_payload")
        .ignore()
        .expire(&key, DONE_TTL_SECS)
        .ignore()
        .zrem(due_key(store), &c.member)
        .ignore()
        .query_async::<()>(&mut conn)
        .await
}
