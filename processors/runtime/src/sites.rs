//! Sites (tenants): id, short public id (what the tracker sends as `s`), name, domain, allowed origins,
//! signing secret (and the previous one during a rotation's grace period), time zone, currency and default deal
//! value. Stored in Redis (persisted with AOF) under `site:{<id>}` (the id is the hash tag, so a site's keys
//! share one Cluster slot), indexed by public id; the edge keeps a copy refreshed every few seconds, so
//! lookups on the hot path never wait for Redis.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ::redis::AsyncCommands;
use rand::RngCore;

use crate::redis::Store;

/// Default time zone of a new site (the seeds' TRT).
pub const DEFAULT_TIME_ZONE: &str = "Europe/Istanbul";

/// A site.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Site {
    pub id: String,
    pub public_id: String,
    pub name: String,
    pub domain: String,
    pub allowed_origins: Vec<String>,
    pub secret: String,
    pub time_zone: String,
    /// ISO 4217 code of the site's deal values (default TRY).
    pub currency: String,
    /// Value of a deal when the operator gives none (0 = none).
    pub default_deal_value: f64,
    /// The secret before the last rotation, still accepted until `previous_secret_until` (Unix seconds).
    pub previous_secret: String,
    pub previous_secret_until: i64,
    /// Refuse unsigned call events (`POST /api/call-event`): only `/api/call-event/v2` is taken.
    pub require_signed_calls: bool,
    /// The conversion name of the site's offline-conversion export (Google Ads' "Conversion Name").
    pub oci_conversion_name: String,
}

/// Default conversion name of the offline-conversion export.
pub const DEFAULT_CONVERSION_NAME: &str = "Sealed Lead";

/// Default currency of a new site.
pub const DEFAULT_CURRENCY: &str = "TRY";

impl Site {
    /// The secrets a signature may use now: the current one, and the previous one within its grace period.
    pub fn signing_secrets(&self, now_secs: i64) -> impl Iterator<Item = &str> {
        let previous = (!self.previous_secret.is_empty() && now_secs < self.previous_secret_until)
            .then_some(self.previous_secret.as_str());
        std::iter::once(self.secret.as_str()).chain(previous)
    }
}

