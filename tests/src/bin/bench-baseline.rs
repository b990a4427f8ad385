//! The baselines the edge's `/api/sync` is measured against (`deploy/local/bench`), as a process of their own
//! so the load generator drives them exactly as it drives the edge:
//!
//! - `bare`: axum parses the same JSON and answers the same body — what HTTP and JSON cost alone;
//! - `durable`: the minimal durable handler — parse the JSON, produce it to the broker with `acks=all` (the
//!   edge's producer settings) and answer after the acknowledgement.
//!
//! Settings: `BASELINE_MODE` (`bare`|`durable`), `EDGE_ADDR`, `KAFKA_BROKERS`, `BASELINE_TOPIC`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

/// The edge's allocator, so the comparison is of the work done, not of the allocators.
#[global_allocator]
static ALLOCATOR: opsmantik_runtime::Allocator = opsmantik_runtime::Allocator;

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn answer() -> Json<Value> {
    Json(json!({ "ok": true, "score": 0, "status": "synced", "count": 1 }))
}

async fn bare(body: Bytes) -> Result<Json<Value>, StatusCode> {
    serde_json::from_slice::<Value>(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    Ok(answer())
}

struct Durable {
    producer: FutureProducer,
    topic: String,
}

async fn durable(State(d): State<Arc<Durable>>, body: Bytes) -> Result<Json<Value>, StatusCode> {
    let hit: Value = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let key = hit.get("sid").and_then(Value::as_str).unwrap_or_default();
    let record = FutureRecord::to(&d.topic).key(key).payload(body.as_ref());
    d.producer
        .send(record, std::time::Duration::from_secs(5))
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(answer())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = setting("EDGE_ADDR", "127.0.0.1:0");
    let app = match setting("BASELINE_MODE", "bare").as_str() {
        "bare" => Router::new().route("/api/sync", post(bare)),
        "durable" => {
            let producer: FutureProducer = ClientConfig::new()
                .set(
                    "bootstrap.servers",
                    setting("KAFKA_BROKERS", "127.0.0.1:9092"),
                )
                .set("acks", "all")
                .set("enable.idempotence", "false")
                .set("linger.ms", "5")
                .set("queue.buffering.max.messages", "200000")
                .create()?;
            let topic = setting("BASELINE_TOPIC", "bench.baseline");
            Router::new()
                .route("/api/sync", post(durable))
                .with_state(Arc::new(Durable { producer, topic }))
        }
        other => anyhow::bail!("BASELINE_MODE must be bare or durable, not {other}"),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
