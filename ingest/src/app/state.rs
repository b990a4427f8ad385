//! The one state every handler shares, built once at start-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use opsmantik_runtime::kafka::{OutRecord, Publisher};
use opsmantik_schemas::Topics;

use crate::app::config::{ServerLimits, TrackingLimits};
use crate::app::stores::{InMemory, Stores};
use crate::auth::AuthState;
use crate::callflow::CallflowState;
use crate::http::cors::Cors;
use crate::http::error::ApiError;
use crate::identity::Identity;
use crate::limits::ip::{IpLimit, TrustedProxies};
use crate::limits::{Limiter, Rule};
use crate::sites::SiteCache;
use opsmantik_runtime::redis::Store;

/// Shared handler state: one pointer, so the clone every extractor and layer makes per request is a
/// reference-count increment (a field-by-field clone showed up in the edge's profile). Reads go through
/// `Deref`; a test that changes a field gets its own copy (`DerefMut`, copy-on-write).
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl std::ops::Deref for AppState {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Parts {
        Arc::make_mut(&mut self.0)
    }
}

impl From<Parts> for AppState {
    fn from(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }
}

/// What the state holds.
#[derive(Clone)]
pub struct Parts {
    pub publisher: Arc<dyn Publisher>,
    pub topics: Topics,
    pub clickhouse: clickhouse::Client,
    pub prometheus: Option<PrometheusHandle>,
    pub publish_timeout: Duration,
    pub started: Instant,
    pub callflow: CallflowState,
    pub identity: Identity,
    pub auth: AuthState,
    pub sites: SiteCache,
    pub cors: Cors,
    /// Every rate limit's counts (shared with the other edges through Redis).
    pub limiter: Limiter,
    pub proxies: TrustedProxies,
    pub limits: TrackingLimits,
    pub server: ServerLimits,
    pub redis: Store,
    /// The visitor index as far as this edge has met it, kept current from Redis's announcements: a hit's
    /// score without a round trip.
    pub visitors: Arc<opsmantik_runtime::visitor_index::Replica>,
    /// The storage seams of the handlers (Redis and ClickHouse, or in memory in tests).
    pub stores: Stores,
    /// Where webhooks may point.
    pub outbound: opsmantik_runtime::outbound::Policy,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("topics", &self.topics)
            .finish()
    }
}

impl AppState {
    /// A per-IP limit for the middleware.
    pub fn ip_limit(&self, rule: Rule) -> IpLimit {
        IpLimit {
            limiter: self.limiter.clone(),
            proxies: self.proxies.clone(),
            rule,
        }
    }

    /// Publishes one record and waits for the broker's acknowledgement, at most `publish_timeout`.
    pub async fn publish(&self, record: OutRecord, route: &'static str) -> Result<(), ApiError> {
        let sent = tokio::time::timeout(
            self.publish_timeout,
            self.publisher.publish_batch(vec![record]),
        )
        .await
        .map(|outcomes| outcomes.into_iter().map(|(_, r)| r).collect::<Vec<_>>());
        match sent {
            Ok(results) if results.iter().all(Result::is_ok) && !results.is_empty() => {
                crate::ops::metrics::stage().sent(1);
                Ok(())
            }
            Ok(results) => {
                let detail = results.into_iter().find_map(Result::err);
                tracing::warn!(route, error = ?detail, "publish failed");
                crate::ops::metrics::publish_failed(route);
                Err(ApiError::broker_unavailable())
            }
            Err(_elapsed) => {
                tracing::warn!(route, "publish timed out");
                crate::ops::metrics::publish_failed(route);
                Err(ApiError::broker_unavailable())
            }
        }
    }

    /// Publishes many records, pipelined; one result per record (`Err` = not acknowledged within
    /// `publish_timeout`). Failures are counted under `route`.
    pub async fn publish_many(
        &self,
        records: Vec<OutRecord>,
        route: &'static str,
    ) -> Vec<Result<(), ()>> {
        let n = records.len();
        match tokio::time::timeout(self.publish_timeout, self.publisher.publish_batch(records))
            .await
        {
            Ok(outcomes) => {
                let results: Vec<_> = outcomes.into_iter().map(|(_, r)| r).collect();
                let ok = results.iter().filter(|r| r.is_ok()).count();
                crate::ops::metrics::stage().sent(ok);
                if ok < n {
                    crate::ops::metrics::publish_failed(route);
                }
                results.into_iter().map(|r| r.map_err(|_| ())).collect()
            }
            Err(_elapsed) => {
                crate::ops::metrics::publish_failed(route);
                vec![Err(()); n]
            }
        }
    }

    /// A state over `publisher` and `topics` whose stores are in memory (returned for setting up data), with
    /// every other part at its test default: test secrets, and ClickHouse and Redis clients at their local
    /// addresses that only the tracking routes' best-effort reads touch (visitor index, site status).
    pub fn in_memory(publisher: Arc<dyn Publisher>, topics: Topics) -> (Self, InMemory) {
        let memory = InMemory::default();
        let mut state = Self::for_tests(publisher, topics);
        state.stores = memory.stores();
        (state, memory)
    }

    /// A state over `publisher` and `topics`, with every other part at its test default: ClickHouse and
    /// Redis at their local addresses (not contacted until used), test secrets.
    pub fn for_tests(publisher: Arc<dyn Publisher>, topics: Topics) -> Self {
        use crate::callflow::CallflowConfig;
        use crate::identity::IdentityConfig;
        use opsmantik_runtime::redis::RedisConfig;
        #[allow(clippy::expect_used)]
        let redis = Store::new(&RedisConfig {
            url: "redis://127.0.0.1:6379".into(),
            key_prefix: "test:".into(),
        })
        .expect("a valid Redis URL");
        #[allow(clippy::expect_used)]
        let callflow =
            CallflowState::from_config(&CallflowConfig::for_tests()).expect("test callflow config");
        #[allow(clippy::expect_used)]
        let identity =
            Identity::from_config(&IdentityConfig::for_tests()).expect("test identity config");
        let sites = SiteCache::default();
        let clickhouse = clickhouse::Client::default().with_url("http://127.0.0.1:8123");
        Self::from(Parts {
            stores: Stores::live(&redis, &clickhouse),
            cors: Cors::new("", sites.clone()),
            #[allow(clippy::expect_used)]
            limiter: Limiter::default(),
            proxies: TrustedProxies::default(),
            server: ServerLimits::for_tests(),
            limits: TrackingLimits {
                sync_per_minute: 100,
                call_event_per_minute: 50,
                refused_per_minute: 0,
                trusted_proxies: String::new(),
            },
            sites,
            publisher,
            topics,
            clickhouse,
            prometheus: None,
            publish_timeout: Duration::from_secs(5),
            started: Instant::now(),
            callflow,
            identity,
            auth: AuthState::from_config(&crate::auth::AuthConfig::for_tests()),
            visitors: Arc::new(opsmantik_runtime::visitor_index::Replica::new(
                redis.clone(),
                10_000,
            )),
            redis,
            outbound: opsmantik_runtime::outbound::Policy::default(),
        })
    }
}
