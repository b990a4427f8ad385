//! Freshness: from the edge's 2xx for a hit to its row being queryable in ClickHouse (`events`), through the
//! whole pipeline (edge → broker → sessionizer → broker → sink) on the default local stack (the durable SQLite
//! broker a user runs), with the stages' default batch settings. Idle, and while other traffic arrives at a
//! fixed rate (5,000 hits/s offered; the row says what was achieved). Then the same on tansu's memory engine,
//! so the stages' own capacity shows apart from the durable broker's. Probe hits carry their own visitor;
//! ClickHouse is asked every 25 ms which have landed. p50 / p95 / p99 in milliseconds.
//! Run: `deploy/local/bench`, or `cargo bench -p opsmantik-e2e --bench freshness` (`BENCH_SMOKE=1`).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsmantik_e2e::bench::{percentile, scale, Row};
use opsmantik_e2e::broker::PrivateBroker;
use opsmantik_e2e::{Env, Pipeline};
use serde_json::json;

fn hit(site: &str, visitor: &str) -> String {
    json!({ "s": site, "u": "https://shop.example/p", "sid": visitor, "ec": "interaction", "ea": "view",
            "meta": { "fp": visitor } })
    .to_string()
}

/// Sends hits at `rate` per second from 64 workers until `stop`; returns how many were acknowledged.
fn load(
    pipeline: &Pipeline,
    site: &str,
    rate: u64,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    let (http, url, site) = (
        pipeline.http.clone(),
        format!("{}/api/sync", pipeline.base_url),
        site.to_string(),
    );
    tokio::spawn(async move {
        const WORKERS: u64 = 64;
        let sent = Arc::new(AtomicU64::new(0));
        let started = tokio::time::Instant::now();
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (http, url, site, stop, sent) = (
                    http.clone(),
                    url.clone(),
                    site.clone(),
                    stop.clone(),
                    sent.clone(),
                );
                tokio::spawn(async move {
                    for k in 0u64.. {
                        let at = started
                            + Duration::from_secs_f64((k * WORKERS + w) as f64 / rate as f64);
                        tokio::time::sleep_until(at).await;
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let body = hit(&site, &format!("load-{}", (k * WORKERS + w) % 20_000));
                        let answer = http
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await;
                        if answer.is_ok_and(|a| a.status().is_success()) {
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        futures::future::join_all(workers).await;
        sent.load(Ordering::Relaxed)
    })
}

/// Sends `n` probe hits 200 ms apart and waits for each row; the delays in milliseconds, sorted.
async fn probes(
    env: &Env,
    pipeline: &Pipeline,
    site: &str,
    tag: &str,
    n: usize,
) -> anyhow::Result<Vec<f64>> {
    let url = format!("{}/api/sync", pipeline.base_url);
    let mut acked: HashMap<String, Instant> = HashMap::new();
    let mut delays = Vec::new();
    let mut next_probe = Instant::now();
    // One client for every poll, so the 25 ms cadence does not pay a new connection each time.
    let ch = env.ch();
    let deadline = Instant::now() + Duration::from_secs(60 + n as u64);
    while delays.len() < n {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} probes never landed",
            acked.len()
        );
        let sent = delays.len() + acked.len();
        if sent < n && Instant::now() >= next_probe {
            let visitor = format!("probe-{tag}-{sent}");
            let answer = pipeline
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(hit(site, &visitor))
                .send()
                .await?;
            anyhow::ensure!(
                answer.status().is_success(),
                "probe answered {}",
                answer.status()
            );
            acked.insert(visitor, Instant::now());
            next_probe += Duration::from_millis(200);
        }
        if !acked.is_empty() {
            let list = acked
                .keys()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(",");
            let landed: Vec<String> = ch
                .query(&format!(
                    "SELECT DISTINCT visitor FROM events WHERE visitor IN ({list})"
                ))
                .fetch_all()
                .await?;
            for visitor in landed {
                if let Some(at) = acked.remove(&visitor) {
                    delays.push(at.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    delays.sort_by(f64::total_cmp);
    Ok(delays)
}

fn row(label: String, delays: &[f64], note: String) -> Row {
    Row {
        path: label,
        ours: percentile(delays, 0.95),
        unit: "ms p95",
        p50_ms: Some(percentile(delays, 0.5)),
        p99_ms: Some(percentile(delays, 0.99)),
        note,
        ..Row::default()
    }
}

/// Idle, then under `rate` hits/s: the two rows of one broker.
async fn measure(env: &Env, broker_label: &str) -> anyhow::Result<()> {
    let site = env.create_site("fresh", &[]).await?;
    // The stages' own defaults, not the tests' short batch wait.
    let pipeline =
        Pipeline::start_with(env, &[("BATCH_MAX_WAIT_MS", "1000"), ("RUST_LOG", "warn")]).await?;
    let n = scale(50, 10);
    probes(env, &pipeline, &site.public_id, "warm", 3).await?;

    let idle = probes(env, &pipeline, &site.public_id, "idle", n).await?;
    row(
        format!("freshness, edge 2xx → row in ClickHouse, idle, {broker_label}"),
        &idle,
        String::new(),
    )
    .report();

    let rate = scale(5_000, 1_000);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let loader = load(&pipeline, &site.public_id, rate, stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let busy = probes(env, &pipeline, &site.public_id, "busy", n).await?;
    stop.store(true, Ordering::Relaxed);
    let acked = loader.await?;
    let achieved = acked as f64 / started.elapsed().as_secs_f64();
    row(
        format!("freshness at {rate} hits/s offered, {broker_label}"),
        &busy,
        format!("load achieved {achieved:.0} hits/s"),
    )
    .report();
    drop(pipeline);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The stack a user runs: tansu's SQLite engine, durable.
    let env = Env::new("bench_fresh").await?;
    measure(&env, "durable SQLite broker").await?;
    env.cleanup().await?;
    // The same pipeline on tansu's memory engine: what the stages sustain when the broker is not the limit.
    let broker = PrivateBroker::start_memory("bench-fresh")?;
    let env = Env::on_brokers("bench_fresh_mem", &broker.brokers()).await?;
    measure(&env, "memory broker").await?;
    env.cleanup().await
}
