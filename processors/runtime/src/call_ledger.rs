//! The call ledger in Redis: the current version of every call, the one place its state is decided.
//!
//! - The Redis overlay writes each `CallRecord` it reads from `opsmantik.calls.v1` unless the ledger already
//!   holds that version or a newer one ([`absorb`]): the call-matcher's calls enter here.
//! - The edge changes a call (status, seal, auto-approve, export) by compare-and-set on its version
//!   ([`replace`]), then publishes the new version to the topic (ClickHouse keeps every version). Two
//!   operators on two edges acting on one call: one wins, the other learns the current version.
//!
//! Keys (the site as hash tag, so one call's keys share a cluster slot): `call:{site}:<id>` (hash: `version`,
//! `record` as JSON), `calls:{site}:created` (sorted by creation time), `calls:{site}:confirmed` (sorted by
//! confirmation time, for the day's conversion export); and `call_site:<id>` → site, for routes that name
//! only the call. Calls are kept: they are the product's records (about 1–2 KB each).

use ::redis::AsyncCommands;
use opsmantik_schemas::CallRecord;

use crate::redis::Store;

/// Writes `record` if the stored version is older (mode `newer`) or equals the expected one (mode
/// `expect`); keeps both indexes. Returns `{1, version}` when written, `{0, stored version}` otherwise
/// (-1: none).
const PUT: &str = "local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
local v = tonumber(ARGV[3])
if ARGV[1] == 'newer' then
  if cur >= v then return {0, cur} end
elseif cur ~= tonumber(ARGV[2]) then
  return {0, cur}
end
redis.call('HSET', KEYS[1], 'version', ARGV[3], 'record', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[7])
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7])
else
  redis.call('ZREM', KEYS[3], ARGV[7])
end
return {1, v}";

/// Statuses that count as a confirmed call (and are exported as conversions).
pub const CONFIRMED: [&str; 3] = ["confirmed", "qualified", "real"];

fn record_key(store: &Store, site: &str, id: &str) -> String {
    store.site_key("call", site, id)
}

fn created_key(store: &Store, site: &str) -> String {
    store.site_key("calls", site, "created")
}

fn confirmed_key(store: &Store, site: &str) -> String {
    store.site_key("calls", site, "confirmed")
}

fn site_of_key(store: &Store, id: &str) -> String {
    store.key(&["call_site", id])
}

fn put(
    pipe: &mut ::redis::Pipeline,
    store: &Store,
    mode: &str,
    expected: i64,
    record: &CallRecord,
) -> Result<(), serde_json::Error> {
    let json = serde_json::to_string(record)?;
    let confirmed = record
        .confirmed_at
        .filter(|_| CONFIRMED.contains(&record.status.as_str()))
        .map(|t| t.to_string())
        .unwrap_or_default();
    pipe.cmd("EVAL")
        .arg(PUT)
        .arg(3)
        .arg(record_key(store, &record.site, &record.call_id))
        .arg(created_key(store, &record.site))
        .arg(confirmed_key(store, &record.site))
        .arg(mode)
        .arg(expected)
        .arg(record.version)
        .arg(json)
        .arg(record.created_at)
        .arg(confirmed)
        .arg(&record.call_id);
    Ok(())
}

fn encoding(e: serde_json::Error) -> ::redis::RedisError {
    ::redis::RedisError::from((
        ::redis::ErrorKind::TypeError,
        "call record not encodable",
        e.to_string(),
    ))
}

/// Takes calls from the topic: each is written unless the ledger holds its version or a newer one. One
/// pipelined round trip; a replayed record changes nothing.
pub async fn absorb(store: &Store, records: &[CallRecord]) -> ::redis::RedisResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut pipe = ::redis::pipe();
    for r in records {
        put(&mut pipe, store, "newer", 0, r).map_err(encoding)?;
        pipe.ignore();
        pipe.set(site_of_key(store, &r.call_id), &r.site).ignore();
    }
    let mut c = store.conn().await?;
    pipe.query_async::<()>(&mut c).await
}

/// Writes `next` if the call is still at version `expected`; else `Err(current version)`.
pub async fn replace(
    store: &Store,
    expected: i64,
    next: &CallRecord,
) -> ::redis::RedisResult<Result<(), i64>> {
    let mut pipe = ::redis::pipe();
    put(&mut pipe, store, "expect", expected, next).map_err(encoding)?;
    let mut c = store.conn().await?;
    let ((written, version),): ((i64, i64),) = pipe.query_async(&mut c).await?;
    Ok(if written == 1 { Ok(()) } else { Err(version) })
}

/// The call `id`, if the ledger has it.
pub async fn get(store: &Store, id: &str) -> ::redis::RedisResult<Option<CallRecord>> {
    let mut c = store.conn().await?;
    let site: Option<String> = c.get(site_of_key(store, id)).await?;
    let Some(site) = site else { return Ok(None) };
    let json: Option<String> = c.hget(record_key(store, &site, id), "record").await?;
    json.map(|j| serde_json::from_str(&j).map_err(encoding))
        .transpose()
}

async fn records(
    store: &Store,
    site: &str,
    ids: &[String],
) -> ::redis::RedisResult<Vec<CallRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = ::redis::pipe();
    for id in ids {
        pipe.hget(record_key(store, site, id), "record");
    }
    let mut c = store.conn().await?;
    let found: Vec<Option<String>> = pipe.query_async(&mut c).await?;
    found
        .into_iter()
        .flatten()
        .map(|j| serde_json::from_str(&j).map_err(encoding))
        .collect()
}

/// The site's calls created in `[from, to]` (ms), newest first, skipping `skip` and at most `limit`.
pub async fn created_between(
    store: &Store,
    site: &str,
    (from, to): (i64, i64),
    skip: usize,
    limit: usize,
) -> ::redis::RedisResult<Vec<CallRecord>> {
    let mut c = store.conn().await?;
    let ids: Vec<String> = c
        .zrevrangebyscore_limit(
            created_key(store, site),
            to,
            from,
            skip as isize,
            limit as isize,
        )
        .await?;
    records(store, site, &ids).await
}

/// The site's calls confirmed in `[from, to)` (ms), oldest first.
pub async fn confirmed_between(
    store: &Store,
    site: &str,
    (from, to): (i64, i64),
) -> ::redis::RedisResult<Vec<CallRecord>> {
    let mut c = store.conn().await?;
    let ids: Vec<String> = c
        .zrangebyscore(confirmed_key(store, site), from, format!("({to}"))
        .await?;
    records(store, site, &ids).await
}
