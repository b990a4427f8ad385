//! The OpsMantik HTTP edge: write endpoints (validate → Avro → Kafka, 2xx only after the broker's ack),
//! read endpoints (ClickHouse, Redis), control endpoints (Redis), health and metrics.
//!
//! `run` is the whole service: tests call it in-process on `127.0.0.1:0`; `main.rs` only parses config.
//! One folder per feature (`tracking`, `tracker`, `calls`, `automation`, `events`, `analytics`, `callflow`, `identity`, `control`, `ops`),
//! each calling the shared pieces (`http`, `auth`, `limits`, `audit`) and never another feature; `app` assembles
//! them (`app::router`).

pub mod analytics;
pub mod app;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod callflow;
pub mod calls;
pub mod control;
pub mod dashboard;
pub mod dlq;
pub mod events;
pub mod http;
pub mod identity;
pub mod limits;
pub mod ops;
pub mod tracker;
pub mod tracking;
pub use opsmantik_runtime::sites;

use opsmantik_runtime::kafka::KafkaPublisher;
use opsmantik_runtime::RuntimeError;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use app::config::EdgeConfig;
pub use app::router::router;
pub use app::state::AppState;

/// Serves the edge on `listener` until `shutdown`, then drains requests, flushes the producer and joins
/// the background tasks.
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
    let (state, tasks) = app::tasks::start(&config, &publisher, &shutdown).await?;
    let app = router(state, config.max_body_bytes);
    tracing::info!(addr = ?listener.local_addr().ok(), "edge listening");
    let header_timeout = std::time::Duration::from_millis(config.server.header_read_timeout_ms);
    app::serve::serve(listener, app, header_timeout, shutdown).await;
    publisher.flush(std::time::Duration::from_secs(5))?;
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}
