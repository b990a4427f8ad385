//! The edge's local replica of the visitor index: the entries of the visitors it has met (and the fact that a
//! visitor has none), kept current by the writes announced on the index's channel. A visitor met for the first
//! time costs one read; every later hit of that visitor is answered from memory.
//!
//! While the subscription is down (Redis away, before the first subscribe) the replica is not trusted: every
//! lookup reads Redis, and the replica starts empty again when the subscription comes back (announcements in
//! between were missed). Memory is bounded: a shard that outgrows its share of the capacity is emptied (its
//! visitors are read again on their next hit).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{key, read, updates_channel, Update, VisitorEntry};
use crate::redis::Store;

const SHARDS: usize = 16;

/// The replica. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Replica {
    store: Store,
    shards: Vec<Mutex<HashMap<String, Option<VisitorEntry>>>>,
    per_shard: usize,
    live: AtomicBool,
}

impl Replica {
    /// An empty replica holding at most about `capacity` visitors; not live until [`follow`](Self::follow) runs.
    pub fn new(store: Store, capacity: usize) -> Self {
        Self {
            store,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: (capacity / SHARDS).max(1),
            live: AtomicBool::new(false),
        }
    }

    /// The entry of `visitor` at `site`: from memory when the replica is live and has met the visitor,
    /// otherwise read from Redis (and remembered).
    pub async fn get(
        &self,
        site: &str,
        visitor: &str,
    ) -> ::redis::RedisResult<Option<VisitorEntry>> {
        let k = key(&self.store, site, visitor);
        if self.live.load(Ordering::Acquire) {
            if let Some(known) = self.shard(&k).get(&k) {
                return Ok(known.clone());
            }
        }
        let read = read(&self.store, site, visitor).await?;
        if self.live.load(Ordering::Acquire) {
            let mut shard = self.shard(&k);
            self.make_room(&mut shard);
            // An announcement that arrived meanwhile is newer than what was read.
            shard.entry(k).or_insert_with(|| read.clone());
        }
        Ok(read)
    }

    /// Applies announced writes: an entry replaces the known one unless that one is newer.
    fn apply(&self, updates: Vec<Update>) {
        for (site, visitor, session_id, last_seen_ms, lead_score) in updates {
            let k = key(&self.store, &site, &visitor);
            let mut shard = self.shard(&k);
            let newer = match shard.get(&k) {
                Some(Some(known)) => last_seen_ms >= known.last_seen_ms,
                _ => true,
            };
            if newer {
                self.make_room(&mut shard);
                let entry = VisitorEntry {
                    session_id,
                    last_seen_ms,
                    lead_score,
                };
                shard.insert(k, Some(entry));
            }
        }
    }

    fn shard(&self, k: &str) -> std::sync::MutexGuard<'_, HashMap<String, Option<VisitorEntry>>> {
        let h = k.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        self.shards[(h % SHARDS as u64) as usize]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn make_room(&self, shard: &mut HashMap<String, Option<VisitorEntry>>) {
        if shard.len() >= self.per_shard {
            shard.clear();
        }
    }

    fn forget_all(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }

    /// Follows the index's channel until `shutdown`, resubscribing after a lost connection (1 s apart).
    pub async fn follow(self: Arc<Self>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            if let Err(e) = self.follow_once(&shutdown).await {
                tracing::warn!(error = %e, "visitor index replica: subscription lost; reading Redis meanwhile");
            }
            self.live.store(false, Ordering::Release);
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    async fn follow_once(&self, shutdown: &CancellationToken) -> ::redis::RedisResult<()> {
        let mut pubsub = self.store.pubsub().await?;
        pubsub.subscribe(updates_channel(&self.store)).await?;
        self.forget_all();
        self.live.store(true, Ordering::Release);
        let mut messages = pubsub.on_message();
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                m = messages.next() => m,
            };
            let Some(message) = message else {
                return Err(::redis::RedisError::from((
                    ::redis::ErrorKind::IoError,
                    "subscription closed",
                )));
            };
            let payload: String = message.get_payload()?;
            match serde_json::from_str::<Vec<Update>>(&payload) {
                Ok(updates) => self.apply(updates),
                Err(e) => {
                    tracing::warn!(error = %e, "visitor index replica: unreadable announcement")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::RedisConfig;

    fn replica(capacity: usize) -> Replica {
        let store = Store::new(&RedisConfig {
            url: "redis://127.0.0.1:1".into(),
            key_prefix: "t:".into(),
        })
        .unwrap();
        let r = Replica::new(store, capacity);
        r.live.store(true, Ordering::Release);
        r
    }

    fn known(r: &Replica, visitor: &str) -> Option<Option<VisitorEntry>> {
        let k = key(&r.store, "s", visitor);
        r.shard(&k).get(&k).cloned()
    }

    #[test]
    fn an_announcement_never_moves_an_entry_back_in_time() {
        let r = replica(1000);
        r.apply(vec![("s".into(), "v".into(), "A".into(), 20, 40)]);
        r.apply(vec![("s".into(), "v".into(), "B".into(), 10, 90)]);
        assert_eq!(
            known(&r, "v").unwrap().unwrap().lead_score,
            40,
            "an older write is ignored"
        );
        r.apply(vec![("s".into(), "v".into(), "A".into(), 30, 60)]);
        assert_eq!(known(&r, "v").unwrap().unwrap().lead_score, 60);
    }

    #[test]
    fn a_full_shard_is_emptied_rather_than_growing() {
        let r = replica(SHARDS * 4);
        for i in 0..1000 {
            r.apply(vec![("s".into(), format!("v{i}"), "A".into(), 1, 1)]);
        }
        let held: usize = r.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= SHARDS * 4, "{held} entries held");
    }

    #[tokio::test]
    async fn a_live_replica_answers_a_met_visitor_from_memory_and_reads_the_others() {
        let r = replica(1000);
        r.apply(vec![("s".into(), "v".into(), "A".into(), 20, 40)]);
        let entry = r
            .get("s", "v")
            .await
            .expect("no Redis at port 1: answered from memory");
        assert_eq!(entry.map(|e| e.lead_score), Some(40));
        assert!(
            r.get("s", "unmet").await.is_err(),
            "an unmet visitor is read from Redis"
        );
    }

    #[tokio::test]
    async fn while_not_live_it_reads_redis_and_remembers_nothing() {
        let r = replica(1000);
        r.apply(vec![("s".into(), "met".into(), "A".into(), 20, 40)]);
        r.live.store(false, Ordering::Release);
        assert!(
            r.get("s", "met").await.is_err(),
            "a met visitor is read again (announcements may be missed): the read's error, not memory"
        );
        assert!(r.get("s", "v").await.is_err());
        assert_eq!(known(&r, "v"), None);
    }
}
