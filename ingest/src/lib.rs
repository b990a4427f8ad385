//! The OpsMantik HTTP edge: write endpoints (validate → Avro → Kafka, 2xx only after the broker's ack),
//! read endpoints (ClickHouse), health and metrics.
//!
//! `run` is the whole service: tests call it in-process on `127.0.0.1:0`; `main.rs` only parses config.
//! Routes are added in [`router`]; cross-cutting concerns (CORS, rate limits) slot in as layers there.

pub mod config;
pub mod error;
pub mod event_time;
pub mod extract;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod sync_payload;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use opsmantik_runtime::kafka::KafkaPublisher;
use opsmantik_runtime::RuntimeError;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

pub use config::EdgeConfig;
use error::ApiError;
use state::AppState;

/// Builds the router over `state`.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let tracking = Router::new()
        .route("/api/sync", post(routes::sync::post))
        .layer(DefaultBodyLimit::max(max_body_bytes));
    Router::new()
        .merge(tracking)
        .route("/api/health", get(routes::health::health))
        .route("/metrics", get(routes::health::metrics))
        .route("/api/v1/sites/{site}/summary", get(routes::summary::get))
        .fallback(|| async { ApiError::not_found("not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                code: "method_not_allowed",
                message: "method not allowed on this endpoint".into(),
            }
        })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the edge on `listener` until `shutdown`, then drains requests and flushes the producer.
pub async fn run(
    config: EdgeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let publisher = KafkaPublisher::new(&config.kafka)?;
    let state = AppState {
        publisher: Arc::new(publisher.clone()),
        topics: config.kafka.topics(),
        clickhouse: opsmantik_runtime::clickhouse::client(&config.clickhouse),
        prometheus: opsmantik_runtime::telemetry::prometheus_handle(),
        publish_timeout: config.publish_timeout(),
        started: Instant::now(),
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
    Ok(())
}
