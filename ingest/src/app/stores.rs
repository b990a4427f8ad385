//! The storage seams the handlers reach through, in one place: the account store (keys, sessions, users,
//! sites, memberships), sign-in codes, event-API deduplication, call-flow reads, product-event analytics and the call queue.
//! [`Stores::live`] is Redis and ClickHouse; [`InMemory`] holds the in-memory twins for in-process tests.

use std::sync::Arc;

use opsmantik_runtime::redis::Store;

use crate::analytics::store::{AnalyticsStore, ClickHouseAnalytics, MemoryAnalytics};
use crate::auth::store::{AuthStore, MemoryAuth, RedisAuth};
use crate::callflow::store::{CallflowReader, ClickHouseCallflow, MemoryCallflow};
use crate::calls::store::{CallStore, LiveCalls, MemoryCalls};
use crate::events::dedup::{DedupStore, MemoryDedup, RedisDedup};
use crate::identity::codes::{CodeStore, MemoryCodes, RedisCodes};

/// Every seam, shared by all handlers. Cheap to clone.
#[derive(Clone)]
pub struct Stores {
    pub auth: Arc<dyn AuthStore>,
    pub codes: Arc<dyn CodeStore>,
    pub dedup: Arc<dyn DedupStore>,
    pub callflow: Arc<dyn CallflowReader>,
    pub analytics: Arc<dyn AnalyticsStore>,
    pub calls: Arc<dyn CallStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores")
    }
}

impl Stores {
    /// The real stores: Redis and ClickHouse.
    pub fn live(redis: &Store, clickhouse: &clickhouse::Client) -> Self {
        Self {
            auth: Arc::new(RedisAuth(redis.clone())),
            codes: Arc::new(RedisCodes(redis.clone())),
            dedup: Arc::new(RedisDedup(redis.clone())),
            callflow: Arc::new(ClickHouseCallflow(clickhouse.clone())),
            analytics: Arc::new(ClickHouseAnalytics {
                clickhouse: clickhouse.clone(),
                redis: redis.clone(),
            }),
            calls: Arc::new(LiveCalls {
                redis: redis.clone(),
                clickhouse: clickhouse.clone(),
            }),
        }
    }
}

/// The in-memory stores, with handles a test uses to set up data and look at it.
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    pub auth: MemoryAuth,
    pub codes: MemoryCodes,
    pub dedup: MemoryDedup,
    pub callflow: MemoryCallflow,
    pub analytics: MemoryAnalytics,
    pub calls: MemoryCalls,
}

impl InMemory {
    pub fn stores(&self) -> Stores {
        Stores {
            auth: Arc::new(self.auth.clone()),
            codes: Arc::new(self.codes.clone()),
            dedup: Arc::new(self.dedup.clone()),
            callflow: Arc::new(self.callflow.clone()),
            analytics: Arc::new(self.analytics.clone()),
            calls: Arc::new(self.calls.clone()),
        }
    }
}
