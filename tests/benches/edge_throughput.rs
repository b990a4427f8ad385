//! Edge throughput against a baseline measured in the same run.
//!
//! Serves, in this process and over real HTTP on loopback, (a) the edge's router with the real Kafka
//! publisher (site lookup → validate → Avro → broker ack → score read from Redis, on its own topic
//! namespace) and (b) a bare axum handler that parses the same JSON and returns the same body. The same client drives both with the same requests and
//! concurrency; the report is requests/s of each and their ratio. While the edge is under load, a prober asks
//! its `/api/health` every 25 ms (as a load balancer would) and the report counts answers other than 200.
//! Needs the local stack (`deploy/local/stack up`). Run: `cargo bench -p opsmantik-e2e --bench edge_throughput` (`BENCH_REQUESTS`, `BENCH_CONCURRENCY`).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Json, Router};
use opsmantik_e2e::Env;
use opsmantik_ingest::app::state::AppState;
use opsmantik_runtime::kafka::KafkaPublisher;
use serde_json::{json, Value};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/api/sync")
}

/// Sends `total` requests with `concurrency` in flight; returns (elapsed, median latency).
async fn drive(url: &str, total: usize, concurrency: usize) -> (Duration, Duration) {
    let http = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (http, url, next) = (http.clone(), url.to_string(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                    let body = json!({
                        "s": "bench", "u": "https://shop.example/p?utm_source=g", "sid": format!("s{w}"),
                        "ec": "interaction", "ea": "view", "meta": { "fp": format!("fp{w}"), "duration_sec": 3 }
                    });
                    let t = Instant::now();
                    let r = http.post(&url).json(&body).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    r.bytes().await.unwrap();
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    (elapsed, all[all.len() / 2])
}

/// Probes `url` every 25 ms until `stop`; returns (probes, answers other than 200).
async fn probe_health(url: String, stop: Arc<std::sync::atomic::AtomicBool>) -> (usize, usize) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (mut probes, mut bad) = (0, 0);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        probes += 1;
        match http.get(&url).send().await {
            Ok(r) if r.status() == 200 => {}
            _ => bad += 1,
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    (probes, bad)
}

async fn bare(Json(_): Json<Value>) -> Json<Value> {
    Json(json!({ "ok": true, "score": 0, "status": "synced", "count": 1 }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total = env_or("BENCH_REQUESTS", 20_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 64);
    let env = Env::new("bench").await?;
    let mut state = AppState::for_tests(
        Arc::new(KafkaPublisher::new(&env.kafka)?),
        env.kafka.topics(),
    );
    state.clickhouse = env.ch();
    state.sites.load(vec![opsmantik_ingest::sites::Site {
        id: "bench-site".into(),
        public_id: "bench".into(),
        name: "bench".into(),
        domain: "shop.example".into(),
        allowed_origins: vec![],
        secret: "bench".into(),
        time_zone: "Europe/Istanbul".into(),
        ..Default::default()
    }]);
    let edge_url = serve(opsmantik_ingest::router(state, 64 * 1024)).await;
    let bare_url = serve(Router::new().route("/api/sync", post(bare))).await;

    // Warm up both (connections, broker metadata).
    drive(&edge_url, 500, concurrency).await;
    drive(&bare_url, 500, concurrency).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let health = edge_url.replace("/api/sync", "/api/health");
    let prober = tokio::spawn(probe_health(health, stop.clone()));
    let (edge_time, edge_p50) = drive(&edge_url, total, concurrency).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (probes, unhealthy) = prober.await?;
    let (bare_time, bare_p50) = drive(&bare_url, total, concurrency).await;
    let rps = |d: Duration| total as f64 / d.as_secs_f64();
    println!("requests: {total}, concurrency: {concurrency}");
    println!(
        "baseline (bare axum, parse JSON): {:>9.0} req/s  p50 {:?}",
        rps(bare_time),
        bare_p50
    );
    println!(
        "edge (site, validate, Avro, ack, score): {:>9.0} req/s  p50 {:?}",
        rps(edge_time),
        edge_p50
    );
    println!(
        "edge / baseline throughput ratio: {:.3}",
        rps(edge_time) / rps(bare_time)
    );
    println!("health probes during the edge run: {probes}, answered other than 200: {unhealthy}");
    env.cleanup().await
}
