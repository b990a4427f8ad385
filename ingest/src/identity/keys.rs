//! API keys: `evp_` + 32 random bytes (base64url), shown once; Redis keeps only the SHA-256, with the key's
//! site, owner, name and rate. Lookups are cached for 10 seconds so the ingest path does not pay a Redis
//! round trip per request; a revoked key stops working within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use redis::AsyncCommands;

use super::codes::sha256_hex;
use opsmantik_runtime::redis::Store;

const CACHE_TTL: Duration = Duration::from_secs(10);

/// What a key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// SHA-256 of the key (its id everywhere; the key itself is never stored).
    pub id: String,
    pub site: String,
    pub user_id: String,
    pub name: String,
    /// Events per minute; 0 = unlimited.
    pub rate_per_minute: u32,
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
}

/// The key a request carries: `x-api-key`, else `Authorization: Bearer`.
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_string()).filter(|k| !k.is_empty());
    }
    let auth = headers.get("authorization")?.to_str().ok()?;
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))?;
    Some(token.trim().to_string()).filter(|k| !k.is_empty())
}

/// Creates a key for `site` owned by `user_id`; returns the key (the only time it exists in clear).
pub async fn create(
    store: &Store,
    site: &str,
    user_id: &str,
    name: &str,
    rate: u32,
) -> redis::RedisResult<String> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let key = format!("evp_{}", URL_SAFE_NO_PAD.encode(bytes));
    let id = sha256_hex(&key);
    let mut c = store.conn().await?;
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let _: () = c
        .hset_multiple(
            store.key(&["auth", "apikey", &id]),
            &[
                ("site", site),
                ("user_id", user_id),
                ("name", name),
                ("rate", &rate.to_string()),
                ("created_at", &created),
            ],
        )
        .await?;
    Ok(key)
}

/// The record of `key`, if it is a live key.
pub async fn lookup(
    store: &Store,
    cache: &KeyCache,
    key: &str,
) -> redis::RedisResult<Option<KeyRecord>> {
    let id = sha256_hex(key);
    if let Some(hit) = cache.get(&id) {
        return Ok(hit);
    }
    let mut c = store.conn().await?;
    let fields: HashMap<String, String> = c.hgetall(store.key(&["auth", "apikey", &id])).await?;
    let record = match (fields.get("site"), fields.get("revoked")) {
        (Some(site), None) => Some(KeyRecord {
            id: id.clone(),
            site: site.clone(),
            user_id: fields.get("user_id").cloned().unwrap_or_default(),
            name: fields.get("name").cloned().unwrap_or_default(),
            rate_per_minute: fields.get("rate").and_then(|r| r.parse().ok()).unwrap_or(0),
        }),
        _ => None,
    };
    cache.put(id, record.clone());
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keys_come_from_x_api_key_or_bearer() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(presented_key(&h).as_deref(), Some("abc"));
        h.insert("x-api-key", HeaderValue::from_static("xyz"));
        assert_eq!(presented_key(&h).as_deref(), Some("xyz"));
    }
}
