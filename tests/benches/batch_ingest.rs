//! Batch ingestion throughput (`POST /api/v1/events/batch`) against a baseline measured in the same run.
//!
//! Baseline: the same product events, Avro-encoded, published straight to the broker with the same
//! pipelined publisher (`acks=all`) — what the broker alone sustains here. Measured: the edge's batch route
//! over real HTTP (parse, dialect, API key, validation, per-key rate, Redis dedup claims, Avro, publish, ack).
//! The ratio is the share of raw broker throughput the edge keeps. Needs the local stack.
//! Run: `cargo bench -p opsmantik-e2e --bench batch_ingest` (`BENCH_BATCHES`, `BENCH_BATCH_SIZE`, `BENCH_CONCURRENCY`).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use opsmantik_e2e::Env;
use opsmantik_ingest::app::state::AppState;
use opsmantik_ingest::auth::keys::{self, NewKey, Scope};
use opsmantik_runtime::kafka::{KafkaPublisher, OutRecord, Publisher};
use opsmantik_runtime::redis::{RedisConfig, Store};
use opsmantik_schemas::{encode, ProductEvent, Topic};
use serde_json::{json, Value};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn batch_body(b: usize, size: usize) -> Value {
    let events: Vec<Value> = (0..size)
        .map(|i| json!({
            "eventType": "page_view", "userId": format!("u{}", i % 50), "sessionId": format!("s{b}"),
            "timestamp": "2026-01-01T00:00:00Z", "eventId": format!("bench-{b}-{i}"),
            "metadata": { "page": "/pricing", "plan": "pro" }
        }))
        .collect();
    json!({ "events": events })
}

fn records(topic: &str, b: usize, size: usize) -> Vec<OutRecord> {
    (0..size)
        .map(|i| {
            let e = ProductEvent {
                event_id: format!("base-{b}-{i}"),
                site: "bench".into(),
                user_id: format!("u{}", i % 50),
                session_id: Some(format!("s{b}")),
                event_name: "page_view".into(),
                timestamp: 1_767_225_600_000,
                received_at: 1_767_225_600_000,
                metadata_json: r#"{"page":"/pricing","plan":"pro"}"#.into(),
                payload_json: None,
                priority: Some(1),
                idempotency_key: Some(format!("base-{b}-{i}")),
                dialect: "event_processor".into(),
            };
            OutRecord {
                topic: topic.to_string(),
                key: format!("bench:{}", e.user_id).into_bytes(),
                payload: encode(&e).unwrap(),
                replay: None,
            }
        })
        .collect()
}

/// Runs `batches` jobs with `concurrency` in flight; returns the elapsed time.
async fn run<F, Fut>(batches: usize, concurrency: usize, job: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (job, next) = (job.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if b >= batches {
                        break;
                    }
                    job(b).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    started.elapsed()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let batches = env_or("BENCH_BATCHES", 200);
    let size = env_or("BENCH_BATCH_SIZE", 500);
    let concurrency = env_or("BENCH_CONCURRENCY", 8);
    let env = Env::new("bench_batch").await?;
    let publisher = Arc::new(KafkaPublisher::new(&env.kafka)?);
    let mut state = AppState::for_tests(publisher.clone(), env.kafka.topics());
    state.redis = Store::new(&RedisConfig {
        url: opsmantik_e2e::redis_url(),
        key_prefix: format!("{}:", env.name),
    })?;
    state.stores = opsmantik_ingest::app::stores::Stores::live(&state.redis, &state.clickhouse);
    let new = NewKey {
        site_public_id: "bench",
        site_id: "bench-site",
        user_id: "bench-user",
        name: "bench",
        rate_per_minute: 0,
        scopes: &Scope::ALL,
    };
    let key = keys::create(&state.redis, new).await?.0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/events/batch", listener.local_addr()?);
    let app = opsmantik_ingest::router(state, 2 * 1024 * 1024);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let topic = env.kafka.topics().name(Topic::ProductEvents);
    let http = reqwest::Client::new();
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..batches)
            .map(|b| batch_body(b, size).to_string())
            .collect(),
    );
    let prepared: Arc<Vec<Vec<OutRecord>>> =
        Arc::new((0..batches).map(|b| records(&topic, b, size)).collect());

    // Warm-up: connections, metadata, the key cache.
    publisher
        .publish_batch(records(&topic, usize::MAX, 10))
        .await;
    http.post(&url)
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(batch_body(usize::MAX, 10).to_string())
        .send()
        .await?;

    let p = publisher.clone();
    let base = run(batches, concurrency, move |b| {
        let (p, prepared) = (p.clone(), prepared.clone());
        async move {
            let results = p.publish_batch(prepared[b].clone()).await;
            assert!(results.iter().all(|(_, r)| r.is_ok()));
        }
    })
    .await;
    let (h, u, k) = (http.clone(), url.clone(), key.clone());
    let edge = run(batches, concurrency, move |b| {
        let (h, u, k, bodies) = (h.clone(), u.clone(), k.clone(), bodies.clone());
        async move {
            let r = h
                .post(&u)
                .header("x-api-key", &k)
                .header("content-type", "application/json")
                .body(bodies[b].clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202);
            r.bytes().await.unwrap();
        }
    })
    .await;
    let total = (batches * size) as f64;
    println!("batches: {batches} × {size} events, concurrency {concurrency}");
    println!(
        "baseline (encoded events straight to the broker): {:>9.0} events/s",
        total / base.as_secs_f64()
    );
    println!(
        "edge batch route (HTTP, auth, validate, dedup, encode, publish): {:>9.0} events/s",
        total / edge.as_secs_f64()
    );
    println!(
        "edge / baseline throughput ratio: {:.3}",
        base.as_secs_f64() / edge.as_secs_f64()
    );
    env.cleanup().await
}
