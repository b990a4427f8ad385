//! What `run` starts besides the server: the state with its background tasks (the site cache's refresh,
//! the limiter's sync, the analytics sealer). The tasks end when `shutdown` is cancelled; `run` joins them.

use std::sync::Arc;
use std::time::Instant;

use opsmantik_runtime::kafka::KafkaPublisher;
use opsmantik_runtime::redis::Store;
use opsmantik_runtime::sites::{self, SiteCache};
use opsmantik_runtime::RuntimeError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::EdgeConfig;
use super::state::AppState;
use crate::{analytics, auth, callflow, http, identity, limits};

/// Builds the state from `config` and starts its background tasks.
pub async fn start(
    config: &EdgeConfig,
    publisher: &KafkaPublisher,
    shutdown: &CancellationToken,
) -> Result<(AppState, Vec<JoinHandle<()>>), RuntimeError> {
    let callflow =
        callflow::CallflowState::from_config(&config.callflow).map_err(RuntimeError::Config)?;
    let identity =
        identity::Identity::from_config(&config.identity).map_err(RuntimeError::Config)?;
    let redis =
        Store::new(&config.redis).map_err(|e| RuntimeError::Config(format!("redis: {e}")))?;
    let (sites, refresh) = load_sites(&redis, config, shutdown).await;
    let proxies = limits::ip::TrustedProxies::parse(&config.limits.trusted_proxies)
        .map_err(RuntimeError::Config)?;
    let limiter = limits::Limiter::default();
    let sync = limiter.spawn_sync(redis.clone(), shutdown.clone());
    let clickhouse = opsmantik_runtime::clickhouse::client(&config.clickhouse);
    let visitors = Arc::new(opsmantik_runtime::visitor_index::Replica::new(
        redis.clone(),
        config.visitor_replica_capacity,
    ));
    let follow = tokio::spawn(visitors.clone().follow(shutdown.clone()));
    let sealer = analytics::rollup::spawn_sealer(
        clickhouse.clone(),
        analytics::rollup::SEAL_EVERY,
        shutdown.clone(),
    );
    let outbound =
        opsmantik_runtime::outbound::Policy::new(&config.webhook_allow_private, config.production)
            .map_err(|e| RuntimeError::Config(format!("WEBHOOK_ALLOW_PRIVATE: {e}")))?;
    let state = AppState::from(super::state::Parts {
        outbound,
        stores: super::stores::Stores::live(&redis, &clickhouse),
        publisher: Arc::new(publisher.clone()),
        topics: config.kafka.topics(),
        clickhouse,
        prometheus: opsmantik_runtime::telemetry::prometheus_handle(),
        publish_timeout: config.publish_timeout(),
        started: Instant::now(),
        callflow,
        identity,
        auth: auth::AuthState::from_config(&config.auth),
        cors: http::cors::Cors::new(&config.allowed_origins, sites.clone()),
        limiter,
        proxies,
        limits: config.limits.clone(),
        server: config.server.clone(),
        sites,
        visitors,
        redis,
    });
    Ok((state, vec![refresh, sync, follow, sealer]))
}

/// Loads the sites once before serving (so the first requests find them) and keeps them fresh.
async fn load_sites(
    redis: &Store,
    config: &EdgeConfig,
    shutdown: &CancellationToken,
) -> (SiteCache, JoinHandle<()>) {
    let cache = SiteCache::default();
    match tokio::time::timeout(std::time::Duration::from_secs(3), sites::list(redis)).await {
        Ok(Ok(list)) => cache.load(list),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "sites not loaded at start-up; retrying in the background")
        }
        Err(_) => {
            tracing::warn!("sites not loaded at start-up (timeout); retrying in the background")
        }
    }
    let refresh = cache.spawn_refresh(redis.clone(), config.site_refresh(), shutdown.clone());
    (cache, refresh)
}
