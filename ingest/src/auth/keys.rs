//! The one API-key system. A key is `evp_` + 32 random bytes (base64url), shown once; Redis keeps only its
//! SHA-256 with the key's site, creator, name, rate and scopes (`auth:apikey:<sha256>`), and each site lists
//! its keys' hashes (`site:{<id>}:keys`). Every API family (event API, analytics, Callflow, realtime, site
//! status, summary, export) authenticates with these keys.
//!
//! Lookups are cached for [`CACHE_TTL`] per edge so the ingest path does not pay a Redis round trip per
//! request; a revoked key stops working on this edge at once and on every other edge within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use redis::AsyncCommands;

use super::sha256_hex;
use super::store::AuthStore;
use opsmantik_runtime::redis::Store;

/// How long an edge trusts a looked-up key (or a miss) before asking Redis again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Write events (event API, Callflow writes).
    Ingest,
    /// Read analytics, stats, status, call-flow events.
    Read,
    /// Pull conversion exports.
    Export,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Ingest, Scope::Read, Scope::Export];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "export" => Some(Scope::Export),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Export => "export",
        }
    }
}

/// What a key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// SHA-256 of the key (the key itself is never stored).
    pub id: String,
    /// The site's public id (the tenant every record of this key is written to).
    pub site: String,
    /// The site's internal id.
    pub site_id: String,
    pub user_id: String,
    pub name: String,
    /// Events per minute.
    pub rate_per_minute: u32,
    pub scopes: Vec<Scope>,
    pub created_at: String,
}

impl KeyRecord {
    /// The short id shown in listings and used to revoke (the first 16 hex digits of the hash).
    pub fn key_id(&self) -> &str {
        &self.id[..self.id.len().min(16)]
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A short-lived cache of lookups (hits and misses).
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Instant, Option<KeyRecord>)>>,
}

impl KeyCache {
    fn get(&self, id: &str) -> Option<Option<KeyRecord>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(id)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, r)| r.clone())
    }

    fn put(&self, id: String, record: Option<KeyRecord>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 100_000 {
            entries.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        }
        entries.insert(id, (Instant::now(), record));
    }

    fn forget(&self, id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// The token after `Authorization: Bearer` (scheme matched case-insensitively, as HTTP says).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The API key a request carries: `x-api-key`, else an `evp_` bearer token.
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_string()).filter(|k| !k.is_empty());
    }
    bearer(headers)
        .filter(|t| t.starts_with("evp_"))
        .map(str::to_string)
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub site_public_id: &'a str,
    pub site_id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub rate_per_minute: u32,
    pub scopes: &'a [Scope],
}

fn record_key(store: &Store, id: &str) -> String {
    store.key(&["auth", "apikey", id])
}

fn site_keys(store: &Store, site_id: &str) -> String {
    store.site_key("site", site_id, "keys")
}

