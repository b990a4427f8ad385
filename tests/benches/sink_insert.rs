//! The ClickHouse sink against `clickhouse-client` inserting the same rows, in the same run.
//!
//! Ours: product events pre-encoded and published to the broker (tansu's memory engine, a port of its own)
//! while the real `opsmantik-clickhouse-sink` consumes them — decode, rows, batched inserts, offsets — timed from
//! the first publish until ClickHouse counts every row. Baseline: the rows the sink wrote, exported in
//! ClickHouse's own `Native` format and inserted again by `clickhouse-client` into the same table (so through
//! the same materialized views): what the database alone takes for them. Second baseline, the broker alone: the same records published the same way
//! into topics of their own while a consumer with the sink's settings (`create_consumer`) drains them and does
//! nothing else. Rows/s and the ratios, with the sink's CPU seconds per million rows.
//! Run: `deploy/local/bench`, or `cargo bench -p opsmantik-e2e --bench sink_insert` (`BENCH_SMOKE=1`).

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsmantik_e2e::bench::{cpu_seconds, product_event_records, scale, Row};
use opsmantik_e2e::broker::PrivateBroker;
use opsmantik_e2e::{wait_for, Binary, Env, Service};
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

/// The broker alone: `batches` published into a fresh set of topics while a consumer with the sink's
/// settings drains them; the time from the first publish until the last record was received.
async fn broker_alone(broker: &PrivateBroker, batches: usize) -> anyhow::Result<Duration> {
    let env = Env::on_brokers("bench_sink_base", &broker.brokers()).await?;
    let topic = env.kafka.topics().name(Topic::ProductEvents);
    let publisher = KafkaPublisher::new(&env.kafka)?;
    let consumer = create_consumer(&env.kafka, "bench", "drain", std::slice::from_ref(&topic))?;
    // Joined and assigned: a first record comes back.
    publish_all(&publisher, &[product_event_records(&topic, "warm", 0, 1)]).await?;
    tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await??;
    let records: Vec<_> = (0..batches)
        .map(|b| product_event_records(&topic, "base", b, BATCH))
        .collect();
    let total = batches * BATCH;
    let started = Instant::now();
    let drain = async {
        for _ in 0..total {
            tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await??;
        }
        anyhow::Ok(())
    };
    let (published, drained) = tokio::join!(publish_all(&publisher, &records), drain);
    published?;
    drained?;
    let took = started.elapsed();
    env.cleanup().await?;
    Ok(took)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let batches = scale(500, 20);
    let broker = PrivateBroker::start_memory("bench-sink")?;
    let env = Env::on_brokers("bench_sink", &broker.brokers()).await?;
    let publisher = Arc::new(KafkaPublisher::new(&env.kafka)?);
    let topic = env.kafka.topics().name(Topic::ProductEvents);
    let sink = Service::start(Binary::ClickHouseSink, &env.vars(), &env.name);

    // Warm-up: the sink has joined its group and written a row.
    publish_all(&publisher, &[product_event_records(&topic, "warm", 0, 1)]).await?;
    wait_for("the sink's first row", Duration::from_secs(60), || async {
        match count(&env, "product_events").await {
            1 => Ok(()),
            n => Err(format!("{n} rows")),
        }
    })
    .await?;

    let records: Vec<_> = (0..batches)
        .map(|b| product_event_records(&topic, "sink", b, BATCH))
        .collect();
    let total = (batches * BATCH) as u64 + 1;
    let cpu_before = cpu_seconds(sink.pid());
    let started = Instant::now();
    publish_all(&publisher, &records).await?;
    wait_for(
        "every row in ClickHouse",
        Duration::from_secs(300),
        || async {
            match count(&env, "product_events").await {
                n if n >= total => Ok(()),
                n => Err(format!("{n} of {total} rows")),
            }
        },
    )
    .await?;
    let sink_time = started.elapsed();
    let sink_cpu = cpu_seconds(sink.pid()) - cpu_before;
    drop(sink);

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
    let sink_rate = rows / sink_time.as_secs_f64();
    Row {
        path: format!(
            "ClickHouse sink (broker → product_events), {total} rows, vs clickhouse-client Native"
        ),
        ours: sink_rate,
        baseline: Some(rows / client_time.as_secs_f64()),
        unit: "rows/s",
        cpu_s_per_million: Some(sink_cpu / rows * 1e6),
        ..Row::default()
    }
    .report();
    Row {
        path: "ClickHouse sink vs the broker alone (publish + drain, the sink's consumer settings)"
            .into(),
        ours: sink_rate,
        baseline: Some((batches * BATCH) as f64 / alone.as_secs_f64()),
        unit: "rows/s",
        ..Row::default()
    }
    .report();
    env.cleanup().await
}
