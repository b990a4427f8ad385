//! Rules and webhooks (seed 002) as control-plane records in Redis: written by the edge, read by the rules
//! processor and the webhook sink, which reload a site's records when its generation changes (they poll
//! one counter per site set, so a change is live within seconds).
//!
//! Layout (the site's public id as hash tag): `webhook:{site}:<id>` and `rule:{site}:<id>` (JSON),
//! `webhooks:{site}:all` and `rules:{site}:all` (sets of ids), `automation:{site}:generation` (bumped on every
//! change), `automation:sites` (sites that have any).

use ::redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::redis::Store;

/// A webhook endpoint of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub site: String,
    pub url: String,
    /// Event names it is for (informational in seed 002; rules decide what is sent).
    pub events: Vec<String>,
    /// The signing secret; never shown again after creation.
    pub secret: String,
    pub created_at: i64,
}

/// One action of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    pub webhook_id: String,
}

/// A rule of a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub site: String,
    pub name: String,
    /// The conditions as given (compiled by whoever evaluates them).
    pub conditions: serde_json::Value,
    pub actions: Vec<Action>,
    pub enabled: bool,
    /// Bumped on every change: evaluators compile a rule once per version.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Webhook,
    Rule,
}

impl Kind {
    const fn name(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Rule => "rule",
        }
    }

    const fn set(self) -> &'static str {
        match self {
            Kind::Webhook => "webhooks",
            Kind::Rule => "rules",
        }
    }
}

fn record_key(store: &Store, kind: Kind, site: &str, id: &str) -> String {
    store.site_key(kind.name(), site, id)
}

fn set_key(store: &Store, kind: Kind, site: &str) -> String {
    store.site_key(kind.set(), site, "all")
}

fn generation_key(store: &Store, site: &str) -> String {
    store.site_key("automation", site, "generation")
}

fn sites_key(store: &Store) -> String {
    store.key(&["automation", "sites"])
}

fn bad_json(e: serde_json::Error) -> ::redis::RedisError {
    ::redis::RedisError::from((
        ::redis::ErrorKind::TypeError,
        "automation record",
        e.to_string(),
    ))
}

/// Stores `record` (a webhook or a rule) of `site` under `id`, and bumps the site's generation.
pub async fn put<T: Serialize>(
    store: &Store,
    kind: Kind,
    site: &str,
    id: &str,
    record: &T,
) -> ::redis::RedisResult<()> {
    let json = serde_json::to_string(record).map_err(bad_json)?;
    let mut c = store.conn().await?;
    ::redis::pipe()
        .atomic()
        .set(record_key(store, kind, site, id), json)
        .ignore()
        .sadd(set_key(store, kind, site), id)
        .ignore()
        .incr(generation_key(store, site), 1)
        .ignore()
        .sadd(sites_key(store), site)
        .ignore()
        .query_async::<()>(&mut c)
        .await
}

/// Deletes `id` of `site`; whether it existed.
pub async fn delete(store: &Store, kind: Kind, site: &str, id: &str) -> ::redis::RedisResult<bool> {
    let mut c = store.conn().await?;
    let (removed,): (i64,) = ::redis::pipe()
        .atomic()
        .del(record_key(store, kind, site, id))
        .srem(set_key(store, kind, site), id)
        .ignore()
        .incr(generation_key(store, site), 1)
        .ignore()
        .query_async(&mut c)
        .await?;
    Ok(removed == 1)
}

/// The record `id` of `site`, if any.
pub async fn get<T: for<'de> Deserialize<'de>>(
    store: &Store,
    kind: Kind,
    site: &str,
    id: &str,
) -> ::redis::RedisResult<Option<T>> {
    let mut c = store.conn().await?;
    let json: Option<String> = c.get(record_key(store, kind, site, id)).await?;
    json.map(|j| serde_json::from_str(&j).map_err(bad_json))
        .transpose()
}

/// Every record of `kind` of `site`.
pub async fn list<T: for<'de> Deserialize<'de>>(
    store: &Store,
    kind: Kind,
    site: &str,
) -> ::redis::RedisResult<Vec<T>> {
    let mut c = store.conn().await?;
    let ids: Vec<String> = c.smembers(set_key(store, kind, site)).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids
        .iter()
        .map(|id| record_key(store, kind, site, id))
        .collect();
    let found: Vec<Option<String>> = c.mget(keys).await?;
    found
        .into_iter()
        .flatten()
        .map(|j| serde_json::from_str(&j).map_err(bad_json))
        .collect()
}

/// Every site with rules or webhooks, with its generation.
pub async fn generations(store: &Store) -> ::redis::RedisResult<Vec<(String, i64)>> {
    let mut c = store.conn().await?;
    let sites: Vec<String> = c.smembers(sites_key(store)).await?;
    if sites.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = sites.iter().map(|s| generation_key(store, s)).collect();
    let gens: Vec<Option<i64>> = c.mget(keys).await?;
    Ok(sites
        .into_iter()
        .zip(gens)
        .map(|(s, g)| (s, g.unwrap_or(0)))
        .collect())
}
