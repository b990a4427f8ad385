//! Health (seeds 000 and 003): `GET /api/health` reports the broker from what the producer already knows
//! (recent deliveries and librdkafka's connection statistics — no network call per probe, so a loaded edge is
//! not reported down because one probe was slow) and checks ClickHouse and Redis with short timeouts;
//! `GET /api/ready` (can accept writes: the broker is reachable), `GET /api/live` (the process serves), and
//! `GET /metrics` (Prometheus text format).
//!
//! Status: `unhealthy` (503) when the broker is down — nothing can be accepted; `degraded` (200) when
//! ClickHouse or Redis is down — tracking is still accepted, reads or keys suffer; else `healthy`.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::app::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// One dependency's check: `{ "status": "up"|"down", "latency_ms", "error"? }`.
async fn check<F>(probe: F) -> (bool, Value)
where
    F: std::future::Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    let result = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(r) => r,
        Err(_) => Err("timed out".to_string()),
    };
    let latency = started.elapsed().as_millis() as u64;
    match result {
        Ok(()) => (true, json!({ "status": "up", "latency_ms": latency })),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (false, json!({ "status": "down", "latency_ms": latency }))
        }
    }
}

async fn broker_up(state: &AppState) -> (bool, Value) {
    let publisher = state.publisher.clone();
    check(async move { publisher.broker_status() }).await
}

pub async fn health(State(state): State<AppState>) -> Response {
    let (broker, clickhouse, redis) = tokio::join!(
        broker_up(&state),
        check(async {
            state
                .clickhouse
                .query("SELECT 1")
                .execute()
                .await
                .map_err(|e| e.to_string())
        }),
        check(async {
            let mut c = state.redis.conn().await.map_err(|e| e.to_string())?;
            redis::cmd("PING")
                .query_async::<String>(&mut c)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    );
    let (status, code) = match (broker.0, clickhouse.0 && redis.0) {
        (false, _) => ("unhealthy", StatusCode::SERVICE_UNAVAILABLE),
        (true, false) => ("degraded", StatusCode::OK),
        (true, true) => ("healthy", StatusCode::OK),
    };
    let uptime = state.started.elapsed().as_secs();
    let body = json!({
        "status": status,
        "version": concat!("v", env!("CARGO_PKG_VERSION")),
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "uptime": uptime,
        "services": { "broker": broker.1, "clickhouse": clickhouse.1, "redis": redis.1 },
    });
    (code, Json(body)).into_response()
}

pub async fn ready(State(state): State<AppState>) -> Response {
    if broker_up(&state).await.0 {
        (StatusCode::OK, Json(json!({ "ready": true }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false })),
        )
            .into_response()
    }
}

pub async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    match &state.prometheus {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are exported by another recorder",
        )
            .into_response(),
    }
}