fn record_key(store: &Store, id: &str) -> String {
    store.key(&["site", &format!("{{{id}}}")])
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// What a new site needs.
#[derive(Debug, Clone)]
pub struct NewSite {
    /// The public id to use; `None` for a generated one.
    pub public_id: Option<String>,
    pub name: String,
    pub domain: String,
    pub allowed_origins: Vec<String>,
    pub time_zone: Option<String>,
}

/// Creates a site with a fresh id and secret (and public id, unless one is given). Fails if the public id
/// is taken.
pub async fn create(store: &Store, new: NewSite) -> ::redis::RedisResult<Site> {
    let site = Site {
        id: uuid::Uuid::new_v4().to_string(),
        public_id: new.public_id.unwrap_or_else(|| random_hex(16)),
        name: new.name,
        domain: new.domain,
        allowed_origins: new.allowed_origins,
        secret: random_hex(32),
        time_zone: new.time_zone.unwrap_or_else(|| DEFAULT_TIME_ZONE.into()),
        currency: DEFAULT_CURRENCY.into(),
        default_deal_value: 0.0,
        previous_secret: String::new(),
        previous_secret_until: 0,
        require_signed_calls: false,
        oci_conversion_name: DEFAULT_CONVERSION_NAME.into(),
    };
    let mut c = store.conn().await?;
    let claimed: bool = c
        .set_nx(store.key(&["site_by_public", &site.public_id]), &site.id)
        .await?;
    if !claimed {
        return Err(redis::RedisError::from((
            redis::ErrorKind::ClientError,
            "public id already taken",
        )));
    }
    ::redis::pipe()
        .hset_multiple(record_key(store, &site.id), &fields(&site))
        .sadd(store.key(&["sites"]), &site.id)
        .query_async::<()>(&mut c)
        .await?;
    Ok(site)
}

/// The stored fields of `site`.
fn fields(site: &Site) -> Vec<(&'static str, String)> {
    vec![
        ("id", site.id.clone()),
        ("public_id", site.public_id.clone()),
        ("name", site.name.clone()),
        ("domain", site.domain.clone()),
        ("allowed_origins", site.allowed_origins.join(",")),
        ("secret", site.secret.clone()),
        ("time_zone", site.time_zone.clone()),
        ("currency", site.currency.clone()),
        ("default_deal_value", site.default_deal_value.to_string()),
        ("previous_secret", site.previous_secret.clone()),
        (
            "previous_secret_until",
            site.previous_secret_until.to_string(),
        ),
        (
            "require_signed_calls",
            u8::from(site.require_signed_calls).to_string(),
        ),
        ("oci_conversion_name", site.oci_conversion_name.clone()),
    ]
}

/// Writes every field of an existing `site` (after a change).
pub async fn save(store: &Store, site: &Site) -> ::redis::RedisResult<()> {
    let mut c = store.conn().await?;
    c.hset_multiple(record_key(store, &site.id), &fields(site))
        .await
}

/// Gives `site` a new secret; the old one stays valid for `grace_secs`. Returns the changed site.
pub async fn rotate_secret(
    store: &Store,
    site: &Site,
    grace_secs: i64,
) -> ::redis::RedisResult<Site> {
    let mut next = site.clone();
    next.previous_secret = std::mem::replace(&mut next.secret, random_hex(32));
    next.previous_secret_until = chrono::Utc::now().timestamp() + grace_secs;
    save(store, &next).await?;
    Ok(next)
}

/// One site by id, straight from Redis.
pub async fn get(store: &Store, id: &str) -> ::redis::RedisResult<Option<Site>> {
    let mut c = store.conn().await?;
    let m: HashMap<String, String> = c.hgetall(record_key(store, id)).await?;
    Ok(from_fields(m))
}

/// One site by public id or id, straight from Redis (for control routes, which must see a site created
/// a moment ago on another edge).
pub async fn find(store: &Store, key: &str) -> ::redis::RedisResult<Option<Site>> {
    if key.is_empty() || key.len() > 128 {
        return Ok(None);
    }
    let mut c = store.conn().await?;
    let id: Option<String> = c.get(store.key(&["site_by_public", key])).await?;
    get(store, id.as_deref().unwrap_or(key)).await
}

fn from_fields(m: HashMap<String, String>) -> Option<Site> {
    if !m.contains_key("public_id") {
        return None;
    }
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    let num = |k: &str| m.get(k).and_then(|v| v.parse().ok());
    Some(Site {
        id: get("id"),
        public_id: get("public_id"),
        name: get("name"),
        domain: get("domain"),
        allowed_origins: get("allowed_origins")
            .split(',')
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect(),
        secret: get("secret"),
        time_zone: get("time_zone"),
        currency: m
            .get("currency")
            .filter(|c| !c.is_empty())
            .cloned()
            .unwrap_or_else(|| DEFAULT_CURRENCY.into()),
        default_deal_value: num("default_deal_value").unwrap_or(0.0),
        previous_secret: get("previous_secret"),
        previous_secret_until: num("previous_secret_until").map_or(0, |v: f64| v as i64),
        require_signed_calls: get("require_signed_calls") == "1",
        oci_conversion_name: m
            .get("oci_conversion_name")
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| DEFAULT_CONVERSION_NAME.into()),
    })
}

/// Moves site records written before the `{id}` hash tag (`site:<id>`) to their key (`site:{<id>}`);
/// returns how many moved. Idempotent; `opsmantik-admin setup` runs it.
pub async fn migrate_record_keys(store: &Store) -> ::redis::RedisResult<usize> {
    let mut c = store.conn().await?;
    let ids: Vec<String> = c.smembers(store.key(&["sites"])).await?;
    let mut moved = 0;
    for id in ids {
        let old = store.key(&["site", &id]);
        let exists: bool = c.exists(&old).await?;
        if exists && old != record_key(store, &id) {
            let renamed: bool = c.rename_nx(&old, record_key(store, &id)).await?;
            moved += usize::from(renamed);
        }
    }
    Ok(moved)
}

