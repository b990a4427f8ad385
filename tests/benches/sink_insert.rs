//! The ClickHouse sink against `clickhouse-client` inserting the same rows, in the same run.
//!
//! Ours: product events pre-encoded and published to the broker (tansu's memory engine, a port of its own)
//! while the sink is stopped; then the real `opsmantik-clickhouse-sink` drains that backlog — decode, rows,
//! batched inserts, offsets — timed from its first insert landing until ClickHouse counts every row (its
//! capacity, as when it catches up after an outage; publishing is not sharing the cores meanwhile). Baseline:
//! the rows the sink wrote, exported in ClickHouse's own `Native` format and inserted again by
//! `clickhouse-client` into the same table (so through the same materialized views): what the database alone
//! takes for them. Second baseline, the broker alone: the same records published the same way into topics of
//! their own, then drained by a consumer with the sink's settings (`create_consumer`) that does nothing else.
//! Rows/s and the ratios, with the sink's CPU seconds per million rows.
//! Run: `deploy/local/bench`, or `cargo bench -p opsmantik-e2e --bench sink_insert` (`BENCH_SMOKE=1`).

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsmantik_e2e::bench::{cpu_seconds, peak_rss_mib, product_event_records, scale, Row};
use opsmantik_e2e::broker::PrivateBroker;
use opsmantik_e2e::{wait_for, wait_for_every, Binary, Env, Service};
use opsmantik_runtime::kafka::{create_consumer, KafkaPublisher, OutRecord, Publisher};
use opsmantik_schemas::Topic;

const BATCH: usize = 1_000;

/// Runs `clickhouse-client` on the stack's native port with `query`, stdin from `input` (if any).
fn client(query: &str, input: Option<&std::path::Path>) -> anyhow::Result<Vec<u8>> {
    let port = std::env::var("OPSMANTIK_CLICKHOUSE_TCP_PORT").unwrap_or_else(|_| "9000".into());
    let stdin = match input {
        Some(path) => Stdio::from(std::fs::File::open(path)?),
        None => Stdio::null(),
    };
    let out = Command::new("clickhouse-client")
        .args(["--port", &port, "--query", query])
        .stdin(stdin)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "clickhouse-client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out.stdout)
}

async fn count(env: &Env, table: &str) -> u64 {
    env.count(&format!("SELECT count() FROM {table}"))
        .await
        .unwrap_or(0)
}

/// Publishes every batch, 8 at a time, as fast as the broker takes them.
async fn publish_all(publisher: &KafkaPublisher, records: &[Vec<OutRecord>]) -> anyhow::Result<()> {
    for chunk in records.chunks(8) {
        let sends = chunk.iter().map(|r| publisher.publish_batch(r.clone()));
        for (_, result) in futures::future::join_all(sends).await.into_iter().flatten() {
            result.map_err(|e| anyhow::anyhow!("publish: {e}"))?;
        }
    }
    Ok(())
}

/// Polls `product_events` every 20 ms until it holds at least `target` rows; returns the moment the count
/// first exceeded `from` (with that count) and the moment it reached `target`.
async fn landing(env: &Env, from: u64, target: u64) -> anyhow::Result<((Instant, u64), Instant)> {
    let first = std::cell::Cell::new(None);
    let every = Duration::from_millis(20);
    let last = wait_for_every(
        "every row in ClickHouse",
        Duration::from_secs(300),
        every,
        || async {
            let n = count(env, "product_events").await;
            let now = Instant::now();
            if n > from && first.get().is_none() {
                first.set(Some((now, n)));
            }
            match n >= target {
                true => Ok(now),
                false => Err(format!("{n} of {target} rows")),
            }
        },
    )
    .await?;
    let first = first.get().unwrap_or((last, target));
    Ok((first, last))
}

/// The broker alone: `batches` published into a fresh set of topics, then drained by a consumer with the
/// sink's settings that does nothing else; records per second from the first record received to the last.
async fn broker_alone(broker: &PrivateBroker, batches: usize) -> anyhow::Result<f64> {
    let env = Env::on_brokers("bench_sink_base", &broker.brokers()).await?;
    let topic = env.kafka.topics().name(Topic::ProductEvents);
    let publisher = KafkaPublisher::new(&env.kafka)?;
    let records: Vec<_> = (0..batches)
        .map(|b| product_event_records(&topic, "base", b, BATCH))
        .collect();
    publish_all(&publisher, &records).await?;
    let consumer = create_consumer(&env.kafka, "bench", "drain", std::slice::from_ref(&topic))?;
    let total = batches * BATCH;
    tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await??;
    let started = Instant::now();
    for _ in 1..total {
        tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await??;
    }
    let rate = (total - 1) as f64 / started.elapsed().as_secs_f64();
    env.cleanup().await?;
    Ok(rate)
}

