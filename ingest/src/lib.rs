//! The OpsMantik HTTP edge: write endpoints (validate → Avro → Kafka, 2xx only after the broker's ack),
//! read endpoints (ClickHouse), health and metrics.
//!
//! `run` is the whole service: tests call it in-process on `127.0.0.1:0`; `main.rs` only parses config.
//! Routes are added in [`router`]; cross-cutting concerns (CORS, rate limits) slot in as layers there.

pub mod analytics;
pub mod auth;
pub mod callflow;
pub mod config;
pub mod control;
pub mod cors;
pub mod error;
pub mod event_time;
pub mod events;
pub mod extract;
pub mod fields;
pub mod identity;
pub mod limits;
pub mod metrics;
pub mod request_id;
pub mod routes;
pub mod signature;
pub use opsmantik_runtime::sites;
pub mod state;
pub mod sync_payload;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use opsmantik_runtime::kafka::KafkaPublisher;
use opsmantik_runtime::RuntimeError;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

pub use config::EdgeConfig;
use error::ApiError;
use limits::Rule;
use state::AppState;

/// Builds the router over `state`.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let ip = |rule| from_fn_with_state(state.ip_limit(rule), limits::ip::layer);
    let sync = Rule::per_minute("sync", state.limits.sync_per_minute);
    let call_event = Rule::per_minute("call_event", state.limits.call_event_per_minute);
    let tracking = Router::new()
        .route(
            "/api/sync",
            post(routes::sync::post)
                .get(routes::sync::diag)
                .options(preflight)
                .route_layer(ip(sync)),
        )
        .route(
            "/api/call-event",
            post(routes::call_event::v1)
                .options(preflight)
                .route_layer(ip(call_event)),
        )
        .route(
            "/api/call-event/v2",
            post(routes::call_event::v2)
                .options(preflight)
                .route_layer(ip(call_event)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.cors.clone(),
            cors::layer,
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes));
    let events = Router::new()
        .route("/api/v1/events", post(events::handlers::single))
        .route("/api/v1/events/batch", post(events::handlers::batch))
        .layer(DefaultBodyLimit::max(events::MAX_BATCH_BYTES));
    // Every API route is limited per client IP too, so floods of bad keys or tokens are cut off before
    // they cost a key lookup; health checks are not (load balancers poll them).
    let api = Router::new()
        .merge(events)
        .merge(callflow::routes(&state))
        .merge(control::routes())
        .route("/api/v1/analytics/events", get(analytics::handlers::events))
        .route(
            "/api/v1/analytics/metrics",
            get(analytics::handlers::metrics),
        )
        .route("/api/v1/events/stats", get(analytics::handlers::stats))
        .route("/api/stats/realtime", get(routes::site_stats::realtime))
        .route("/api/sites/{id}/status", get(routes::site_stats::status))
        .route(
            "/api/auth/request-code",
            post(identity::handlers::request_code),
        )
        .route("/api/auth/verify", post(identity::handlers::verify))
        .route("/api/auth/me", get(identity::handlers::me))
        .route("/api/auth/logout", post(identity::handlers::logout))
        .route("/api/v1/sites/{site}/summary", get(routes::summary::get))
        .route_layer(ip(Rule::per_minute("api", state.limits.api_per_minute)));
    Router::new()
        .merge(tracking)
        .merge(api)
        .route("/api/health", get(routes::health::health))
        .route("/api/ready", get(routes::health::ready))
        .route("/api/live", get(routes::health::live))
        .route("/metrics", get(routes::health::metrics))
        .fallback(|| async { ApiError::not_found("not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                code: "method_not_allowed",
                message: "method not allowed on this endpoint".into(),
            }
        })
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Preflights are answered by the CORS layer; this only runs if the layer let one through.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// The log span of a request, carrying its id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .extensions()
        .get::<request_id::RequestId>()
        .map(|r| r.0.as_str())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

/// Serves the edge on `listener` until `shutdown`, then drains requests and flushes the producer.
pub async fn run(
    config: EdgeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let problems = config.production_problems();
    if !problems.is_empty() {
        return Err(RuntimeError::Config(format!(
            "refusing to start in production mode: {}",
            problems.join("; ")
        )));
    }
    let publisher = KafkaPublisher::new(&config.kafka)?;
    let callflow =
        callflow::CallflowState::from_config(&config.callflow).map_err(RuntimeError::Config)?;
    let identity =
        identity::Identity::from_config(&config.identity).map_err(RuntimeError::Config)?;
    let redis = opsmantik_runtime::redis::Store::new(&config.redis)
        .map_err(|e| RuntimeError::Config(format!("redis: {e}")))?;
    let sites = load_sites(&redis, &config, &shutdown).await;
    let proxies = limits::ip::TrustedProxies::parse(&config.limits.trusted_proxies)
        .map_err(RuntimeError::Config)?;
    let limiter = limits::Limiter::default();
    let limiter_sync = limiter.spawn_sync(redis.clone(), shutdown.clone());
    let state = AppState {
        publisher: Arc::new(publisher.clone()),
        topics: config.kafka.topics(),
        clickhouse: opsmantik_runtime::clickhouse::client(&config.clickhouse),
        prometheus: opsmantik_runtime::telemetry::prometheus_handle(),
        publish_timeout: config.publish_timeout(),
        started: Instant::now(),
        callflow,
        identity,
        auth: auth::AuthState::from_config(&config.auth),
        cors: cors::Cors::new(&config.allowed_origins, sites.clone()),
        limiter,
        proxies,
        limits: config.limits.clone(),
        sites,
        redis,
    };
    let app = router(state, config.max_body_bytes);
    tracing::info!(addr = ?listener.local_addr().ok(), "edge listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
    .map_err(|e| RuntimeError::Config(format!("serve: {e}")))?;
    publisher.flush(std::time::Duration::from_secs(5))?;
    let _ = limiter_sync.await;
    Ok(())
}

/// Loads the sites once before serving (so the first requests find them) and keeps them fresh.
async fn load_sites(
    redis: &opsmantik_runtime::redis::Store,
    config: &EdgeConfig,
    shutdown: &CancellationToken,
) -> sites::SiteCache {
    let cache = sites::SiteCache::default();
    match tokio::time::timeout(std::time::Duration::from_secs(3), sites::list(redis)).await {
        Ok(Ok(list)) => cache.load(list),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "sites not loaded at start-up; retrying in the background")
        }
        Err(_) => {
            tracing::warn!("sites not loaded at start-up (timeout); retrying in the background")
        }
    }
    cache.spawn_refresh(redis.clone(), config.site_refresh(), shutdown.clone());
    cache
}

#[cfg(test)]
mod access_matrix_tests;