/// Every site.
pub async fn list(store: &Store) -> ::redis::RedisResult<Vec<Site>> {
    let mut c = store.conn().await?;
    let ids: Vec<String> = c.smembers(store.key(&["sites"])).await?;
    let mut pipe = ::redis::pipe();
    for id in &ids {
        pipe.hgetall(record_key(store, id));
    }
    let rows: Vec<HashMap<String, String>> = pipe.query_async(&mut c).await?;
    let mut sites: Vec<Site> = rows.into_iter().filter_map(from_fields).collect();
    sites.sort_by(|a, b| a.public_id.cmp(&b.public_id));
    Ok(sites)
}

/// The edge's copy of every site, by public id and by id. `None` until the first load succeeded.
#[derive(Debug, Clone, Default)]
pub struct SiteCache {
    inner: Arc<RwLock<Option<Snapshot>>>,
}

#[derive(Debug, Default)]
struct Snapshot {
    by_key: HashMap<String, Arc<Site>>,
    all_origins: Vec<String>,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(Arc<Site>),
    Unknown,
    /// The sites could not be loaded yet (Redis down since start-up).
    NotLoaded,
}

impl SiteCache {
    /// Replaces the contents with `sites`.
    pub fn load(&self, sites: Vec<Site>) {
        let mut snapshot = Snapshot::default();
        for s in sites {
            let origins = s
                .allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_string());
            snapshot.all_origins.extend(origins);
            let s = Arc::new(s);
            snapshot.by_key.insert(s.public_id.clone(), s.clone());
            snapshot.by_key.insert(s.id.clone(), s);
        }
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = Some(snapshot);
    }

    /// Puts one created or changed site into the copy at once (the periodic reload brings it too, later).
    /// Until the first load succeeded there is no copy to change: the reload will bring the site.
    pub fn upsert(&self, site: Site) {
        let mut sites: Vec<Site> = match &*self.inner.read().unwrap_or_else(|p| p.into_inner()) {
            Some(snapshot) => {
                let mut by_id: HashMap<&str, &Site> = HashMap::new();
                for s in snapshot.by_key.values() {
                    by_id.insert(s.id.as_str(), s);
                }
                by_id
                    .into_values()
                    .filter(|s| s.id != site.id)
                    .cloned()
                    .collect()
            }
            None => return,
        };
        sites.push(site);
        self.load(sites);
    }

    /// A site by public id or id.
    pub fn get(&self, key: &str) -> Lookup {
        match &*self.inner.read().unwrap_or_else(|p| p.into_inner()) {
            None => Lookup::NotLoaded,
            Some(s) => s
                .by_key
                .get(key)
                .cloned()
                .map_or(Lookup::Unknown, Lookup::Found),
        }
    }

    /// Whether any site allows `origin` (for preflights, which carry no site).
    pub fn any_allows(&self, origin: &str) -> bool {
        match &*self.inner.read().unwrap_or_else(|p| p.into_inner()) {
            Some(s) => s.all_origins.iter().any(|o| o == origin),
            None => false,
        }
    }

    /// Reloads from Redis every `every` until `shutdown`; keeps the last good copy while Redis is down.
    /// The task ends at `shutdown`; join it.
    pub fn spawn_refresh(
        &self,
        store: Store,
        every: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => match list(&store).await {
                        Ok(sites) => cache.load(sites),
                        Err(e) => tracing::warn!(error = %e, "site refresh failed; keeping the last copy"),
                    },
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: &str, public_id: &str, origin: &str) -> Site {
        Site {
            id: id.into(),
            public_id: public_id.into(),
            allowed_origins: vec![origin.into()],
            ..Default::default()
        }
    }

    #[test]
    fn an_upsert_adds_or_replaces_one_site_and_its_origins() {
        let cache = SiteCache::default();
        cache.upsert(site("1", "a", "https://a.example"));
        assert_eq!(
            cache.get("a"),
            Lookup::NotLoaded,
            "nothing to change before the first load"
        );
        cache.load(vec![site("1", "a", "https://a.example")]);
        cache.upsert(site("2", "b", "https://b.example"));
        cache.upsert(site("1", "a", "https://a2.example"));
        assert!(matches!(cache.get("b"), Lookup::Found(_)));
        assert!(
            matches!(cache.get("1"), Lookup::Found(s) if s.allowed_origins == ["https://a2.example"])
        );
        assert!(cache.any_allows("https://a2.example") && cache.any_allows("https://b.example"));
        assert!(
            !cache.any_allows("https://a.example"),
            "the old origin is gone"
        );
    }
}