/// A fresh key and its record (not stored).
pub fn mint(new: NewKey<'_>) -> (String, KeyRecord) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let key = format!("evp_{}", URL_SAFE_NO_PAD.encode(bytes));
    let record = KeyRecord {
        id: sha256_hex(&key),
        site: new.site_public_id.into(),
        site_id: new.site_id.into(),
        user_id: new.user_id.into(),
        name: new.name.into(),
        rate_per_minute: new.rate_per_minute,
        scopes: new.scopes.to_vec(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    (key, record)
}

/// Creates a key; returns it (the only time it exists in clear) and its record.
pub async fn create(store: &Store, new: NewKey<'_>) -> redis::RedisResult<(String, KeyRecord)> {
    let (key, record) = mint(new);
    let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
    let mut c = store.conn().await?;
    redis::pipe()
        .hset_multiple(
            record_key(store, &record.id),
            &[
                ("site", record.site.as_str()),
                ("site_id", &record.site_id),
                ("user_id", &record.user_id),
                ("name", &record.name),
                ("rate", &record.rate_per_minute.to_string()),
                ("scopes", &scopes.join(",")),
                ("created_at", &record.created_at),
                ("prefix", &key[..8]),
            ],
        )
        .sadd(site_keys(store, &record.site_id), &record.id)
        .query_async::<()>(&mut c)
        .await?;
    Ok((key, record))
}

fn from_fields(id: &str, fields: &HashMap<String, String>) -> Option<KeyRecord> {
    if fields.contains_key("revoked") {
        return None;
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let scopes = match fields.get("scopes") {
        // Keys made before scopes existed may do everything they could do then.
        None => Scope::ALL.to_vec(),
        Some(s) => s.split(',').filter_map(Scope::parse).collect(),
    };
    Some(KeyRecord {
        id: id.to_string(),
        site: fields.get("site")?.clone(),
        site_id: get("site_id"),
        user_id: get("user_id"),
        name: get("name"),
        rate_per_minute: fields.get("rate").and_then(|r| r.parse().ok()).unwrap_or(0),
        scopes,
        created_at: get("created_at"),
    })
}

/// The record of `key`, if it is a live key, through the edge's short-lived cache. A read of the store also
/// stamps the key's `last_used_at` (so that stamp is at most [`CACHE_TTL`] behind per edge, without a write per
/// request).
pub async fn lookup(
    store: &dyn AuthStore,
    cache: &KeyCache,
    key: &str,
) -> redis::RedisResult<Option<KeyRecord>> {
    let id = sha256_hex(key);
    if let Some(hit) = cache.get(&id) {
        return Ok(hit);
    }
    let record = store.key_record(&id).await?;
    cache.put(id, record.clone());
    Ok(record)
}

/// The live record with id `id` in Redis, stamping its last use off the request path.
pub(super) async fn read_record(store: &Store, id: &str) -> redis::RedisResult<Option<KeyRecord>> {
    let mut c = store.conn().await?;
    let fields: HashMap<String, String> = c.hgetall(record_key(store, id)).await?;
    let record = from_fields(id, &fields);
    if record.is_some() {
        // A stamp for listings: written off the request path, its failure is not the request's.
        let (key, now) = (
            record_key(store, id),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        tokio::spawn(async move {
            let _: redis::RedisResult<()> = c.hset(key, "last_used_at", now).await;
        });
    }
    Ok(record)
}

/// A key as listed to its site's owners (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub prefix: String,
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<&'static str>,
    pub rate_limit_per_minute: u32,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The live keys of `site_id`, oldest first.
pub async fn list(store: &Store, site_id: &str) -> redis::RedisResult<Vec<Listed>> {
    let mut c = store.conn().await?;
    let ids: Vec<String> = c.smembers(site_keys(store, site_id)).await?;
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.hgetall(record_key(store, id));
    }
    let rows: Vec<HashMap<String, String>> = pipe.query_async(&mut c).await?;
    let mut out: Vec<Listed> = ids
        .iter()
        .zip(&rows)
        .filter_map(|(id, f)| {
            let r = from_fields(id, f)?;
            Some(Listed {
                id: r.key_id().to_string(),
                prefix: f.get("prefix").cloned().unwrap_or_else(|| "evp_".into()),
                scopes: r.scopes.iter().map(|s| s.as_str()).collect(),
                rate_limit_per_minute: r.rate_per_minute,
                last_used_at: f.get("last_used_at").cloned(),
                name: r.name,
                created_at: r.created_at,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    Ok(out)
}

/// Revokes the key of `site_id` whose short id is `key_id`; `false` when the site has no such key.
pub async fn revoke(
    store: &Store,
    cache: &KeyCache,
    site_id: &str,
    key_id: &str,
) -> redis::RedisResult<bool> {
    if key_id.len() != 16 || !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let mut c = store.conn().await?;
    let ids: Vec<String> = c.smembers(site_keys(store, site_id)).await?;
    let Some(id) = ids.into_iter().find(|i| i.starts_with(key_id)) else {
        return Ok(false);
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    redis::pipe()
        .hset(record_key(store, &id), "revoked", now)
        .srem(site_keys(store, site_id), &id)
        .query_async::<()>(&mut c)
        .await?;
    cache.forget(&id);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keys_come_from_x_api_key_or_an_evp_bearer_in_any_case() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert(
            "authorization",
            HeaderValue::from_static("Bearer a.jwt.token"),
        );
        assert_eq!(presented_key(&h), None, "a JWT is not an API key");
        assert_eq!(bearer(&h), Some("a.jwt.token"));
        h.insert("authorization", HeaderValue::from_static("bearer evp_abc"));
        assert_eq!(presented_key(&h).as_deref(), Some("evp_abc"));
        h.insert(
            "authorization",
            HeaderValue::from_static("BEARER  evp_abc "),
        );
        assert_eq!(presented_key(&h).as_deref(), Some("evp_abc"));
        h.insert("authorization", HeaderValue::from_static("Basic evp_abc"));
        assert_eq!(presented_key(&h), None);
        h.insert("x-api-key", HeaderValue::from_static("xyz"));
        assert_eq!(presented_key(&h).as_deref(), Some("xyz"));
    }

    #[test]
    fn stored_fields_read_back_and_revoked_keys_are_gone() {
        let mut f: HashMap<String, String> = [
            ("site", "pub"),
            ("site_id", "sid"),
            ("user_id", "u"),
            ("name", "n"),
            ("rate", "1000"),
            ("scopes", "read,bogus"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let r = from_fields("0123456789abcdef0123", &f).unwrap();
        assert_eq!(
            (r.key_id(), r.scopes.clone()),
            ("0123456789abcdef", vec![Scope::Read])
        );
        assert!(r.has(Scope::Read) && !r.has(Scope::Ingest));
        f.remove("scopes");
        assert_eq!(from_fields("x", &f).unwrap().scopes, Scope::ALL.to_vec());
        f.insert("revoked".into(), "now".into());
        assert_eq!(from_fields("x", &f), None);
    }
}
