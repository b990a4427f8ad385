//! Batch ingestion throughput (`POST /api/v1/events/batch`) against a baseline measured in the same run.
//!
//! Baseline: the same product events, Avro-encoded, published straight to the broker with the same
//! pipelined publisher (`acks=all`) — what the broker alone sustains here. Measured: the edge's batch route
//! over real HTTP (parse, dialect, API key, validation, per-key rate, Redis dedup claims, Avro, publish, ack).
//! The ratio is the share of raw broker throughput the edge keeps. Both run on tansu's memory engine on a port
//! of its own. Needs the local stack (Redis, ClickHouse). The note splits each phase's CPU per event between this
//! process, the broker and Redis, read from `/proc` (docs/performance.md reads the batch route's bound from it).
//! Run: `deploy/local/bench`, or `cargo bench -p opsmantik-e2e --bench batch_ingest` (`BENCH_BATCHES`,
//! `BENCH_BATCH_SIZE`, `BENCH_CONCURRENCY`; `BENCH_SMOKE=1` for a few seconds).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use opsmantik_e2e::bench::{product_event_records, scale, CpuSplit, Row};
use opsmantik_e2e::broker::PrivateBroker;
use opsmantik_e2e::Env;
use opsmantik_ingest::app::state::AppState;
use opsmantik_ingest::auth::keys::{self, NewKey, Scope};
use opsmantik_runtime::kafka::{KafkaPublisher, OutRecord, Publisher};
use opsmantik_runtime::redis::{RedisConfig, Store};
use opsmantik_schemas::Topic;
use serde_json::{json, Value};

/// The edge binary's allocator: the router runs in this process, so it allocates as the edge does.
#[global_allocator]
static ALLOCATOR: opsmantik_runtime::Allocator = opsmantik_runtime::Allocator;

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

/// CPU µs per event of this process (the edge's router and its HTTP client, or the publisher), the broker and
/// Redis, ours vs the baseline: where the machine's cores went, whatever else shared them.
fn cpu_note(ours: &[f64], base: &[f64]) -> String {
    let names = ["bench process", "broker", "Redis"];
    let parts: Vec<String> = names
        .iter()
        .zip(ours.iter().zip(base))
        .map(|(n, (o, b))| format!("{n} {o:.1} vs {b:.1}"))
        .collect();
    format!("CPU µs/event: {}", parts.join(", "))
}

/// The process id of the Redis server `store` talks to (its `INFO server`), for CPU read from outside: the
/// server the benchmark uses, whatever other Redis servers run on the machine.
pub async fn redis_pid(store: &opsmantik_runtime::redis::Store) -> anyhow::Result<u32> {
    let mut conn = store.conn().await?;
    let info: String = ::redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await?;
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no process_id in INFO server"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let batches = env_or("BENCH_BATCHES", scale(200, 20));
    let size = env_or("BENCH_BATCH_SIZE", 500);
    let concurrency = env_or("BENCH_CONCURRENCY", 8);
    let broker = PrivateBroker::start_memory("bench-batch")?;
    let env = Env::on_brokers("bench_batch", &broker.brokers()).await?;
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
    let state_redis = state.redis.clone();
    let app = opsmantik_ingest::router(state, 2 * 1024 * 1024);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let topic = env.kafka.topics().name(Topic::ProductEvents);
    let http = reqwest::Client::new();
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..batches)
            .map(|b| batch_body(b, size).to_string())
            .collect(),
    );
    let prepared: Arc<Vec<Vec<OutRecord>>> = Arc::new(
        (0..batches)
            .map(|b| product_event_records(&topic, "base", b, size))
            .collect(),
    );

    // Warm-up: connections, metadata, the key cache.
    publisher
        .publish_batch(product_event_records(&topic, "base", usize::MAX, 10))
        .await;
    http.post(&url)
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(batch_body(usize::MAX, 10).to_string())
        .send()
        .await?;

    let redis = redis_pid(&state_redis).await?;
    let pids = [std::process::id(), broker.pid(), redis];
    let cpu = CpuSplit::start(&pids);
    let p = publisher.clone();
    let base = run(batches, concurrency, move |b| {
        let (p, prepared) = (p.clone(), prepared.clone());
        async move {
            let results = p.publish_batch(prepared[b].clone()).await;
            assert!(results.iter().all(|(_, r)| r.is_ok()));
        }
    })
    .await;
    let base_cpu = cpu.per_item_us(batches * size);
    let cpu = CpuSplit::start(&pids);
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
    let edge_cpu = cpu.per_item_us(batches * size);
    let total = (batches * size) as f64;
    Row {
        path: format!("/api/v1/events/batch, {size}/batch, {concurrency} in flight, vs pre-encoded to the broker"),
        ours: total / edge.as_secs_f64(),
        baseline: Some(total / base.as_secs_f64()),
        unit: "events/s",
        note: cpu_note(&edge_cpu, &base_cpu),
        ..Row::default()
    }
    .report();
    env.cleanup().await
}
