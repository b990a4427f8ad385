//! Sites (tenants): id, short public id (what the tracker sends as `s`), name, domain, allowed origins,
//! signing secret, time zone. Stored in Redis (persisted with AOF) under `site:<id>`, indexed by public id;
//! the edge keeps a copy refreshed every few seconds, so lookups on the hot path never wait for Redis.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ::redis::AsyncCommands;
use rand::RngCore;

use crate::redis::Store;

/// Default time zone of a new site (the seeds' TRT).
pub const DEFAULT_TIME_ZONE: &str = "Europe/Istanbul";

/// A site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: String,
    pub public_id: String,
    pub name: String,
    pub domain: String,
    pub allowed_origins: Vec<String>,
    pub secret: String,
    pub time_zone: String,
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
        public_id: new
            .public_id
            .unwrap_or_else(|| format!("s{}", &random_hex(6))),
        name: new.name,
        domain: new.domain,
        allowed_origins: new.allowed_origins,
        secret: random_hex(32),
        time_zone: new.time_zone.unwrap_or_else(|| DEFAULT_TIME_ZONE.into()),
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
    let origins = site.allowed_origins.join(",");
    ::redis::pipe()
        .hset_multiple(
            store.key(&["site", &site.id]),
            &[
                ("id", site.id.as_str()),
                ("public_id", &site.public_id),
                ("name", &site.name),
                ("domain", &site.domain),
                ("allowed_origins", &origins),
                ("secret", &site.secret),
                ("time_zone", &site.time_zone),
            ],
        )
        .sadd(store.key(&["sites"]), &site.id)
        .query_async::<()>(&mut c)
        .await?;
    Ok(site)
}

/// Every site.
pub async fn list(store: &Store) -> ::redis::RedisResult<Vec<Site>> {
    let mut c = store.conn().await?;
    let ids: Vec<String> = c.smembers(store.key(&["sites"])).await?;
    let mut pipe = ::redis::pipe();
    for id in &ids {
        pipe.hgetall(store.key(&["site", id]));
    }
    let rows: Vec<HashMap<String, String>> = pipe.query_async(&mut c).await?;
    let get = |m: &HashMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    let mut sites: Vec<Site> = rows
        .into_iter()
        .filter(|m| m.contains_key("public_id"))
        .map(|m| Site {
            id: get(&m, "id"),
            public_id: get(&m, "public_id"),
            name: get(&m, "name"),
            domain: get(&m, "domain"),
            allowed_origins: get(&m, "allowed_origins")
                .split(',')
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect(),
            secret: get(&m, "secret"),
            time_zone: get(&m, "time_zone"),
        })
        .collect();
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub fn spawn_refresh(
        &self,
        store: Store,
        every: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
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
        });
    }
}