/// The sink drains a backlog of `records` published while it was stopped: rows per second from its first
/// insert of them landing to the last, its CPU seconds over the whole run and its peak memory (MiB).
async fn sink_drain(
    env: &Env,
    publisher: &KafkaPublisher,
    records: &[Vec<OutRecord>],
    total: u64,
) -> anyhow::Result<(f64, f64, f64)> {
    // Warm-up: the sink has joined its group, written a row and committed its offset on a clean stop.
    let sink = Service::start(Binary::ClickHouseSink, &env.vars(), &env.name);
    let topic = env.kafka.topics().name(Topic::ProductEvents);
    publish_all(publisher, &[product_event_records(&topic, "warm", 0, 1)]).await?;
    wait_for("the sink's first row", Duration::from_secs(60), || async {
        match count(env, "product_events").await {
            1 => Ok(()),
            n => Err(format!("{n} rows")),
        }
    })
    .await?;
    anyhow::ensure!(
        sink.terminate(Duration::from_secs(30)),
        "the sink did not stop cleanly"
    );

    publish_all(publisher, records).await?;
    let sink = Service::start(Binary::ClickHouseSink, &env.vars(), &env.name);
    let started = Instant::now();
    let cpu_before = cpu_seconds(sink.pid());
    let ((first, at_first), last) = landing(env, 1, total).await?;
    let cpu = cpu_seconds(sink.pid()) - cpu_before;
    let peak = peak_rss_mib(sink.pid());
    // A backlog small enough to land in one insert (smoke runs) is timed from the sink's start.
    let (from, landed) = if last > first {
        (first, total - at_first)
    } else {
        (started, total - 1)
    };
    let rate = landed as f64 / (last - from).as_secs_f64();
    Ok((rate, cpu, peak))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let batches = scale(500, 40);
    let broker = PrivateBroker::start_memory("bench-sink")?;
    let env = Env::on_brokers("bench_sink", &broker.brokers()).await?;
    let publisher = Arc::new(KafkaPublisher::new(&env.kafka)?);
    let topic = env.kafka.topics().name(Topic::ProductEvents);
    let records: Vec<_> = (0..batches)
        .map(|b| product_event_records(&topic, "sink", b, BATCH))
        .collect();
    let total = (batches * BATCH) as u64 + 1;
    let (sink_rate, sink_cpu, sink_peak) = sink_drain(&env, &publisher, &records, total).await?;

    let db = &env.clickhouse.database;
    let file = std::env::temp_dir().join(format!("{}.native", env.name));
    std::fs::write(
        &file,
        client(
            &format!("SELECT * FROM {db}.product_events FORMAT Native"),
            None,
        )?,
    )?;
    // Into the same table, so the database pays the same materialized views (the rollups) for them.
    let started = Instant::now();
    client(
        &format!("INSERT INTO {db}.product_events FORMAT Native"),
        Some(&file),
    )?;
    let client_time = started.elapsed();
    let copied = count(&env, "product_events").await;
    let _ = std::fs::remove_file(&file);
    anyhow::ensure!(
        copied == 2 * total,
        "the table holds {copied} of {} rows",
        2 * total
    );

    let alone = broker_alone(&broker, batches).await?;
    let rows = total as f64;
    Row {
        path: format!(
            "ClickHouse sink draining a backlog (broker → product_events), {total} rows, vs clickhouse-client Native"
        ),
        ours: sink_rate,
        baseline: Some(rows / client_time.as_secs_f64()),
        unit: "rows/s",
        cpu_s_per_million: Some(sink_cpu / rows * 1e6),
        note: format!("sink peak memory {sink_peak:.0} MiB"),
        ..Row::default()
    }
    .report();
    Row {
        path: "ClickHouse sink vs the broker alone (draining the same backlog, the sink's consumer settings)"
            .into(),
        ours: sink_rate,
        baseline: Some(alone),
        unit: "rows/s",
        ..Row::default()
    }
    .report();
    env.cleanup().await
}
