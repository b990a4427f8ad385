//! `/api/sync` over real HTTP, driven by an external load generator (`wrk`), against two baselines started the
//! same way in the same run (`opsmantik-bench-baseline`): bare axum parsing the same JSON, and the minimal
//! durable handler (parse, produce with `acks=all`, await the ack) on the same broker. At 64 and 256 in flight.
//! The broker is tansu's memory engine on a port of its own (the fastest broker here: it hides none of our
//! overhead). Next to each figure: CPU seconds per million requests of the measured process, read from `/proc`.
//! Run: `deploy/local/bench` (or `cargo bench -p opsmantik-e2e --bench edge_http`; `BENCH_SMOKE=1` for seconds).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use opsmantik_e2e::bench::{self, cpu_seconds, scale, start_server, wrk, Load, Row, Server};
use opsmantik_e2e::broker::PrivateBroker;
use opsmantik_e2e::{Binary, Env};
use opsmantik_schemas::Topic;

/// A tracker hit per request: 100,000 visitors, each with its own session and fingerprint.
fn script(site: &str) -> String {
    format!(
        r#"wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local v = math.random(1, 100000)
  local body = string.format('{{"s":"{site}","u":"https://shop.example/p?utm_source=g&gclid=G%d","sid":"s%d","ec":"interaction","ea":"view","el":"hero","meta":{{"fp":"fp%d","duration_sec":3}}}}', v, v, v)
  return wrk.format(nil, nil, nil, body)
end
"#
    )
}

/// Load on `server` for `secs`; the load and CPU seconds per million requests of its process.
fn measure(
    server: &Server,
    connections: usize,
    secs: u64,
    script: &std::path::Path,
) -> anyhow::Result<(Load, f64)> {
    let before = cpu_seconds(server.service.pid());
    let url = format!("{}/api/sync", server.base);
    let load = wrk(&url, connections, Duration::from_secs(secs), script)?;
    let cpu = cpu_seconds(server.service.pid()) - before;
    anyhow::ensure!(
        load.errors == 0,
        "{}: {} failed requests",
        server.service.name,
        load.errors
    );
    let per_million = cpu / load.requests.max(1.0) * 1e6;
    Ok((load, per_million))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let broker = PrivateBroker::start_memory("bench-edge")?;
    let env = Env::on_brokers("bench_edge", &broker.brokers()).await?;
    let site = env.create_site("bench", &[]).await?;
    let script_path = std::env::temp_dir().join(format!("{}-sync.lua", env.name));
    std::fs::write(&script_path, script(&site.public_id))?;

    let mut vars = env.vars();
    vars.push(("RUST_LOG".into(), "warn".into()));
    let edge = start_server(Binary::Edge, &vars, &env.name).await?;
    let mut base_vars = vars.clone();
    base_vars.push((
        "BASELINE_TOPIC".into(),
        env.kafka.topics().name(Topic::Tracking),
    ));
    let mut bare_vars = base_vars.clone();
    bare_vars.push(("BASELINE_MODE".into(), "bare".into()));
    base_vars.push(("BASELINE_MODE".into(), "durable".into()));
    let bare = start_server(
        Binary::BenchBaseline,
        &bare_vars,
        &format!("{}-bare", env.name),
    )
    .await?;
    let durable = start_server(
        Binary::BenchBaseline,
        &base_vars,
        &format!("{}-durable", env.name),
    )
    .await?;

    let secs = scale(10, 2);
    for server in [&bare, &durable, &edge] {
        measure(server, 64, 1, &script_path)?; // warm-up: connections, broker metadata, site cache
    }
    for connections in [64, 256] {
        let (b, b_cpu) = measure(&bare, connections, secs, &script_path)?;
        let (d, d_cpu) = measure(&durable, connections, secs, &script_path)?;
        let (e, e_cpu) = measure(&edge, connections, secs, &script_path)?;
        let row = |name: &str, load: &Load, cpu: f64, baseline: Option<&Load>| Row {
            path: format!("/api/sync {name}, {connections} in flight"),
            ours: load.per_second,
            baseline: baseline.map(|b| b.per_second),
            unit: "req/s",
            p50_ms: Some(load.p50_ms),
            p99_ms: Some(load.p99_ms),
            cpu_s_per_million: Some(cpu),
            note: String::new(),
        };
        row("bare axum (baseline)", &b, b_cpu, None).report();
        row("minimal durable handler (baseline)", &d, d_cpu, Some(&b)).report();
        Row {
            note: format!("durable p99 {:.2} ms", d.p99_ms),
            ..row("edge vs durable handler", &e, e_cpu, Some(&d))
        }
        .report();
    }
    let _ = std::fs::remove_file(&script_path);
    drop((edge, bare, durable));
    if !bench::smoke() {
        println!("# broker: tansu memory engine at {}", broker.brokers());
    }
    env.cleanup().await
}
